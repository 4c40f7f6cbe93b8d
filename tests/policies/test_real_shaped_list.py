"""A policy list shaped like a district's real one imports whole; values outside the vocabulary are refused.

tests/data/policies/real_shaped.csv: 40 rows as a district keeps them, 29 of them with 规模:不限 or 规模:规上
(which the list refused before the shared vocabulary: 31 of its 40 rows failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.platform.settings import Settings
from tests.policies.support import HEADERS, csv_text, policies, prepare, write

REAL_SHAPED = Path(__file__).resolve().parents[1] / "data" / "policies" / "real_shaped.csv"
GOOD = ["Q1", "首店奖励", "区商务局", "一次性奖励20万元"]


pytestmark = pytest.mark.database("schema")  # no demo policies: the list is counted on its own


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(settings, demo=False)
    return settings


def test_the_real_shaped_list_imports_whole(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = REAL_SHAPED.read_text(encoding="utf-8-sig")
    assert text.count("规模:不限") + text.count("规模:规上") >= 22
    assert cli.main(["policies", "import", str(REAL_SHAPED)]) == 0
    assert "新增 40 条" in capsys.readouterr().out
    stored = policies(env)
    assert len(stored) == 40
    assert stored["LH-2025-001"].tags == {"行业": "制造业", "规模": "规上", "类型": "奖励"}
    assert stored["LH-2025-004"].tags["规模"] == "不限"
    assert stored["LH-2025-011"].tags["资质"] == '专精特新"小巨人"'
    assert stored["LH-2025-015"].tags["街道"] == "北院门街道、西关街道"
    assert stored["LH-2025-030"].tags["成立年限"] == "≤2年"
    assert stored["LH-2025-040"].tags["规模"] == "中小、规下"
    # exported and imported again, nothing changes
    exported = tmp_path / "real_shaped_export.xlsx"
    assert cli.main(["policies", "export", str(exported)]) == 0
    capsys.readouterr()
    assert cli.main(["policies", "import", str(exported)]) == 0
    assert "新增 0 条，修改 0 条，不变 40 条" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("行业:科技", "行业「科技」不是国民经济行业分类（GB/T 4754-2017）的门类"),
        ("规模:超大", "规模「超大」无效"),
        ("资质:五星企业", "资质「五星企业」不在资质词表中"),
        ("街道:火星路", "街道「火星路」不在街道词表中"),
        ("从业人数:很多", "从业人数「很多」不是范围"),
        ("申报截止:下个月", "申报截止「下个月」不是有效日期"),
    ],
)
def test_values_outside_the_vocabulary_are_refused_with_row_column_and_reason(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, reason: str
) -> None:
    rows = [[*HEADERS, "标签"], [*GOOD, "行业:制造业"], ["Q2", "第二条", "区商务局", "奖励", cell]]
    path = write(tmp_path / "list.csv", csv_text(rows))
    assert cli.main(["policies", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"文件 list.csv，第 3 行，列「标签」：{reason}" in err
    assert policies(env) == {}  # all or nothing
