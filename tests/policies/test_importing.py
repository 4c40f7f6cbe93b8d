"""Import and export of the policy list: formats, headers, upsert by code, and every kind of bad input.

Bad input goes through the real CLI (`appealbot policies import`): exit 2, a message naming file,
row and column, and nothing imported.
"""

from __future__ import annotations

import json
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.platform.settings import Settings
from policies import exporting, importing
from policies.columns import BY_KEY
from tests.policies.support import HEADERS, csv_text, policies, prepare, read, write, xlsx_bytes

GOOD = ["Q1", "首店奖励", "区商务局", "一次性奖励20万元"]


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI on this test's database (with the demo list and accounts), configured through the environment."""
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(settings)
    return settings


def run(*argv: str) -> int:
    return cli.main(list(argv))


def refused(path: Path, capsys: pytest.CaptureFixture[str], settings: Settings) -> str:
    """Import the file through the CLI; assert exit 2 and an unchanged catalog; the error text."""
    before = {code: policy.version for code, policy in policies(settings).items()}
    assert run("policies", "import", str(path)) == 2
    after = {code: policy.version for code, policy in policies(settings).items()}
    assert after == before, "a refused file changed the catalog"
    err = capsys.readouterr().err
    assert f"文件 {path.name}" in err
    assert "未导入任何政策" in err or "未读取" in err or "导入上限" in err
    return err


