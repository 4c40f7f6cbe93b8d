"""Reading and writing the conversation tables.

These run on every message, so they use SQLAlchemy Core on a connection (no ORM unit of work) and
as few statements as the guarantees allow: the inbound row is committed before processing starts
(it is the durable half of the exactly-once claim), the answer and the reply in one more transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import RowMapping, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session

from bot.chat.models import Attached, Channel, InboundMessage, OutboundMessage, OutboundStatus, Subscriber
from bot.wechat.protocol import Inbound

WINDOW = timedelta(hours=48)
INBOUND = cast(Table, InboundMessage.__table__)
OUTBOUND = cast(Table, OutboundMessage.__table__)
SUBSCRIBERS = cast(Table, Subscriber.__table__)


class Duplicate(Exception):
    """This message was stored before (a retry)."""


class Superseded(Exception):
    """Another delivery or the worker took this message over: this attempt's answer is dropped."""


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we store is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _upsert(connection: AsyncConnection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


async def save_inbound(engine: AsyncEngine, inbound: Inbound) -> int:
    """Store a message once, claimed by its first processing attempt (1); raises Duplicate when it was stored
    before (a retry)."""
    moment = now()
    try:
        async with engine.begin() as connection:
            inbound_id = await connection.scalar(
                INBOUND.insert()
                .values(
                    dedup_key=inbound.dedup_key,
                    openid=inbound.openid,
                    msg_id=inbound.msg_id,
                    msg_type=inbound.msg_type,
                    event=inbound.event,
                    event_key=inbound.event_key,
                    text=inbound.text,
                    fields=dict(inbound.fields),
                    sent_at=datetime.fromtimestamp(inbound.create_time, UTC),
                    received_at=moment,
                    attempts=1,
                    claimed_at=moment,
                )
                .returning(INBOUND.c.id)
            )
    except IntegrityError as exc:
        if "dedup_key" in str(exc.orig):
            raise Duplicate(inbound.dedup_key) from None
        raise
    return int(cast(int, inbound_id))


async def stored_response(engine: AsyncEngine, dedup_key: str) -> str | None:
    """The answer given to the first delivery of a message, if it has been given."""
    async with engine.connect() as connection:
        return await connection.scalar(select(INBOUND.c.response).where(INBOUND.c.dedup_key == dedup_key))


async def finish(
    engine: AsyncEngine,
    *,
    inbound_id: int,
    attempt: int,
    openid: str,
    response: str,
    reply: str | None,
    channel: Channel,
    status: OutboundStatus,
) -> None:
    """Record the HTTP answer to an inbound message and, if there is one, the reply it carried; raises Superseded
    when this attempt no longer owns the message."""
    moment = now()
    async with engine.begin() as connection:
        result = await connection.execute(
            update(INBOUND)
            .where(INBOUND.c.id == inbound_id, INBOUND.c.attempts == attempt, INBOUND.c.processed_at.is_(None))
            .values(response=response, processed_at=moment if status != OutboundStatus.PENDING else None)
        )
        if not result.rowcount:
            raise Superseded(inbound_id)
        if reply is not None:
            await connection.execute(
                OUTBOUND.insert().values(
                    openid=openid,
                    inbound_id=inbound_id,
                    text=reply,
                    channel=channel,
                    status=status,
                    attempts=1,
                    created_at=moment,
                    delivered_at=moment if status == OutboundStatus.SENT else None,
                )
            )


async def finish_late(
    engine: AsyncEngine, *, inbound_id: int, attempt: int, openid: str, reply: str | None
) -> int | None:
    """Mark a message answered after its HTTP request and store its reply as a pending customer-service message, in
    one transaction (a crash leaves either both or neither); the reply's id. Raises Superseded as `finish`."""
    moment = now()
    async with engine.begin() as connection:
        result = await connection.execute(
            update(INBOUND)
            .where(INBOUND.c.id == inbound_id, INBOUND.c.attempts == attempt, INBOUND.c.processed_at.is_(None))
            .values(processed_at=moment, response=func.coalesce(INBOUND.c.response, "success"))
        )
        if not result.rowcount:
            raise Superseded(inbound_id)
        if not reply:
            return None
        outbound_id = await connection.scalar(
            OUTBOUND.insert()
            .values(
                openid=openid,
                inbound_id=inbound_id,
                text=reply,
                channel=Channel.CUSTOMER_SERVICE,
                status=OutboundStatus.PENDING,
                attempts=1,
                created_at=moment,
            )
            .returning(OUTBOUND.c.id)
        )
    return int(cast(int, outbound_id))


async def add_outbound(
    engine: AsyncEngine,
    *,
    openid: str,
    text: str,
    channel: Channel,
    inbound_id: int | None = None,
    handoff_id: int | None = None,
    author: str | None = None,
) -> int:
    """Store a message about to be pushed: pending, its first attempt counted (a person's, in a hand-off)."""
    async with engine.begin() as connection:
        outbound_id = await connection.scalar(
            OUTBOUND.insert()
            .values(
                openid=openid,
                inbound_id=inbound_id,
                text=text,
                channel=channel,
                status=OutboundStatus.PENDING,
                attempts=1,
                created_at=now(),
                handoff_id=handoff_id,
                author=author,
            )
            .returning(OUTBOUND.c.id)
        )
    return int(cast(int, outbound_id))


async def mark_sending(engine: AsyncEngine, *, outbound_id: int) -> bool:
    """Record the intent to send a pending message, before calling WeChat; False if another sender has it."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(OUTBOUND)
            .where(OUTBOUND.c.id == outbound_id, OUTBOUND.c.status == OutboundStatus.PENDING)
            .values(status=OutboundStatus.SENDING, called_at=now())
        )
        return bool(result.rowcount)


async def record_delivery(
    engine: AsyncEngine,
    *,
    outbound_id: int,
    status: OutboundStatus,
    error_code: int | None = None,
    error: str | None = None,
    template_msg_id: int | None = None,
) -> None:
    """Note how an attempt to deliver an outbound message ended."""
    values: dict[str, Any] = {"status": status, "error_code": error_code, "error": error}
    if status == OutboundStatus.SENT:
        values["delivered_at"] = now()
    if template_msg_id is not None:
        values["template_msg_id"] = template_msg_id
    async with engine.begin() as connection:
        await connection.execute(update(OUTBOUND).where(OUTBOUND.c.id == outbound_id).values(**values))


async def pending_outbound(engine: AsyncEngine, *, older_than: timedelta, limit: int = 100) -> list[RowMapping]:
    """Pushed messages still pending after `older_than` (their sender died, or the API failed)."""
    async with engine.connect() as connection:
        result = await connection.execute(
            select(OUTBOUND)
            .where(OUTBOUND.c.status == OutboundStatus.PENDING, OUTBOUND.c.created_at < now() - older_than)
            .order_by(OUTBOUND.c.id)
            .limit(limit)
        )
        return list(result.mappings())


async def claim_outbound(engine: AsyncEngine, *, outbound_id: int, attempts: int) -> bool:
    """Take a pending message for one delivery attempt; False if another worker took it first."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(OUTBOUND)
            .where(
                OUTBOUND.c.id == outbound_id,
                OUTBOUND.c.status == OutboundStatus.PENDING,
                OUTBOUND.c.attempts == attempts,
            )
            .values(attempts=attempts + 1)
        )
        return bool(result.rowcount)


