"""Writing tables: what is written reads back the same, text stays text, and Excel opens the CSV as UTF-8."""

from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import load_workbook

from tabular import MB, Limits, Table, TableFile, csv_bytes, json_bytes, xlsx_bytes

HEADER = ["编号", "名称", "说明"]
ROWS: list[tuple[int, list[str | None]]] = [(2, ["Q1", "=1+1", "@SUM(A1)"]), (3, ["Q2", "夜市补贴", None])]


def read_back(path: Path) -> list[tuple[str, list[str], list[tuple[int, list[object]]]]]:
    with TableFile(path, limits=Limits(max_bytes=MB)) as source:
        return [(table.name, table.header, list(table.rows)) for table in source.tables()]


def test_csv_is_utf8_with_a_bom_and_reads_back(tmp_path: Path) -> None:
    data = csv_bytes(Table("清单", HEADER, ROWS))
    assert data.startswith("\ufeff编号,名称,说明\r\n".encode())
    path = tmp_path / "清单.csv"
    path.write_bytes(data)
    assert read_back(path) == [("清单", HEADER, [(2, ["Q1", "=1+1", "@SUM(A1)"]), (3, ["Q2", "夜市补贴"])])]


def test_xlsx_has_a_sheet_per_table_and_keeps_formula_like_text(tmp_path: Path) -> None:
    tables = [Table("政策", HEADER, ROWS), Table("参数", ["参数", "值"], [(2, ["reference_prefix", "LH"])])]
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes(tables, widths=[12, 30], bold_header=True))
    assert read_back(path) == [
        ("政策", HEADER, [(2, ["Q1", "=1+1", "@SUM(A1)"]), (3, ["Q2", "夜市补贴"])]),
        ("参数", ["参数", "值"], [(2, ["reference_prefix", "LH"])]),
    ]
    book = load_workbook(io.BytesIO(path.read_bytes()))
    sheet = book["政策"]
    assert sheet["B2"].data_type == "s" and sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet.column_dimensions["B"].width == 30
    plain = load_workbook(io.BytesIO(xlsx_bytes(tables[:1])))["政策"]
    assert not plain["A1"].font.b


def test_json_is_readable_chinese_ending_in_a_newline() -> None:
    data = json_bytes({"policies": [{"name": "首店奖励"}]})
    assert data.endswith(b"}\n") and "首店奖励" in data.decode("utf-8")
    assert json.loads(data) == {"policies": [{"name": "首店奖励"}]}