def test_csv_xlsx_and_json_import_with_chinese_or_english_headers(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ["code", "name", "body", "content", "mode", "tags", "keywords", "valid_to"],
        ["Q1", "首店奖励", "区商务局", "奖励", "免申即享", "行业:零售;规模:小微", "首店；品牌首店", "2030-12-31"],
    ]
    assert run("policies", "import", str(write(tmp_path / "a.csv", csv_text(rows)))) == 0
    q1 = policies(env)["Q1"]
    assert (q1.mode, q1.tags, q1.keywords, str(q1.valid_to)) == (
        "免申即享", {"行业": "批发和零售业", "规模": "小微"}, ["首店", "品牌首店"], "2030-12-31"
    )  # fmt: skip
    assert q1.status == "published" and not q1.demo and q1.version == 1
    # Order free, Chinese headers with Excel's asterisks, a date cell: an .xlsx changes only what it names.
    sheet: list[list[object]] = [
        ["优惠内容*", "编号*", "政策名称", "实施主体*", "生效日期"],
        ["奖励50万元", "Q1", "首店奖励", "区商务局", date(2025, 3, 1)],
    ]
    assert run("policies", "import", str(write(tmp_path / "b.xlsx", xlsx_bytes(sheet)))) == 0
    q1 = policies(env)["Q1"]
    assert (q1.content, str(q1.valid_from), q1.name, q1.mode, q1.version) == (
        "奖励50万元",
        "2025-03-01",
        "首店奖励",
        "免申即享",
        2,
    )
    records = {
        "policies": [
            {"code": "Q2", "name": "夜市补贴", "body": "区商务局", "content": "补贴", "tags": {"类型": "补贴"}}
        ]
    }
    assert run("policies", "import", str(write(tmp_path / "c.json", json.dumps(records, ensure_ascii=False)))) == 0
    assert policies(env)["Q2"].tags == {"类型": "补贴"}
    assert "新增 1 条" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_export_then_import_changes_nothing(env: Settings, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"list{suffix}"
    assert run("policies", "export", str(path)) == 0
    before = {code: (policy.version, policy.updated_at) for code, policy in policies(env).items()}
    assert len(before) >= 40
    parsed = importing.read_file(path)
    assert parsed.ok and len(parsed.rows) == len(before)
    assert run("policies", "import", str(path)) == 0
    assert {code: (p.version, p.updated_at) for code, p in policies(env).items()} == before


def test_export_keeps_formula_like_text_as_text(env: Settings, tmp_path: Path) -> None:
    write(tmp_path / "f.csv", csv_text([HEADERS, ["Q9", "=1+1", "区商务局", "@SUM(A1)"]]))
    assert run("policies", "import", str(tmp_path / "f.csv")) == 0
    assert run("policies", "export", str(tmp_path / "out.xlsx")) == 0
    rows = {row.raw["code"]: row.raw for row in importing.read_file(tmp_path / "out.xlsx").rows}
    assert rows["Q9"]["name"] == "=1+1" and rows["Q9"]["content"] == "@SUM(A1)"


def test_status_column_round_trips_and_absent_status_keeps_it(env: Settings, tmp_path: Path) -> None:
    write(tmp_path / "s.csv", csv_text([[*HEADERS, "状态"], [*GOOD, "草稿"]]))
    assert run("policies", "import", str(tmp_path / "s.csv")) == 0
    assert policies(env)["Q1"].status == "draft"
    write(tmp_path / "t.csv", csv_text([HEADERS, [*GOOD[:3], "新内容"]]))
    assert run("policies", "import", str(tmp_path / "t.csv")) == 0
    assert policies(env)["Q1"].status == "draft"


def test_duplicate_codes(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "dup.csv", csv_text([HEADERS, GOOD, ["P99", "x", "y", "z"], GOOD]))
    err = refused(path, capsys, env)
    assert "第 4 行，列「编号」：编号「Q1」与第 2 行重复" in err


def test_missing_required_and_unknown_columns(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "cols.csv", csv_text([["编号", "政策名称", "实施主体", "备注"], ["Q1", "a", "b", "c"]]))
    err = refused(path, capsys, env)
    assert "第 1 行，列「备注」：未知的列「备注」" in err
    assert "第 1 行，列「优惠内容」：缺少必填列「优惠内容」(content)" in err


def test_missing_required_value(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "blank.xlsx", xlsx_bytes([HEADERS, GOOD, ["Q2", "", "区商务局", "奖励"]]))
    assert "第 3 行，列「政策名称」：不能为空" in refused(path, capsys, env)


def test_bad_dates(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        [*HEADERS, "生效日期", "有效期至"],
        [*GOOD, "2025-02-30", ""],
        ["Q2", "b", "c", "d", "2025-05-01", "2025-04-01"],
        ["Q3", "b", "c", "d", "明年", ""],
        ["Q4", "b", "c", "d", "2025/3/1", "2025年12月31日"],
    ]
    err = refused(write(tmp_path / "dates.csv", csv_text(rows)), capsys, env)
    assert "第 2 行，列「生效日期」：「2025-02-30」不是有效日期，应为 YYYY-MM-DD" in err
    assert "第 3 行，列「有效期至」：有效期至 2025-04-01 早于生效日期 2025-05-01" in err
    assert "第 4 行，列「生效日期」：「明年」不是有效日期" in err
    assert "第 5 行" not in err  # Excel's 2025/3/1 and 2025年12月31日 are understood


def test_invalid_mode(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "mode.csv", csv_text([[*HEADERS, "兑现方式"], [*GOOD, "免申请"]]))
    err = refused(path, capsys, env)
    assert "第 2 行，列「兑现方式」：「免申请」不是有效的兑现方式，应为 免申即享 / 即申即享 / 依申请 之一" in err


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("行业制造业", "「行业制造业」缺少冒号"),
        ("行业:;规模:小", "的键和值都不能为空"),
        (":制造业", "的键和值都不能为空"),
        ("规模:特大", "规模「特大」无效：应为 大、中、小、微 的组合（如 小微），或 不限、规上、规下"),
        ("行业:制造业:汽车", "不是一个标签"),
    ],
)
def test_malformed_tags(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, message: str
) -> None:
    path = write(tmp_path / "tags.csv", csv_text([[*HEADERS, "标签"], [*GOOD, cell]]))
    err = refused(path, capsys, env)
    assert "第 2 行，列「标签」：" in err and message in err


def test_tags_accept_full_width_and_repeated_keys() -> None:
    from policies.columns import parse_tags

    assert parse_tags("行业：制造业；行业:软件业;规模:小微型") == {
        "行业": "制造业、信息传输、软件和信息技术服务业",
        "规模": "小微",
    }


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "文件是空的"),
        ("blank.csv", b"\r\n\r\n", "文件里没有表头，也没有政策"),
        ("header.csv", "编号,政策名称,实施主体,优惠内容\r\n".encode(), "文件只有表头，没有政策"),
        ("empty.json", b"[]", "文件里没有表头，也没有政策"),
        ("header.xlsx", xlsx_bytes([HEADERS]), "文件只有表头，没有政策"),
    ],
)
def test_empty_files(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, message: str
) -> None:
    assert message in refused(write(tmp_path / name, data), capsys, env)


