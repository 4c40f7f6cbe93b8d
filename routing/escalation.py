"""分级督办: the sweep that fires every due escalation exactly once.

Due timers are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so several workers share the work and
never take the same row; the unique key (timer, level) makes a second firing impossible even so. The
escalations and the timers' next firing times are written in the claiming transaction: a worker killed
mid-sweep rolls back, and the next sweep finds the same rows due. Staff notices follow in their own step
(routing.notify.notify_escalations), so that the claim stays short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from routing.models import Appeal, AppealTimer, Audience, Escalation, Stage
from routing.rules import Level, load_rules

TIMERS = cast(Table, AppealTimer.__table__)
APPEALS = cast(Table, Appeal.__table__)
ESCALATIONS = cast(Table, Escalation.__table__)
BATCH = 1000


@dataclass(frozen=True)
class Fired:
    """One escalation this sweep fired."""

    escalation_id: int
    appeal_id: int
    reference: str
    stage: Stage
    level: int
    audience: Audience
    scheduled_at: datetime


def _due_levels(
    row: Any, levels: Sequence[Level], *, unit_id: int, now: datetime, worker: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The escalation rows of a claimed timer's levels that are due, and where its ladder goes on from."""
    fire = [datetime.fromisoformat(moment) for moment in row.fire_times]
    last = min(len(fire), len(levels))
    level = row.next_level
    fired = []
    while level <= last and fire[level - 1] <= now:
        rung = levels[level - 1]
        fired.append(
            {
                "appeal_id": row.appeal_id,
                "timer_id": row.id,
                "level": level,
                "name": rung.name,
                "audience": rung.audience,
                "unit_id": unit_id,
                "scheduled_at": fire[level - 1],
                "fired_at": now,
                "worker": worker,
            }
        )
        level += 1
    return fired, {"timer": row.id, "level": level, "fire": fire[level - 1] if level <= last else None}


def sweep(*, session: Session, now: datetime, worker: str = "", limit: int = BATCH) -> list[Fired]:
    """Fire every escalation level that is due, up to `limit` timers; the caller commits."""
    rows = session.execute(
        select(TIMERS.c.id, TIMERS.c.appeal_id, TIMERS.c.stage, TIMERS.c.next_level, TIMERS.c.fire_times)
        .where(TIMERS.c.next_fire_at <= now)
        .order_by(TIMERS.c.next_fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    # Read apart from the claim: joined, PostgreSQL would scan every appeal to hash them.
    appeals = {
        row.id: row
        for row in session.execute(
            select(APPEALS.c.id, APPEALS.c.reference, APPEALS.c.unit_id).where(
                APPEALS.c.id.in_({row.appeal_id for row in rows})
            )
        )
    }
    levels = load_rules(session=session).levels
    escalations: list[dict[str, Any]] = []
    advances: list[dict[str, Any]] = []
    stages: dict[int, Stage] = {}
    for row in rows:
        fired, advance = _due_levels(row, levels, unit_id=appeals[row.appeal_id].unit_id, now=now, worker=worker)
        escalations += fired
        advances.append(advance)
        stages[row.id] = row.stage
    write = _write_postgresql if session.get_bind().dialect.name == "postgresql" else _write_portable
    created = write(session, escalations, advances)
    scheduled = {(item["timer_id"], item["level"]): item for item in escalations}
    return [
        Fired(
            escalation_id,
            item["appeal_id"],
            appeals[item["appeal_id"]].reference,
            stages[timer_id],
            level,
            item["audience"],
            item["scheduled_at"],
        )
        for escalation_id, timer_id, level in created
        for item in (scheduled[(timer_id, level)],)
    ]


def _write_portable(
    session: Session, escalations: list[dict[str, Any]], advances: list[dict[str, Any]]
) -> list[tuple[int, int, int]]:
    """Escalations (a duplicate is skipped) and the timers' next firing, in Core statements."""
    created: list[tuple[int, int, int]] = []
    if escalations:
        insert = sqlite.insert(ESCALATIONS).on_conflict_do_nothing(index_elements=["timer_id", "level"])
        result = session.execute(
            insert.returning(ESCALATIONS.c.id, ESCALATIONS.c.timer_id, ESCALATIONS.c.level), escalations
        )
        created = [(row.id, row.timer_id, row.level) for row in result]
    session.execute(
        update(TIMERS)
        .where(TIMERS.c.id == bindparam("timer"))
        .values(next_level=bindparam("level"), next_fire_at=bindparam("fire")),
        advances,
        execution_options={"synchronize_session": False},
    )
    return created


# PostgreSQL: the same writes as one statement each over arrays, instead of a thousand rows of parameters.
FIRE_ON_POSTGRESQL = text("""
INSERT INTO escalations (appeal_id, timer_id, level, name, audience, unit_id, scheduled_at, fired_at, worker)
SELECT * FROM unnest(CAST(:appeal_id AS integer[]), CAST(:timer_id AS integer[]), CAST(:level AS integer[]),
                     CAST(:name AS varchar[]), CAST(:audience AS varchar[]), CAST(:unit_id AS integer[]),
                     CAST(:scheduled_at AS timestamptz[]), CAST(:fired_at AS timestamptz[]),
                     CAST(:worker AS varchar[]))
ON CONFLICT (timer_id, level) DO NOTHING
RETURNING id, timer_id, level
""")
ADVANCE_ON_POSTGRESQL = text("""
UPDATE appeal_timers AS t SET next_level = v.level, next_fire_at = v.fire
FROM unnest(CAST(:timer AS integer[]), CAST(:level AS integer[]), CAST(:fire AS timestamptz[])) AS v(id, level, fire)
WHERE t.id = v.id
""")


def _write_postgresql(
    session: Session, escalations: list[dict[str, Any]], advances: list[dict[str, Any]]
) -> list[tuple[int, int, int]]:
    created: list[tuple[int, int, int]] = []
    if escalations:
        columns = {key: [item[key] for item in escalations] for key in escalations[0]}
        created = [(row.id, row.timer_id, row.level) for row in session.execute(FIRE_ON_POSTGRESQL, columns)]
    advance = {key: [item[key] for item in advances] for key in ("timer", "level", "fire")}
    session.execute(ADVANCE_ON_POSTGRESQL, advance)
    return created
