"""An enterprise talking to the real Dialogue on a database of its own, with the clock in the test's hand.

Each message is stored as the inbox stores it (so what it was attached to can be read back), then answered.
Staff act through the routing domain in their own transactions, as the console does.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.chat import messages
from bot.chat.dialogue import Dialogue
from bot.chat.models import InboundMessage
from bot.platform import db
from bot.platform.cache import MemoryCache
from bot.services import build_matcher, prepare_database
from bot.wechat.protocol import Inbound
from intents.matcher import Matcher
from routing.lifecycle import Actor
from routing.models import ActorRole, Appeal, Unit

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, tzinfo=ZONE).astimezone(UTC)  # a Monday morning
_ids = itertools.count(1)


def template(directory: Path) -> tuple[Path, Matcher]:
    """A migrated database with the demo policy list and the default routing table, and its matcher."""
    path = directory / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    prepare_database(engine, load_demo=True)
    matcher = build_matcher(engine, timezone="Asia/Shanghai")
    engine.dispose()
    return path, matcher


class Talk:
    """One enterprise (openid) in the chat; `now` moves a minute with every message."""

    def __init__(self, url: str, matcher: Matcher, openid: str = "o_enterprise", now: datetime = NOW) -> None:
        self.url, self.matcher, self.openid, self.now = url, matcher, openid, now
        self.engine = db.make_async_engine(url)
        self.dialogue = self._dialogue()
        self.keys: list[str] = []

    def _dialogue(self) -> Dialogue:
        return Dialogue(
            matcher=lambda: self.matcher,
            cache=MemoryCache(),
            engine=self.engine,
            state_ttl=1800,
            clock=lambda: self.now,
        )

    def other(self, openid: str) -> Talk:
        """Another enterprise on the same database and clock."""
        return Talk(self.url, self.matcher, openid=openid, now=self.now)

    async def say(self, text: str = "", *, kind: str = "text", **fields: Any) -> str | None:
        """Send a message (text, or image/voice/link/file with their fields) and return the bot's reply."""
        self.now += timedelta(minutes=1)
        body: dict[str, Any] = {"MsgId": str(next(_ids)), **fields}
        if kind == "text":
            body["Content"] = text
        elif kind == "voice":
            body["Recognition"] = text
        inbound = Inbound("gh_test", self.openid, int(self.now.timestamp()), kind, body)
        await messages.save_inbound(self.engine, inbound)
        self.keys.append(inbound.dedup_key)
        return await self.dialogue.respond(inbound)

    async def click(self, key: str) -> str | None:
        """A menu click."""
        self.now += timedelta(minutes=1)
        fields = {"Event": "CLICK", "EventKey": key}
        inbound = Inbound("gh_test", self.openid, int(self.now.timestamp()), "event", fields)
        await messages.save_inbound(self.engine, inbound)
        self.keys.append(inbound.dedup_key)
        return await self.dialogue.respond(inbound)

    async def restart(self) -> None:
        """A new server process: nothing survives but the database."""
        await self.engine.dispose()
        self.engine = db.make_async_engine(self.url)
        self.dialogue = self._dialogue()

    def run(self, work: Callable[[Session], Any]) -> Any:
        """work(session) in one committed transaction of the database."""
        engine = db.make_engine(self.url)
        try:
            with db.transaction(db.session_factory(engine)) as session:
                return work(session)
        finally:
            engine.dispose()

    def staff(self, step: Callable[..., object], reference: str, *, unit: str | None = None, **arguments: Any) -> None:
        """A lifecycle step by staff of the appeal's unit (or `unit`), at the talk's clock."""

        def work(session: Session) -> None:
            appeal = session.scalars(select(Appeal).where(Appeal.reference == reference)).one()
            named = select(Unit.id).where(Unit.name == unit)
            unit_id = session.scalars(named).one() if unit is not None else appeal.unit_id
            actor = Actor(ActorRole.STAFF, "li", unit_id)
            step(session=session, appeal_id=appeal.id, actor=actor, now=self.now, **arguments)

        self.run(work)

    def appeals(self) -> list[Appeal]:
        return list(self.run(lambda session: list(session.scalars(select(Appeal).order_by(Appeal.id)))))

    def links(self) -> list[tuple[str | None, str | None, int | None, int | None]]:
        """(text, attached_as, appeal_id, handoff_id) of every message this enterprise sent, in order."""
        rows = self.run(
            lambda session: session.execute(
                select(
                    InboundMessage.dedup_key,
                    InboundMessage.text,
                    InboundMessage.attached_as,
                    InboundMessage.appeal_id,
                    InboundMessage.handoff_id,
                ).where(InboundMessage.openid == self.openid)
            ).all()
        )
        by_key = {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
        return [by_key[key] for key in self.keys]

    async def close(self) -> None:
        await self.engine.dispose()


def sync(url: str) -> Engine:
    return db.make_engine(url)


def copy(template_path: Path, directory: Path) -> str:
    """A fresh copy of the template database; its URL."""
    target = directory / "chat.db"
    shutil.copy(template_path, target)
    return f"sqlite:///{target}"