def test_a_50_mb_file_is_refused_by_its_size_without_reading_it(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write("编号,政策名称,实施主体,优惠内容\n".encode())
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper

    def no_reading(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    started = time.monotonic()
    err = refused(path, capsys, env)
    assert "文件有 50.0 MB，超过导入上限 20 MB" in err
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_text([HEADERS, GOOD]).encode(), "扩展名是 .xlsx，但内容不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "旧版 Excel 97-2003 (.xls) 文件"),
        (b"<html><body>not a workbook</body></html>", "扩展名是 .xlsx，但内容不是 Excel 工作簿"),
        (None, "这个 .xlsx 里没有工作簿"),
        (xlsx_bytes([HEADERS, GOOD])[:2000], "内容不是 Excel 工作簿"),
    ],
    ids=["csv", "xls", "html", "zip", "truncated"],
)
def test_an_xlsx_that_is_really_something_else(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes | None, message: str
) -> None:
    path = tmp_path / "list.xlsx"
    if data is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("word/document.xml", "<w:document/>")
    else:
        path.write_bytes(data)
    assert message in refused(path, capsys, env)


def test_csv_saved_by_excel_in_gbk_is_accepted(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "gbk.csv", csv_text([[*HEADERS, "标签"], [*GOOD, "行业:零售；规模:小微"]]), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert run("policies", "import", str(path)) == 0
    assert "按 GBK 编码读取" in capsys.readouterr().out
    q1 = policies(env)["Q1"]
    assert (q1.name, q1.body, q1.tags) == ("首店奖励", "区商务局", {"行业": "批发和零售业", "规模": "小微"})


def test_utf8_with_bom_and_utf16_csv_are_accepted(tmp_path: Path) -> None:
    text = csv_text([HEADERS, GOOD])
    for name, data in (("bom.csv", "\ufeff" + text), ("u16.csv", text.replace(",", "\t"))):
        path = write(tmp_path / name, data, encoding="utf-16" if name == "u16.csv" else "utf-8")
        parsed = importing.read_file(path)
        assert parsed.ok, parsed.all_problems()
        assert parsed.records()[0]["name"] == "首店奖励"


def test_undecodable_csv_names_the_encoding_to_use(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "bad.csv", b"\x81\x20\xff\xfe\x80" * 10)
    assert "请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）(*.csv)”" in refused(path, capsys, env)


def test_other_formats_and_missing_files(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "不支持的文件类型「.xls」" in refused(write(tmp_path / "old.xls", b"x"), capsys, env)
    assert run("policies", "import", str(tmp_path / "nope.csv")) == 2
    assert "不存在" in capsys.readouterr().err
    assert run("policies", "export", str(tmp_path / "out.txt")) == 2
    assert "不支持的导出格式" in capsys.readouterr().err


def test_one_bad_row_among_many_imports_nothing(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [HEADERS, *[[f"N{i:04d}", f"政策{i}", "区商务局", "奖励"] for i in range(500)], ["N9999", "x", "y", ""]]
    err = refused(write(tmp_path / "many.csv", csv_text(rows)), capsys, env)
    assert "第 502 行，列「优惠内容」：不能为空" in err
    assert not any(code.startswith("N") for code in policies(env))


def test_stray_cells_without_a_header(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "stray.csv", csv_text([HEADERS, [*GOOD, "多出来的"]]))
    assert "第 2 行，列「第 5 列」：这一列有内容但没有表头" in refused(path, capsys, env)


def test_exported_records_match_the_catalog(env: Settings) -> None:
    records = read(env, lambda session: exporting.records(session=session))
    assert [record["code"] for record in records] == sorted(policies(env))
    assert set(records[0]) == {*BY_KEY}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("规上", "规上"),
        ("限上", "规上"),
        ("不限", "不限"),
        ("规下、限下", "规下"),
        ("中小微", "中小微"),
        ("大型企业", "大"),
    ],
)
def test_scale_takes_the_documented_words(value: str, stored: str) -> None:
    from policies.columns import parse_tags

    assert parse_tags(f"规模:{value}") == {"规模": stored}


@pytest.mark.parametrize("value", ["特大", "规上特大", "、"])
def test_scale_refuses_other_words(value: str) -> None:
    from policies.columns import FieldError, parse_tags

    with pytest.raises(FieldError, match="规模"):
        parse_tags(f"规模:{value}")
