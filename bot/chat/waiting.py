"""One place decides where a message goes: what is waiting for this enterprise first, then the dialogue.

Waits come from registered sources: the draft being filed (bot.chat.appeals), a hand-off to a person
(bot.chat.handoff), and what the enterprise's appeals wait for (bot.chat.appeal_waits: 补充材料 while 挂起, 评价
after 答复, the confirmation of a 整改 milestone, a question staff asked). Another feature adds its own with
`Router.register` (a source has `waiting` and `take`, both run in one database session).

The order: the enterprise's own exchange (a draft, a hand-off) before what appeals wait for; within each, the
most recent first; a message that names an appeal's reference goes to that appeal's wait. A wait may decline a
message (a rating takes only ratings); one that takes anything ("greedy") can be stepped out of with "新问题"
(or "取消"), and stepped back into with "继续". What no wait takes goes on to the dialogue: a pending numbered
choice, then a new intent, with a reminder of what is still waiting.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.chat.models import SetAside
from routing.enterprise_replies import Attachment
from routing.references import normalize_reference

log = logging.getLogger(__name__)

STEP_OUT = {"新问题", "问别的", "咨询其他问题", "其他问题", "先不补充", "退出"}
CANCEL = {"取消", "算了", "不用了", "放弃"}
STEP_BACK = {"继续", "补充", "继续补充", "补充材料", "回到诉求"}
# Commands the dialogue answers whatever waits (it adds a reminder): progress, paging, help, a person.
PASS = {"进度", "进度查询", "查进度", "查询进度", "更多", "帮助", "菜单", "人工", "转人工", "人工客服", "找工作人员"}
# Menu words that start something new: what waits is set aside first.
FRESH = {"政策查询", "查政策", "我要反映", "反映问题", "我要投诉"}
PUNCTUATION = " \t\r\n。！!？?，,.~～…"


def plain(text: str) -> str:
    """A short reply as compared with command words: NFKC, no surrounding spaces or punctuation."""
    return unicodedata.normalize("NFKC", text).strip(PUNCTUATION)


@dataclass(frozen=True)
class Message:
    """One inbound message as the waits see it."""

    openid: str
    kind: str  # text, voice, image, video, shortvideo, location, link, file
    text: str | None  # what was said: Content, or a voice message's Recognition; None for other kinds
    key: str  # the inbound row's dedup key, for linking it to what it was attached to
    now: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    choice_pending: bool = False  # the dialogue offered numbered choices: a bare number answers them

    @property
    def said(self) -> str:
        return (self.text or "").strip()

    @property
    def word(self) -> str:
        return plain(self.said)

    def attachment(self) -> Attachment:
        """The message as an appeal keeps it (text, or the kind and address of an image, link or file)."""
        fields = self.fields
        if self.kind == "text":
            return Attachment("text", self.said)
        if self.kind == "voice":
            return Attachment("voice", self.said or "（语音，未能识别文字）")
        if self.kind == "image":
            return Attachment("image", "图片", str(fields.get("PicUrl") or ""))
        if self.kind == "location":
            return Attachment("location", f"位置：{fields.get('Label') or ''}")
        if self.kind in {"link", "file"}:
            title = str(fields.get("Title") or fields.get("FileName") or ("文件" if self.kind == "file" else "链接"))
            return Attachment(self.kind, title, str(fields.get("Url") or ""))
        return Attachment(self.kind, "视频" if "video" in self.kind else f"（{self.kind} 消息）")


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for the enterprise, as it reads it (`label`), from the source of its `kind`."""

    kind: str
    key: str  # changes when a new request starts, so that a set-aside one does not hide the next
    since: datetime
    label: str  # "您的诉求 LH-… 正在等待您补充：…"
    appeal_id: int | None = None
    reference: str | None = None
    greedy: bool = True  # takes any message (so "新问题" steps out of it); otherwise only what it recognises
    own: bool = False  # the enterprise's own exchange (a draft, a hand-off): asked before what appeals wait for
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Taken:
    """A wait took the message: the reply (None: nothing to say)."""

    reply: str | None


