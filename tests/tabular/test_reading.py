"""Reading tables from files: encodings, formats that lie about themselves, limits, sheets and JSON records."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypedDict, Unpack

import pytest
from openpyxl import Workbook

from tabular import MB, Limits, Problem, Table, TableFile, Unreadable, Wording

LIMITS = Limits(max_bytes=20 * MB, max_rows=20_000)
ROWS = [["编号", "名称"], ["Q1", "首店奖励"], ["Q2", "夜市补贴"]]


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


class Options(TypedDict, total=False):
    name: str | None
    wording: Wording


def workbook(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.worksheets[0])  # the new workbook's one (active) sheet
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read(
    path: Path, limits: Limits = LIMITS, **options: Unpack[Options]
) -> tuple[Table, list[tuple[int, list[Any]]], str]:
    """The first table, its rows and the encoding."""
    with TableFile(path, limits=limits, **options) as source:
        table = source.table()
        return table, list(table.rows), source.encoding


def refusal(path: Path, limits: Limits = LIMITS, **options: Unpack[Options]) -> str:
    with pytest.raises(Unreadable) as caught, TableFile(path, limits=limits, **options) as source:
        if source.suffix == ".json":
            source.document()
        else:
            list(source.table().rows)
    return str(caught.value.problem)


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (csv_text(ROWS).encode("utf-8"), "UTF-8"),
        (("\ufeff" + csv_text(ROWS)).encode("utf-8"), "UTF-8"),
        (csv_text(ROWS).encode("gbk"), "GBK"),  # Excel's "CSV (逗号分隔)" on Chinese Windows
        (csv_text(ROWS, "\t").encode("utf-16"), "UTF-16"),  # Excel's "Unicode 文本": UTF-16 with BOM, tabs
    ],
    ids=["utf8", "utf8-bom", "gbk", "utf16"],
)
def test_csv_in_every_encoding_excel_saves(tmp_path: Path, data: bytes, encoding: str) -> None:
    table, rows, found = read(write(tmp_path / "list.csv", data))
    assert (table.name, table.header, table.header_row, found) == ("list", ["编号", "名称"], 1, encoding)
    assert rows == [(2, ["Q1", "首店奖励"]), (3, ["Q2", "夜市补贴"])]


def test_undecodable_csv_names_the_encoding_to_save_in(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", b"\x81\x20\xff\xfe\x80" * 10)
    assert refusal(path) == (
        "文件 bad.csv：无法识别文件编码：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）(*.csv)”后重新导入"
    )


def test_rows_are_numbered_as_the_spreadsheet_numbers_them(tmp_path: Path) -> None:
    text = "\r\n \r\n\ufeff编号 , 名称,,\r\n Q1 ,首店奖励,,\r\n,,\r\nQ2,夜市补贴\r\n"
    table, rows, _ = read(write(tmp_path / "gaps.csv", text))
    assert (table.header, table.header_row) == (["编号", "名称"], 3)
    assert rows == [(4, ["Q1", "首店奖励"]), (6, ["Q2", "夜市补贴"])]  # stripped, blank row and cells left out


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("list.xlsx", csv_text(ROWS).encode(), "扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是改了扩展名的其他文件）"),
        ("list.xlsx", b"<html><body>not a workbook</body></html>", "扩展名是 .xlsx，但内容不是 Excel 工作簿"),
        ("list.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "这是旧版 Excel 97-2003 (.xls) 文件"),
        ("list.xlsx", workbook({"表": ROWS})[:2000], "扩展名是 .xlsx，但内容不是 Excel 工作簿"),
        ("list.csv", workbook({"表": ROWS}), "扩展名是 .csv，但内容是 Excel 工作簿：请改用 .xlsx 扩展名"),
        ("list.csv", "编号,名称\r\nQ1,\x00\x01\r\n".encode(), "文件含有二进制内容，不是 CSV 文本"),
    ],
    ids=["csv-as-xlsx", "html-as-xlsx", "xls-as-xlsx", "truncated", "xlsx-as-csv", "binary-csv"],
)
def test_a_file_that_is_not_what_its_name_says(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    assert refusal(write(tmp_path / name, data)).startswith(f"文件 {name}：{message}")


def test_a_zip_without_a_workbook_and_a_damaged_workbook(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refusal(path) == "文件 list.xlsx：这个 .xlsx 里没有工作簿（xl/workbook.xml），不是 Excel 文件"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    assert refusal(path).startswith("文件 list.xlsx：Excel 文件已损坏或无法读取（")


def test_a_zip_bomb_is_refused_from_its_declared_sizes(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(3 * MB))  # a few KB on disk
    assert path.stat().st_size < 64 * 1024
    assert refusal(path, Limits(max_bytes=MB, max_unpacked=2 * MB)) == "文件 bomb.xlsx：解压后超过 2 MB，拒绝读取"
    assert Limits(max_bytes=MB).max_unpacked == 200 * MB


def test_a_50_mb_file_is_refused_from_its_size_without_being_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.truncate(50 * MB)  # sparse: 50 MB on paper

    def no_reading(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "open", no_reading)
    started = time.monotonic()
    assert refusal(path) == "文件 huge.xlsx：文件有 50.0 MB，超过导入上限 20 MB；请分批导入"
    assert time.monotonic() - started < 1


def test_empty_missing_and_unsupported_files(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.xlsx", "empty.json"):
        assert refusal(write(tmp_path / name, b"")) == f"文件 {name}：文件是空的"
    assert refusal(tmp_path / "nope.csv") == "文件 nope.csv：文件不存在"
    unsupported = "：请用 .xlsx、.csv 或 .json"
    assert refusal(write(tmp_path / "old.xls", b"x")) == f"文件 old.xls：不支持的文件类型「.xls」{unsupported}"
    assert refusal(write(tmp_path / "README", b"x")) == f"文件 README：不支持的文件类型「无扩展名」{unsupported}"


def test_a_blank_file_has_a_table_without_header(tmp_path: Path) -> None:
    table, rows, _ = read(write(tmp_path / "blank.csv", b"\r\n ,\r\n"))
    assert (table.header, table.header_row, rows) == ([], None, [])


def test_the_row_limit_stops_at_the_first_row_past_it(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", csv_text([["编号"], ["1"], [""], ["2"], ["3"], ["4"]]))
    with TableFile(path, limits=Limits(max_bytes=MB, max_rows=2)) as source:
        rows = source.table().rows
        assert next(iter(rows)) == (2, ["1"])
        with pytest.raises(Unreadable) as caught:
            list(rows)
    assert str(caught.value.problem) == "文件 long.csv，第 5 行：超过 2 行，请分批导入"
    _, unlimited, _ = read(path, Limits(max_bytes=MB))
    assert len(unlimited) == 4


def test_every_sheet_or_a_named_one(tmp_path: Path) -> None:
    when = datetime(2025, 3, 1, 9, 30)
    data = workbook({"单位": [["名称"], ["区商务局"]], "空": [], "节假日": [[None], ["日期", "上班"], [when, 5.0]]})
    path = write(tmp_path / "book.xlsx", data)
    with TableFile(path, limits=LIMITS) as source:
        tables = [(table.name, table.header, table.header_row, list(table.rows)) for table in source.tables()]
    assert tables == [
        ("单位", ["名称"], 1, [(2, ["区商务局"])]),
        ("空", [], None, []),
        ("节假日", ["日期", "上班"], 2, [(3, [when, 5])]),  # cells keep their type
    ]
    with TableFile(path, limits=LIMITS) as source:
        assert source.table("节假日").header == ["日期", "上班"]
        assert source.table().name == "单位"
        with pytest.raises(Unreadable, match="没有名为「参数」的工作表"):
            source.table("参数")


def test_json_documents_and_records(tmp_path: Path) -> None:
    records = [{"code": "Q1", "name": " 首店奖励 "}, {}, "stray", {"name": "夜市", "tags": {"类型": "补贴"}}]
    path = write(tmp_path / "list.json", "\ufeff" + json.dumps({"policies": records}, ensure_ascii=False))
    with TableFile(path, limits=LIMITS) as source:
        assert source.unit == "条"
        table = source.records(source.document()["policies"])
        assert (table.header, table.header_row) == (["code", "name", "tags"], 0)
        assert list(table.rows) == [
            (1, ["Q1", "首店奖励"]),  # the empty record (2) is a blank row
            (3, ["stray"]),  # not an object: one cell, in the first column
            (4, [None, "夜市", {"类型": "补贴"}]),
        ]
    with TableFile(path, limits=Limits(max_bytes=MB, max_rows=1)) as source, pytest.raises(Unreadable) as caught:
        list(source.records(source.document()["policies"]).rows)
    assert str(caught.value.problem) == "文件 list.json，第 3 条：超过 1 行，请分批导入"
    with TableFile(write(tmp_path / "empty.json", b"[]"), limits=LIMITS) as source:
        assert source.records(source.document()).header == []


def test_json_that_cannot_be_read(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.json", '{"units": [\n  {"name": "x",}\n]}')
    assert refusal(broken).startswith("文件 broken.json：不是有效的 UTF-8 JSON：Expecting property name")
    gbk = write(tmp_path / "gbk.json", '{"名称": "区商务局"}', encoding="gbk")
    assert refusal(gbk).startswith("文件 gbk.json：不是有效的 UTF-8 JSON：'utf-8' codec can't decode")
    terse = Wording(
        json_syntax="JSON 格式错误：{reason}", json_line_as_row=True, json_encoding="JSON 文件须为 UTF-8 编码"
    )
    assert refusal(broken, wording=terse) == (
        "文件 broken.json，第 2 行：JSON 格式错误：Expecting property name enclosed in double quotes"
    )
    assert refusal(gbk, wording=terse) == "文件 gbk.json：JSON 文件须为 UTF-8 编码"


def test_an_importer_keeps_its_own_words(tmp_path: Path) -> None:
    wording = Wording(unsupported="不支持的文件格式：请使用 .xlsx / .csv / .json", too_large="文件超过 {limit_mb} MB")
    text = write(tmp_path / "t.txt", b"x")
    assert refusal(text, wording=wording) == "文件 t.txt：不支持的文件格式：请使用 .xlsx / .csv / .json"
    big = write(tmp_path / "big.csv", bytes(2 * MB))
    assert refusal(big, Limits(max_bytes=MB), wording=wording) == "文件 big.csv：文件超过 1 MB"


def test_problems_name_file_sheet_row_and_column() -> None:
    assert str(Problem("a.xlsx", "不能为空", sheet="单位", row=3, column="名称")) == (
        "文件 a.xlsx，工作表「单位」，第 3 行，列「名称」：不能为空"
    )
    assert str(Problem("a.json", "未知的键「x」", row=2, column="units.x", unit="条")) == (
        "文件 a.json，第 2 条，列「units.x」：未知的键「x」"
    )
    assert str(Problem("a.csv", "文件是空的")) == "文件 a.csv：文件是空的"
