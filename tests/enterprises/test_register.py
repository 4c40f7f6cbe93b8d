"""`appealbot enterprises import|export`: a register in .csv or .xlsx, upserted by code, all or nothing.

Runs on the embedded default and on PostgreSQL (the `backend` fixture); bad input goes through the real CLI.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.platform.settings import Settings
from enterprises.models import FieldSource
from tests.enterprises.support import code, register_file, run, stored
from tests.policies.support import prepare, xlsx_bytes

TENCENT = "91440300708461136T"


@pytest.fixture
def env(backend: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", backend.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(backend, demo=False)
    return backend


def test_import_export_and_import_again(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = register_file(
        tmp_path,
        [
            [TENCENT, "深圳市腾讯计算机系统有限公司", "I", "大型", "高新技术企业", "北院门", "1998/11/11", "50000",
             "张三", "0755-86013388"],
            [code(1), "西安莲湖小面馆", "餐饮", "微", "个体工商户", "西关街道", "2021年3月1日", "6", "", ""],
            [code(2), "莲湖精密制造有限公司", "制造业", "小型", "", "", "", "", "", ""],
        ],
    )  # fmt: skip
    assert run("enterprises", "import", str(path)) == 0
    assert "新增 3 家，修改 0 家，不变 0 家" in capsys.readouterr().out
    found = stored(env)
    tencent = found[TENCENT]
    assert (tencent.industry, tencent.size, tencent.qualifications) == (
        "信息传输、软件和信息技术服务业",
        "大",
        ["高新技术企业"],
    )
    assert (tencent.street, tencent.founded_on, tencent.employees) == ("北院门街道", date(1998, 11, 11), 50000)
    assert (
        tencent.sources["industry"]["source"] == FieldSource.REGISTER and tencent.sources["industry"]["by"] == "命令行"
    )
    noodles = found[code(1)]
    assert (noodles.industry, noodles.qualifications, noodles.founded_on) == (
        "住宿和餐饮业",
        ["个体工商户"],
        date(2021, 3, 1),
    )
    factory = found[code(2)]
    assert (factory.qualifications, factory.street, factory.employees) == (None, None, None)  # not known
    for suffix in (".xlsx", ".csv"):
        out = tmp_path / f"out{suffix}"
        assert run("enterprises", "export", str(out)) == 0
        assert "已导出 3 家企业" in capsys.readouterr().out
        assert run("enterprises", "import", str(out)) == 0
        assert "新增 0 家，修改 0 家，不变 3 家" in capsys.readouterr().out


def test_a_later_import_updates_and_blank_cells_keep_what_is_stored(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = register_file(tmp_path, [[code(2), "莲湖精密制造有限公司", "制造业", "小型", "", "", "", "40", "李四", ""]])
    assert run("enterprises", "import", str(first)) == 0
    later = tmp_path / "later.xlsx"
    later.write_bytes(
        xlsx_bytes([["信用代码", "name", "size", "employees"], [code(2), "莲湖精密制造有限公司", "中型", None]])
    )
    assert run("enterprises", "import", str(later)) == 0
    assert "新增 0 家，修改 1 家，不变 0 家" in capsys.readouterr().out
    factory = stored(env)[code(2)]
    assert (factory.size, factory.employees, factory.industry, factory.contact) == ("中", 40, "制造业", "李四")


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (
            [TENCENT[:-1] + "X", "腾讯"],
            "统一社会信用代码",
            "校验位不符（GB 32100-2015）：第 18 位应为「T」，实际为「X」",
        ),
        (["9144030070846113", "腾讯"], "统一社会信用代码", "应为 18 位"),
        (["", "腾讯"], "统一社会信用代码", "不能为空"),
        ([TENCENT, ""], "企业名称", "不能为空"),
        ([TENCENT, "腾讯", "科技"], "行业", "行业「科技」不是国民经济行业分类（GB/T 4754-2017）的门类"),
        ([TENCENT, "腾讯", "", "超大型"], "规模", "规模「超大型」无效"),
        ([TENCENT, "腾讯", "", "", "五星企业"], "资质", "资质「五星企业」不在资质词表中"),
        ([TENCENT, "腾讯", "", "", "", "北院门、西关"], "街道", "街道只能填一个"),
        ([TENCENT, "腾讯", "", "", "", "", "去年"], "成立日期", "「去年」不是有效日期"),
        ([TENCENT, "腾讯", "", "", "", "", "", "很多"], "从业人数", "从业人数「很多」应为整数"),
        ([TENCENT, "腾讯", "", "", "", "", "", "", "", "打电话"], "联系电话", "联系电话「打电话」无效"),
    ],
)
def test_a_bad_cell_is_refused_with_row_column_and_reason_and_nothing_is_imported(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: list[str], column: str, reason: str
) -> None:
    good = [code(3), "好企业有限公司"]
    path = register_file(tmp_path, [good, row])
    assert run("enterprises", "import", str(path)) == 2
    err = capsys.readouterr().err
    assert f"文件 register.csv，第 3 行，列「{column}」：" in err and reason in err
    assert "未导入任何企业" in err
    assert stored(env) == {}


def test_file_level_problems(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twice = register_file(tmp_path, [[code(4), "甲"], [code(4), "乙"]], name="twice.csv")
    assert run("enterprises", "import", str(twice)) == 2
    assert f"第 3 行，列「统一社会信用代码」：「{code(4)}」与第 2 行重复" in capsys.readouterr().err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("统一社会信用代码,企业名称,注册资本\n", encoding="utf-8")
    assert run("enterprises", "import", str(unknown)) == 2
    assert "第 1 行，列「注册资本」：未知的列「注册资本」" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    missing.write_text("企业名称\n甲\n", encoding="utf-8")
    assert run("enterprises", "import", str(missing)) == 2
    assert "缺少必填列「统一社会信用代码」" in capsys.readouterr().err
    assert run("enterprises", "export", str(tmp_path / "out.json")) == 2
    assert "不支持的导出格式「.json」" in capsys.readouterr().err
    assert stored(env) == {}