class WaitSource(Protocol):
    """Where waits of some kinds come from and how each takes a message (the source links the message)."""

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of wait this source gives (each kind has one source)."""
        ...

    def waiting(self, session: Session, message: Message) -> list[Waiting]:
        """What waits for this enterprise now (read only)."""
        ...

    def take(self, session: Session, waiting: Waiting, message: Message) -> Taken | None:
        """Take the message (in the router's transaction), or None to let the next wait or the dialogue have it."""
        ...


@dataclass(frozen=True)
class Routed:
    """Where the router sent a message: a wait took it, or the dialogue should answer (with a reminder)."""

    taken: Taken | None = None
    waits: tuple[Waiting, ...] = ()
    reminder: str = ""


def order(waits: list[Waiting], message: Message) -> list[Waiting]:
    """The order in which waits are offered the message."""
    ranked = sorted(waits, key=lambda wait: (not wait.own, -wait.since.timestamp()))
    named = normalize_reference(message.said) if message.said else None
    if named is not None:
        ranked.sort(key=lambda wait: wait.reference != named)
    return ranked


def reminder(waits: list[Waiting] | tuple[Waiting, ...], *, set_aside: bool = False) -> str:
    """The line that keeps what is waiting visible beside another answer."""
    if not waits:
        return ""
    first = waits[0]
    more = f"（另有 {len(waits) - 1} 项）" if len(waits) > 1 else ""
    back = "；需要时回复“继续”" if set_aside else ""
    return f"（提示：{first.label}{more}{back}）"


class Router:
    """Routes each message: a wait that takes it, or the dialogue."""

    def __init__(self, *, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._sources: dict[str, WaitSource] = {}

    def register(self, source: WaitSource) -> None:
        """Add a source of waits (its kinds must be new)."""
        for kind in source.kinds:
            if kind in self._sources:
                raise ValueError(f"a source of {kind!r} waits is registered already")
            self._sources[kind] = source

    async def waits(self, message: Message) -> tuple[list[Waiting], set[str]]:
        """What waits for the enterprise (every source, one session), and the keys it set aside."""
        async with self._sessions() as session:
            return await session.run_sync(lambda sync: self._find(sync, message))

    def _find(self, session: Session, message: Message) -> tuple[list[Waiting], set[str]]:
        found: list[Waiting] = []
        for source in dict.fromkeys(self._sources.values()):
            found += source.waiting(session, message)
        if not any(wait.greedy for wait in found):
            return found, set()
        aside = set(session.scalars(select(SetAside.key).where(SetAside.openid == message.openid)))
        return found, aside

    async def route(self, message: Message) -> Routed:
        """Offer the message to what waits; say where it went."""
        found, aside = await self.waits(message)
        if not found:
            return Routed()
        active = [wait for wait in found if not (wait.greedy and wait.key in aside)]
        parked = [wait for wait in found if wait.greedy and wait.key in aside]
        word = message.word
        if message.kind == "text" and (word in STEP_OUT or (word in CANCEL and not _draft_first(active))):
            return await self._step_out(message, order(active, message), stepping=word)
        if message.kind == "text" and word in STEP_BACK and parked:
            return await self._step_back(message, order(parked, message))
        if message.kind == "text" and word in FRESH:
            await self._set_aside(message, [wait for wait in active if wait.greedy])
            return Routed(waits=tuple(order(found, message)), reminder=reminder(order(found, message), set_aside=True))
        ranked = order(active, message)
        if message.kind == "text" and word in PASS:
            return Routed(waits=tuple(order(found, message)), reminder=reminder(ranked))
        taken = await self._offer(ranked, message) if ranked else None
        everything = tuple(order(found, message))
        if taken is not None:
            return Routed(taken=taken, waits=everything)
        return Routed(waits=everything, reminder=reminder(ranked or everything, set_aside=not ranked))

    async def _offer(self, ranked: list[Waiting], message: Message) -> Taken | None:
        async with self._sessions() as session, session.begin():
            return await session.run_sync(lambda sync: self._take(sync, ranked, message))

    def _take(self, session: Session, ranked: list[Waiting], message: Message) -> Taken | None:
        for wait in ranked:
            taken = self._sources[wait.kind].take(session, wait, message)
            if taken is not None:
                log.info("message attached", extra={"wait": wait.kind, "reference": wait.reference})
                return taken
        return None

    async def _set_aside(self, message: Message, waits: list[Waiting]) -> None:
        if not waits:
            return
        async with self._sessions() as session, session.begin():
            await session.run_sync(lambda sync: set_aside(sync, openid=message.openid, waits=waits, now=message.now))

    async def _step_out(self, message: Message, ranked: list[Waiting], *, stepping: str) -> Routed:
        greedy = [wait for wait in ranked if wait.greedy]
        await self._set_aside(message, greedy)
        if not greedy:
            return Routed(waits=tuple(ranked))
        lines = ["好的，请说您的新问题。" if stepping not in CANCEL else "好的，已暂停。"]
        lines += [f"{wait.label}；需要时回复“继续”。" for wait in greedy]
        return Routed(taken=Taken("\n".join(lines)), waits=tuple(ranked))

    async def _step_back(self, message: Message, parked: list[Waiting]) -> Routed:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(SetAside).where(SetAside.openid == message.openid))
        first = parked[0]
        hint = "请直接发送（文字、图片、语音或文件均可）。" if first.kind == "supplement" else ""
        return Routed(taken=Taken(f"好的。{first.label}。{hint}".rstrip()), waits=tuple(parked))


def set_aside(session: Session, *, openid: str, waits: list[Waiting], now: datetime) -> None:
    """Remember that the enterprise stepped out of these waits (kept until a new request changes the key)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for wait in waits:
        insert = dialect.insert(SetAside).values(openid=openid, key=wait.key, at=now)
        session.execute(insert.on_conflict_do_nothing())


def _draft_first(waits: list[Waiting]) -> bool:
    """A draft is being filed: its own "取消" drops it (the draft handles the word)."""
    return any(wait.kind == "draft" for wait in waits)
