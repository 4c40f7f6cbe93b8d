"""Reading the staff notices that routing.notify writes: who sees which, unread counts, marking them read.

Unit staff see their unit's notices to staff; unit heads also those to the unit head; 区营商办 sees its
digests and the urgent notices sent to it at once (the others reach it inside a digest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from routing.models import ActorRole, Appeal, Audience, Notification

# The audiences whose notices a user of each role reads (keyed by the account's role, a str).
AUDIENCES: dict[str, tuple[Audience, ...]] = {
    ActorRole.STAFF: (Audience.STAFF,),
    ActorRole.UNIT_HEAD: (Audience.STAFF, Audience.UNIT_HEAD),
    ActorRole.SUPERVISOR: (Audience.SUPERVISOR,),
}


@dataclass(frozen=True)
class StaffNotice:
    """A notice as the console lists it."""

    id: int
    text: str
    urgent: bool
    digest: bool
    released_at: datetime
    read_at: datetime | None
    reference: str | None


def _for(role: str, unit_id: int | None) -> ColumnElement[bool]:
    """The notices a user of this role and unit may read (released ones only)."""
    audiences = AUDIENCES.get(role, ())
    released = Notification.released_at.is_not(None)
    if role == ActorRole.SUPERVISOR:
        return and_(released, Notification.audience.in_(audiences), Notification.digest_id.is_(None))
    return and_(released, Notification.audience.in_(audiences), Notification.unit_id == (unit_id or -1))


def notices(
    *, session: Session, role: str, unit_id: int | None, unread_only: bool = False, limit: int = 100
) -> list[StaffNotice]:
    """The user's notices, unread first, newest first."""
    statement: Any = (
        select(Notification, Appeal.reference)
        .outerjoin(Appeal, Appeal.id == Notification.appeal_id)
        .where(_for(role, unit_id))
        .order_by(Notification.read_at.is_not(None), Notification.released_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return [
        StaffNotice(
            row.id,
            row.text,
            row.urgent,
            row.escalation_id is None and row.appeal_id is None,
            row.released_at,
            row.read_at,
            reference,
        )
        for row, reference in session.execute(statement)
    ]


def unread(*, session: Session, role: str, unit_id: int | None) -> int:
    """How many of the user's notices are unread."""
    condition = and_(_for(role, unit_id), Notification.read_at.is_(None))
    return int(session.scalar(select(func.count()).select_from(Notification).where(condition)) or 0)


def mark_read(*, session: Session, role: str, unit_id: int | None, now: datetime, notice_id: int | None = None) -> int:
    """Mark one notice (or all of the user's) read; only the user's own can be marked. How many changed."""
    condition = and_(_for(role, unit_id), Notification.read_at.is_(None))
    if notice_id is not None:
        condition = and_(condition, Notification.id == notice_id)
    result = session.execute(
        update(Notification).where(condition).values(read_at=now), execution_options={"synchronize_session": False}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
