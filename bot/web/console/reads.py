"""What each user of the console has seen: read markers per user and appeal (`bot.accounts.AppealRead`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.accounts import AppealRead
from bot.chat.models import InboundMessage

READS = cast(Table, AppealRead.__table__)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def mark_seen(*, session: Session, appeal_id: int, user_id: int, now: datetime) -> None:
    """Record that the user has seen the appeal as it is now."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(READS).values(appeal_id=appeal_id, user_id=user_id, seen_at=now)
    session.execute(insert.on_conflict_do_update(index_elements=["appeal_id", "user_id"], set_={"seen_at": now}))


def unread_messages(*, session: Session, user_id: int, appeals: Iterable[tuple[int, str, datetime]]) -> set[int]:
    """Of these appeals (id, openid, created_at), those whose enterprise wrote since filing and the user's last look."""
    appeals = list(appeals)
    if not appeals:
        return set()
    openids = {openid for _, openid, _ in appeals}
    last = {
        openid: _aware(moment)
        for openid, moment in session.execute(
            select(InboundMessage.openid, func.max(InboundMessage.received_at))
            .where(InboundMessage.openid.in_(openids), InboundMessage.msg_type != "event")
            .group_by(InboundMessage.openid)
        )
    }
    seen = {
        appeal_id: _aware(moment)
        for appeal_id, moment in session.execute(
            select(READS.c.appeal_id, READS.c.seen_at).where(
                READS.c.user_id == user_id, READS.c.appeal_id.in_([appeal_id for appeal_id, _, _ in appeals])
            )
        )
    }
    found = set()
    for appeal_id, openid, created_at in appeals:
        wrote = last.get(openid)
        since = max(filter(None, (seen.get(appeal_id), created_at)))
        if wrote is not None and wrote > since:
            found.add(appeal_id)
    return found
