"""Reading and writing the conversation tables (async; used on the request path and by the worker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import InboundMessage, OutboundMessage, Subscriber
from bot.wechat import Inbound

WINDOW = timedelta(hours=48)


class Duplicate(Exception):
    """This message was stored before (a retry)."""


def now() -> datetime:
    return datetime.now(UTC)


def _upsert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def save_inbound(db: async_sessionmaker[AsyncSession], inbound: Inbound) -> int:
    """Store a message once and note the user's last contact; raises Duplicate for a retry."""
    received = now()
    try:
        async with db() as session, session.begin():
            row = InboundMessage(
                dedup_key=inbound.dedup_key,
                openid=inbound.openid,
                msg_id=inbound.msg_id,
                msg_type=inbound.msg_type,
                event=inbound.event,
                event_key=inbound.event_key,
                text=inbound.text,
                fields=dict(inbound.fields),
                sent_at=datetime.fromtimestamp(inbound.create_time, UTC),
                received_at=received,
            )
            session.add(row)
            await session.flush()
            insert = _upsert(session)(Subscriber).values(
                openid=inbound.openid, subscribed=True, last_inbound_at=received, created_at=received
            )
            await session.execute(
                insert.on_conflict_do_update(index_elements=["openid"], set_={"last_inbound_at": received})
            )
            return row.id
    except IntegrityError as exc:
        if "dedup_key" in str(exc.orig) or "inbound_messages" in str(exc.orig):
            raise Duplicate(inbound.dedup_key) from None
        raise


async def stored_response(db: async_sessionmaker[AsyncSession], dedup_key: str) -> str | None:
    """The answer given to the first delivery of a message, if it has been given."""
    async with db() as session:
        return await session.scalar(select(InboundMessage.response).where(InboundMessage.dedup_key == dedup_key))


async def finish(
    db: async_sessionmaker[AsyncSession],
    *,
    inbound_id: int,
    openid: str,
    response: str,
    reply: str | None,
    channel: str,
    status: str,
) -> int | None:
    """Record the HTTP answer of an inbound message and, if there is one, its reply; returns the reply's id."""
    moment = now()
    async with db() as session, session.begin():
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(response=response, processed_at=moment if status != "pending" else None)
        )
        if reply is None:
            return None
        row = OutboundMessage(
            openid=openid,
            inbound_id=inbound_id,
            text=reply,
            channel=channel,
            status=status,
            attempts=0,
            created_at=moment,
            delivered_at=moment if status == "sent" else None,
        )
        session.add(row)
        await session.flush()
        return row.id


async def mark_processed(db: async_sessionmaker[AsyncSession], inbound_id: int) -> None:
    async with db() as session, session.begin():
        await session.execute(
            update(InboundMessage).where(InboundMessage.id == inbound_id).values(processed_at=now())
        )


async def record_delivery(
    db: async_sessionmaker[AsyncSession],
    *,
    outbound_id: int,
    status: str,
    error_code: int | None = None,
    error: str | None = None,
    template_msg_id: int | None = None,
) -> None:
    """Note how an attempt to deliver an outbound message ended."""
    values: dict[str, Any] = {
        "status": status,
        "error_code": error_code,
        "error": error,
    }
    if status == "sent":
        values["delivered_at"] = now()
    if template_msg_id is not None:
        values["template_msg_id"] = template_msg_id
    async with db() as session, session.begin():
        await session.execute(update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values))


async def add_outbound(
    db: async_sessionmaker[AsyncSession], *, openid: str, text: str, channel: str, inbound_id: int | None = None
) -> int:
    """Store a message about to be pushed: pending, its first attempt counted."""
    async with db() as session, session.begin():
        row = OutboundMessage(
            openid=openid, inbound_id=inbound_id, text=text, channel=channel, status="pending", attempts=1,
            created_at=now(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def pending_outbound(
    db: async_sessionmaker[AsyncSession], *, older_than: timedelta, limit: int = 100
) -> list[OutboundMessage]:
    """Customer-service messages still pending after `older_than` (their sender died or the API failed)."""
    async with db() as session:
        rows = await session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.status == "pending", OutboundMessage.created_at < now() - older_than)
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        return list(rows)


async def claim_outbound(db: async_sessionmaker[AsyncSession], *, outbound_id: int, attempts: int) -> bool:
    """Take a pending message for one delivery attempt; False if another worker took it first."""
    async with db() as session, session.begin():
        result = await session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == outbound_id,
                OutboundMessage.status == "pending",
                OutboundMessage.attempts == attempts,
            )
            .values(attempts=attempts + 1)
        )
        return bool(getattr(result, "rowcount", 0))


async def subscriber(db: async_sessionmaker[AsyncSession], openid: str) -> Subscriber | None:
    async with db() as session:
        return await session.get(Subscriber, openid)


async def set_subscription(
    db: async_sessionmaker[AsyncSession], *, openid: str, subscribed: bool, scene: str | None = None
) -> None:
    """Record a subscribe (with its QR scene, if any) or an unsubscribe."""
    moment = now()
    values: dict[str, Any] = {"subscribed": subscribed}
    if subscribed:
        values["subscribed_at"] = moment
        if scene:
            values["scene"] = scene
    else:
        values["unsubscribed_at"] = moment
    async with db() as session, session.begin():
        insert = _upsert(session)(Subscriber).values(openid=openid, created_at=moment, **values)
        await session.execute(insert.on_conflict_do_update(index_elements=["openid"], set_=values))


async def record_template_status(db: async_sessionmaker[AsyncSession], *, msg_id: int, status: str) -> bool:
    """Apply a TEMPLATESENDJOBFINISH status to the template message it reports on."""
    delivered = status == "success"
    async with db() as session, session.begin():
        result = await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.template_msg_id == msg_id)
            .values(
                status="sent" if delivered else "failed",
                error=None if delivered else status,
                delivered_at=now() if delivered else None,
            )
        )
        return bool(getattr(result, "rowcount", 0))


def within_window(last_inbound_at: datetime | None) -> bool:
    """Is a customer-service message allowed (the user wrote within 48 hours)?"""
    if last_inbound_at is None:
        return False
    if last_inbound_at.tzinfo is None:  # SQLite returns naive datetimes; we store UTC
        last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
    return now() - last_inbound_at < WINDOW
