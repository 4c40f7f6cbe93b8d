"""Helpers of the enterprise tests: register files, the CLI, and the profiles stored."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main as cli
from bot.platform import db
from bot.platform.settings import Settings
from enterprises.models import Enterprise
from enterprises.uscc import CHARSET, check_character
from tests.policies.support import csv_text, write

HEADER = ["统一社会信用代码", "企业名称", "行业", "规模", "资质", "街道", "成立日期", "从业人数", "联系人", "联系电话"]


def code(number: int, *, region: str = "610104") -> str:
    """A valid real-shaped 统一社会信用代码 (企业, 工商登记) for a number."""
    digits = f"{number:08d}"
    body = f"91{region}{digits[:8]}{CHARSET[number % 31]}"
    return body + check_character(body)


def register_file(folder: Path, rows: Sequence[Sequence[object]], name: str = "register.csv") -> Path:
    """A register as a CSV file with the Chinese header."""
    return write(folder / name, csv_text([HEADER, *[[str(cell) for cell in row] for row in rows]]))


def run(*argv: str) -> int:
    return cli.main(list(argv))


def stored(settings: Settings) -> dict[str, Enterprise]:
    """Every enterprise by code."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_factory(engine)() as session:
            return {row.uscc: row for row in _all(session)}
    finally:
        engine.dispose()


def _all(session: Session) -> list[Enterprise]:
    rows = list(session.scalars(select(Enterprise)))
    for row in rows:
        session.expunge(row)
    return rows
