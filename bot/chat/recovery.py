"""Taking over messages whose processing never finished, and settling sends cut off mid-way.

An inbound row is owned by one processing attempt (`attempts`, `claimed_at`). A retry takes a message over when
its owner said it failed (the cache's `dead:` marker names the failed attempt) or held it past the lease; the
worker takes over what is still unprocessed `recover_after` seconds after its last claim. Every take-over is one
conditional UPDATE that adds one to `attempts`, so exactly one taker wins on SQLite and PostgreSQL alike, and the
dead owner's late writes (fenced by its attempt number) are refused.

An outbound row goes PENDING → SENDING (committed before WeChat is called) → SENT / FAILED / UNDELIVERED. A row
left SENDING by a sender that died is UNCERTAIN: WeChat's customer-service API has no idempotency key and no
delivery report, so it is never sent again automatically (at most once: a second copy of an answer is worse
than one staff can see as 未确认送达 and follow up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.messages import INBOUND, OUTBOUND, WINDOW, now
from bot.chat.models import OutboundStatus
from bot.wechat.protocol import Inbound


@dataclass(frozen=True)
class Claim:
    """A message taken over: its row, the attempt that now owns it, and what it was attached to so far."""

    inbound_id: int
    attempt: int
    inbound: Inbound
    attached_as: str | None


def _claim_of(row: Any) -> Claim:
    fields = dict(row.fields or {})
    inbound = Inbound(
        to_user=str(fields.get("ToUserName", "")),
        openid=row.openid,
        create_time=int(row.sent_at.timestamp()),
        msg_type=row.msg_type,
        fields=fields,
    )
    return Claim(inbound_id=row.id, attempt=row.attempts, inbound=inbound, attached_as=row.attached_as)


_COLUMNS = (
    INBOUND.c.id,
    INBOUND.c.attempts,
    INBOUND.c.openid,
    INBOUND.c.sent_at,
    INBOUND.c.msg_type,
    INBOUND.c.fields,
    INBOUND.c.attached_as,
)


async def take_over(engine: AsyncEngine, *, dedup_key: str, dead_attempt: int | None, lease: float) -> Claim | None:
    """A retry's take-over of a message nobody answered yet: its owner failed (`dead_attempt`) or held it longer
    than `lease` seconds. None when the message is answered, being answered, or taken by another."""
    moment = now()
    stale = INBOUND.c.claimed_at < moment - timedelta(seconds=lease)
    owner_gone = stale if dead_attempt is None else or_(stale, INBOUND.c.attempts == dead_attempt)
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                update(INBOUND)
                .where(
                    INBOUND.c.dedup_key == dedup_key,
                    INBOUND.c.processed_at.is_(None),
                    INBOUND.c.response.is_(None),
                    owner_gone,
                )
                .values(attempts=INBOUND.c.attempts + 1, claimed_at=moment)
                .returning(*_COLUMNS)
            )
        ).first()
    return _claim_of(row) if row is not None else None


async def stuck(engine: AsyncEngine, *, older_than: timedelta, limit: int = 50) -> list[tuple[int, int]]:
    """(id, attempts) of messages still unprocessed `older_than` after their last claim (within the 48-hour window
    in which a customer-service message can still reach the user)."""
    moment = now()
    async with engine.connect() as connection:
        result = await connection.execute(
            select(INBOUND.c.id, INBOUND.c.attempts)
            .where(
                INBOUND.c.processed_at.is_(None),
                INBOUND.c.claimed_at < moment - older_than,
                INBOUND.c.received_at > moment - WINDOW,
            )
            .order_by(INBOUND.c.id)
            .limit(limit)
        )
        return [(int(row.id), int(row.attempts)) for row in result]


async def claim_stuck(engine: AsyncEngine, *, inbound_id: int, attempts: int) -> Claim | None:
    """The worker's take-over of one stuck message; None when another worker or a retry took it first."""
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                update(INBOUND)
                .where(INBOUND.c.id == inbound_id, INBOUND.c.attempts == attempts, INBOUND.c.processed_at.is_(None))
                .values(attempts=attempts + 1, claimed_at=now())
                .returning(*_COLUMNS)
            )
        ).first()
    return _claim_of(row) if row is not None else None


async def settle_sending(engine: AsyncEngine, *, older_than: timedelta) -> int:
    """Sends left SENDING longer than `older_than` (their sender died after calling WeChat) become UNCERTAIN."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(OUTBOUND)
            .where(OUTBOUND.c.status == OutboundStatus.SENDING, OUTBOUND.c.called_at < now() - older_than)
            .values(status=OutboundStatus.UNCERTAIN, error="发送时中断，未确认是否送达：不自动重发，请人工核实")
        )
        return int(result.rowcount or 0)
