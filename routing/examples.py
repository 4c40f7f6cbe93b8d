"""The store of labelled examples the matcher learns intent, category and unit from.

Seeded once from the shipped labelled messages (seed_examples.jsonl), then grown by the district's own work:
a unit's 签收 confirms the unit of an appeal; 区营商办's 转派 or 裁定 (after a 退回, or on its own) records
the corrected unit. One example per appeal: a later decision replaces an earlier one. Admins review and
remove examples in /admin/. The live match index follows the store's version within seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intents.records import Example, Intent
from routing.models import Appeal, Category, RoutingSetting, Unit
from storage import UTC_TIME, Base, EnumString

SEED_PATH = Path(__file__).with_name("seed_examples.jsonl")
# The seed examples' vectors for the bundled model (bench/seed_vectors.py writes it).
SEED_VECTORS_PATH = Path(__file__).with_name("seed_examples.e5.npz")
SEEDED_KEY = "examples_seeded"
MAX_TEXT = 2000


class ExampleSource(StrEnum):
    """Where an example comes from."""

    SEED = "seed"
    SIGN = "sign"
    TRANSFER = "transfer"
    ARBITRATE = "arbitrate"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    ExampleSource.SEED: "初始样例",
    ExampleSource.SIGN: "签收确认",
    ExampleSource.TRANSFER: "转派更正",
    ExampleSource.ARBITRATE: "裁定更正",
}


class LabelledExample(Base):
    """One labelled message: what it wants and, for an appeal, its category and the unit that answers for it."""

    __tablename__ = "labelled_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[Intent] = mapped_column(EnumString(Intent, 16))
    category: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[ExampleSource] = mapped_column(EnumString(ExampleSource, 16), index=True)
    appeal_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeals.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)


@dataclass(frozen=True)
class SeedRow:
    text: str
    intent: Intent
    category: str | None
    unit: str | None


def read_seed() -> list[SeedRow]:
    """The shipped labelled messages."""
    rows = []
    for line in SEED_PATH.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(SeedRow(data["text"], Intent(data["intent"]), data.get("category"), data.get("unit")))
    return rows


def ensure_seeded(*, session: Session, now: datetime) -> int:
    """Load the seed examples once per database (examples admins remove stay removed); rows inserted."""
    if session.get(RoutingSetting, SEEDED_KEY) is not None:
        return 0
    rows = [
        LabelledExample(
            text=row.text,
            intent=row.intent,
            category=row.category,
            unit=row.unit,
            source=ExampleSource.SEED,
            actor="",
            created_at=now,
        )
        for row in read_seed()
    ]
    session.add_all(rows)
    session.add(RoutingSetting(key=SEEDED_KEY, value=now.isoformat()))
    session.flush()
    return len(rows)


def example_docs(*, session: Session) -> list[Example]:
    """Every example as the matcher reads it, oldest first."""
    found = session.execute(
        select(
            LabelledExample.id,
            LabelledExample.text,
            LabelledExample.intent,
            LabelledExample.category,
            LabelledExample.unit,
            LabelledExample.source,
        ).order_by(LabelledExample.id)
    )
    return [
        Example(text=text, intent=intent, category=category, unit=unit, source=str(source), id=number)
        for number, text, intent, category, unit, source in found
    ]


def version(*, session: Session) -> str:
    """Changes whenever an example is added, replaced or removed; cheap to poll."""
    count, last, latest = session.execute(
        select(func.count(), func.max(LabelledExample.id), func.max(LabelledExample.created_at))
    ).one()
    return f"e{int(count or 0)}.{int(last or 0)}@{latest.isoformat() if latest else '-'}"


def record(*, session: Session, appeal: Appeal, source: ExampleSource, unit_id: int, actor: str, now: datetime) -> None:
    """The appeal's text with its category and `unit` as an example, replacing what the appeal taught before."""
    unit = session.get(Unit, unit_id)
    category = session.get(Category, appeal.category_id)
    if unit is None or not appeal.description.strip():
        return
    session.execute(delete(LabelledExample).where(LabelledExample.appeal_id == appeal.id))
    session.add(
        LabelledExample(
            text=appeal.description[:MAX_TEXT],
            intent=Intent.APPEAL,
            category=category.code if category else None,
            unit=unit.name,
            source=source,
            appeal_id=appeal.id,
            actor=actor,
            created_at=now,
        )
    )


def listing(*, session: Session, source: str | None = None, limit: int = 100, offset: int = 0) -> list[LabelledExample]:
    """Examples for review, newest first, optionally of one source."""
    statement = select(LabelledExample).order_by(LabelledExample.id.desc()).limit(limit).offset(offset)
    if source:
        statement = statement.where(LabelledExample.source == source)
    return list(session.scalars(statement))


def counts(*, session: Session) -> dict[str, int]:
    """Number of examples of each source."""
    rows = session.execute(select(LabelledExample.source, func.count()).group_by(LabelledExample.source))
    return {str(source): int(number) for source, number in rows}


def remove(*, session: Session, example_id: int) -> bool:
    """Delete one example; False when there is none with this id."""
    row = session.get(LabelledExample, example_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