async def is_unsubscribed(engine: AsyncEngine, openid: str) -> bool:
    async with engine.connect() as connection:
        subscribed = await connection.scalar(select(SUBSCRIBERS.c.subscribed).where(SUBSCRIBERS.c.openid == openid))
    return subscribed is False


async def set_subscription(engine: AsyncEngine, *, openid: str, subscribed: bool, scene: str | None = None) -> None:
    """Record a subscribe (with its QR scene, if any) or an unsubscribe."""
    moment = now()
    values: dict[str, Any] = {"subscribed": subscribed}
    if subscribed:
        values["subscribed_at"] = moment
        if scene:
            values["scene"] = scene
    else:
        values["unsubscribed_at"] = moment
    async with engine.begin() as connection:
        insert = _upsert(connection)(SUBSCRIBERS).values(openid=openid, created_at=moment, **values)
        await connection.execute(insert.on_conflict_do_update(index_elements=["openid"], set_=values))


async def record_template_status(engine: AsyncEngine, *, msg_id: int, status: str) -> bool:
    """Apply a TEMPLATESENDJOBFINISH status (WeChat's word: success, or why not) to the template message."""
    delivered = status == "success"
    async with engine.begin() as connection:
        result = await connection.execute(
            update(OUTBOUND)
            .where(OUTBOUND.c.template_msg_id == msg_id)
            .values(
                status=OutboundStatus.SENT if delivered else OutboundStatus.FAILED,
                error=None if delivered else status,
                delivered_at=now() if delivered else None,
            )
        )
        return bool(result.rowcount)


async def last_inbound_at(engine: AsyncEngine, openid: str) -> datetime | None:
    """When the user last wrote to the account (derived from the messages, not kept twice)."""
    async with engine.connect() as connection:
        moment = await connection.scalar(select(func.max(INBOUND.c.received_at)).where(INBOUND.c.openid == openid))
    return _aware(moment)


async def within_window(engine: AsyncEngine, openid: str) -> bool:
    """May a customer-service message be sent (the user wrote within the last 48 hours)?"""
    last = await last_inbound_at(engine, openid)
    return last is not None and now() - last < WINDOW


def link(
    session: Session,
    *,
    key: str,
    attached_as: Attached,
    appeal_id: int | None = None,
    handoff_id: int | None = None,
) -> None:
    """Record what an inbound message was taken as, and the appeal or hand-off it went to (in the caller's
    transaction, beside the step it caused)."""
    session.execute(
        update(INBOUND)
        .where(INBOUND.c.dedup_key == key)
        .values(attached_as=attached_as, appeal_id=appeal_id, handoff_id=handoff_id)
    )


def link_draft(session: Session, *, openid: str, appeal_id: int) -> int:
    """The answers given while filing belong to the appeal once it is filed; how many were linked."""
    result = session.execute(
        update(INBOUND)
        .where(
            INBOUND.c.openid == openid,
            INBOUND.c.attached_as == Attached.DRAFT,
            INBOUND.c.appeal_id.is_(None),
        )
        .values(appeal_id=appeal_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)
