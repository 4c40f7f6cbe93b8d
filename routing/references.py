"""Appeal references readable on a phone: PREFIX-YYYYMMDD-NNNN (e.g. LH-20261127-0042), per local day."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from routing.models import ReferenceCounter

# The same shape the matcher recognises in a message (intents.matcher.REFERENCE).
PATTERN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6})-?(\d{8})-?(\d{3,6})(?![0-9])")
COUNTERS: Table = ReferenceCounter.__table__  # type: ignore[assignment]


def format_reference(prefix: str, day: date, number: int) -> str:
    """LH, 2026-11-27, 42 → LH-20261127-0042."""
    return f"{prefix}-{day:%Y%m%d}-{number:04d}"


def normalize_reference(text: str) -> str | None:
    """The reference in `text`, upper-case with dashes, or None."""
    found = PATTERN.search(unicodedata.normalize("NFKC", text))
    if found is None:
        return None
    prefix, day, number = found.groups()
    return f"{prefix.upper()}-{day}-{number}"


def next_reference(*, session: Session, prefix: str, day: date) -> str:
    """Take the next number of the day atomically (one upsert), so that concurrent filings never collide."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(COUNTERS)
    statement = (
        insert.values(prefix=prefix, day=f"{day:%Y%m%d}", last=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": COUNTERS.c.last + 1})
        .returning(COUNTERS.c.last)
    )
    number = int(session.execute(statement).scalar_one())
    return format_reference(prefix, day, number)
