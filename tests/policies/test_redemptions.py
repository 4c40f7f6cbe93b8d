"""应享未享: `appealbot redemptions import` (兑现 records, all or nothing) and `appealbot policies unclaimed CODE FILE`
(the eligible enterprises with no record, as .xlsx); the share of 免申即享 / 即申即享 policies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.platform.settings import Settings
from policies import redemptions
from policies.catalog import read_demo_catalog
from policies.models import Redemption
from tests.enterprises.support import code, register_file, run
from tests.policies.support import csv_text, prepare, read, write

SMALL_1, SMALL_2, LARGE, UNKNOWN = code(31), code(32), code(33), code(34)
HEADER = ["统一社会信用代码", "政策编号", "兑现日期", "兑现金额", "备注"]


@pytest.fixture
def env(backend: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", backend.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(backend)  # the demo list: P01 is for 小微 enterprises
    rows = [
        [SMALL_1, "莲湖一号小微有限公司", "制造业", "小型", "无", "西关街道", "", "", "赵一", "13800000001"],
        [SMALL_2, "莲湖二号小微有限公司", "批发和零售业", "微型", "无", "土门街道", "", "", "钱二", "13800000002"],
        [LARGE, "莲湖大型有限公司", "制造业", "大型", "规上工业", "", "", "", "", ""],
        [UNKNOWN, "莲湖未知规模有限公司", "制造业", "", "", "", "", "", "", ""],
    ]
    assert run("enterprises", "import", str(register_file(tmp_path, rows))) == 0
    return backend


def stored(settings: Settings) -> int:
    return int(read(settings, lambda session: session.scalar(select(func.count()).select_from(Redemption))) or 0)


def test_import_then_the_unclaimed_list(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path / "paid.csv", csv_text([HEADER, [SMALL_1.lower(), "P01", "2026/3/31", "12,500.50", "季度申报"]])
    )
    assert run("redemptions", "import", str(path)) == 0
    assert "新增 1 条兑现记录" in capsys.readouterr().out
    assert run("redemptions", "import", str(path)) == 0  # the same file again adds nothing
    assert "新增 0 条兑现记录，已有 1 条" in capsys.readouterr().out
    out = tmp_path / "unclaimed.xlsx"
    assert run("policies", "unclaimed", "P01", str(out)) == 0
    assert "政策 P01 应享未享的企业 1 家" in capsys.readouterr().out
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == redemptions.UNCLAIMED_HEADER
    assert rows[1][:4] == [SMALL_2, "莲湖二号小微有限公司", "批发和零售业", "微型"]
    assert rows[1][6:] == ["钱二", "13800000002", "否", "贵企业为小微企业，符合适用对象"]
    assert len(rows) == 2  # SMALL_1 received it; LARGE does not qualify; UNKNOWN cannot be told


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ([code(99), "P01", "2026-03-31"], "统一社会信用代码", f"企业库中没有统一社会信用代码为 {code(99)} 的企业"),
        ([SMALL_1[:-1] + "0", "P01", "2026-03-31"], "统一社会信用代码", "校验位不符"),
        ([SMALL_1, "P999", "2026-03-31"], "政策编号", "政策清单中没有编号为「P999」的政策"),
        ([SMALL_1, "P01", "上个月"], "兑现日期", "「上个月」不是有效日期"),
        ([SMALL_1, "P01", ""], "兑现日期", "不能为空"),
        ([SMALL_1, "P01", "2026-03-31", "两万"], "兑现金额", "兑现金额「两万」应为以元计的数字"),
    ],
)
def test_a_bad_record_imports_nothing(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: list[str], column: str, reason: str
) -> None:
    good = [SMALL_2, "P01", "2026-03-01", "800"]
    path = write(tmp_path / "paid.csv", csv_text([HEADER[: max(len(row), 4)], good, row]))
    assert run("redemptions", "import", str(path)) == 2
    err = capsys.readouterr().err
    assert f"文件 paid.csv，第 3 行，列「{column}」：" in err and reason in err and "未导入任何兑现记录" in err
    assert stored(env) == 0


def test_the_share_of_quick_policies(env: Settings) -> None:
    today = date(2026, 11, 30)
    share = read(env, lambda session: redemptions.mode_share(session=session, today=today))
    current = [
        record
        for record in read_demo_catalog()
        if (not record.get("valid_from") or record["valid_from"] <= today.isoformat())
        and (not record.get("valid_to") or record["valid_to"] >= today.isoformat())
    ]
    quick = sum(1 for record in current if record.get("mode") in {"免申即享", "即申即享"})
    assert (share["total"], share["quick"]) == (len(current), quick)
    assert share["share"] == pytest.approx(quick / len(current))
