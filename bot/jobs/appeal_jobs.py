"""The worker's appeal jobs: fire due escalations, release staff notices, ask once more for unanswered ratings,
and tell enterprises of each step (`bot.chat.notices`)."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.chat import notices
from bot.services import Services
from routing import escalation, notify, visits
from routing.escalation import Fired
from routing.rules import load_calendar, load_rules

log = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
MAX_BATCHES = 20  # per sweep: a backlog drains over a few sweeps instead of holding one transaction


async def fire_escalations(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    worker: str = WORKER,
    limit: int = escalation.BATCH,
) -> list[Fired]:
    """Fire every due escalation, one committed batch at a time."""
    fired: list[Fired] = []
    for _ in range(MAX_BATCHES):
        moment = now or datetime.now(UTC)
        async with sessions() as session, session.begin():
            batch = await session.run_sync(_sweep_batch, moment, worker, limit)
        if not batch:
            break
        fired += batch
    if fired:
        log.info("escalations fired", extra={"count": len(fired), "worker": worker})
    return fired


def _sweep_batch(session: Session, now: datetime, worker: str, limit: int) -> list[Fired]:
    return escalation.sweep(session=session, now=now, worker=worker, limit=limit)


async def release_notices(sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> int:
    """Write the staff notices of new escalations; release those that may go out now, and a supervisors' digest."""
    moment = now or datetime.now(UTC)
    for _ in range(MAX_BATCHES):
        async with sessions() as session, session.begin():
            if not await session.run_sync(lambda sync: notify.notify_escalations(session=sync, now=moment)):
                break
    async with sessions() as session, session.begin():
        return await session.run_sync(
            lambda sync: notify.release_notifications(
                session=sync,
                now=moment,
                digest_minutes=load_rules(session=sync).digest_minutes,
                calendar=load_calendar(session=sync),
            )
        )


async def remind_ratings(sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> int:
    """Ask again, once, for the rating of appeals answered a while ago and not rated (routing.visits)."""
    moment = now or datetime.now(UTC)
    async with sessions() as session, session.begin():
        return await session.run_sync(lambda sync: visits.remind_unrated(session=sync, now=moment))


async def sweep(services: Services) -> None:
    """The appeal jobs of one worker pass."""
    await fire_escalations(services.sessions)
    await release_notices(services.sessions)
    await remind_ratings(services.sessions)
    await notices.tell_enterprises(services)
