"""Exactly once, never late, never lost: every inbound message is processed once and answered within the budget.

WeChat retries a request up to three times when it hears nothing within 5 s. The first delivery claims the
message (atomically, in the cache, backed by a unique key in the database; the stored row records which
processing attempt owns it); every other delivery waits for the first one's answer and repeats it. A reply not
ready within the budget is answered "success" at once and sent afterwards as a customer-service message.

Nothing is lost when a process or the database dies mid-way (bot/chat/recovery.py): a delivery whose processing
failed releases its claim and marks its attempt dead, so that WeChat's retry takes the stored message over; a
message nobody finished is taken over by the worker `recover_after` seconds later and its reply pushed. Writes of
an attempt that lost its message are refused (fenced by the attempt number), so a message is answered once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import messages, recovery
from bot.chat.dialogue import Dialogue
from bot.chat.models import Channel, OutboundStatus
from bot.platform import metrics
from bot.platform.cache import Cache
from bot.wechat.api import OUTSIDE_WINDOW, WeChatApi, WeChatApiError
from bot.wechat.protocol import Inbound, text_reply

log = logging.getLogger(__name__)

SUCCESS = "success"
PENDING = "pending"  # the dedup claim's value until the first answer is published
DONE = "done"  # the dedup claim's value once it is
POLL_SECONDS = 0.02
DB_POLL_SECONDS = 0.1  # polling the database instead, while the cache is down
LEASE_MARGIN = 0.5  # a retry takes over a message its owner held this long past the budget
DEAD_TTL = 600  # seconds a failed attempt's marker is kept for WeChat's retries (they come within 15 s)
MAX_ATTEMPTS = 5  # after this many attempts died, the user gets FAILED instead of one more try
STORE_TRIES = 60  # a known outcome is written again every STORE_PAUSE seconds while the database is away
STORE_PAUSE = 0.5
FAILED = "抱歉，系统处理您的消息时出了问题，我们已记录，工作人员会尽快跟进。您也可以稍后再试。"
RECEIVED = "您的消息已收到并记录。如需查看诉求进度，请发送“进度”。"
T = TypeVar("T")


def transient(exc: BaseException) -> bool:
    """A failure of the database connection (or the network), which a later attempt may not meet."""
    if isinstance(exc, IntegrityError):
        return False
    return isinstance(exc, DBAPIError | DisconnectionError | PoolTimeout | OSError | ConnectionError)


async def persist(write: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run a write, again while the database is away (a known outcome is worth waiting for); Superseded and other
    errors are raised at once, a transient one after STORE_TRIES."""
    for attempt in range(STORE_TRIES):
        try:
            return await write()
        except Exception as exc:
            if not transient(exc) or attempt == STORE_TRIES - 1:
                raise
            log.warning("database unavailable; writing again shortly", extra={"what": what, "error": str(exc)})
            await asyncio.sleep(STORE_PAUSE)
    raise AssertionError("unreachable")


@dataclass
class Inbox:
    engine: AsyncEngine
    cache: Cache
    dialogue: Dialogue
    api: WeChatApi
    budget: float
    dedup_ttl: float

    def __post_init__(self) -> None:
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for replies still being delivered (server shutdown, tests)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout)

    @property
    def lease(self) -> float:
        return self.budget + LEASE_MARGIN

    async def answer(self, inbound: Inbound, *, started: float) -> str:
        """The plain reply XML for WeChat's HTTP request, or "success"."""
        deadline = started + self.budget
        key = inbound.dedup_key
        # A claim for the budget only: if this process dies, the retry finds it expired (and the stored message).
        if not await self.cache.set_nx("dedup:" + key, PENDING, ttl=self.budget):
            metrics.DUPLICATES.inc()
            return await self._answer_of_first(inbound, deadline)
        try:
            inbound_id, attempt = await messages.save_inbound(self.engine, inbound), 1
        except messages.Duplicate:
            claim = await self._take_over(key)
            if claim is None:
                metrics.DUPLICATES.inc()  # the cache had forgotten it (or was down); the database had not
                return await self._answer_of_first(inbound, deadline)
            log.info("a retry took over a message its first delivery left", extra={"inbound_id": claim.inbound_id})
            if claim.attached_as or claim.attempt > MAX_ATTEMPTS:
                return await self._process(inbound, claim.inbound_id, claim.attempt, deadline, given=self._given(claim))
            inbound_id, attempt = claim.inbound_id, claim.attempt
        except BaseException:
            await self.cache.delete("dedup:" + key)  # let WeChat's retry try again
            raise
        return await self._process(inbound, inbound_id, attempt, deadline)

    async def _take_over(self, key: str) -> recovery.Claim | None:
        dead = await self.cache.get("dead:" + key)
        return await recovery.take_over(
            self.engine, dedup_key=key, dead_attempt=int(dead) if dead and dead.isdigit() else None, lease=self.lease
        )

    @staticmethod
    def _given(claim: recovery.Claim) -> str:
        # Its step committed before its owner died (it is attached): running it again would repeat the step.
        return RECEIVED if claim.attached_as else FAILED

    async def _process(
        self, inbound: Inbound, inbound_id: int, attempt: int, deadline: float, *, given: str | None = None
    ) -> str:
        key = inbound.dedup_key
        work = asyncio.ensure_future(self._respond(inbound, inbound_id, given=given))
        done, _ = await asyncio.wait({work}, timeout=max(0.0, deadline - time.monotonic()))
        if not done:
            return await self._late(inbound, inbound_id, attempt, work)
        try:
            reply = work.result()
        except Exception:
            # The dialogue lost the database: the stored message waits for WeChat's retry (or the worker).
            await self.cache.delete("dedup:" + key)
            await self.cache.set("dead:" + key, str(attempt), ttl=DEAD_TTL)
            raise
        response = text_reply(inbound, reply) if reply else SUCCESS
        try:
            await messages.finish(
                self.engine, inbound_id=inbound_id, attempt=attempt, openid=inbound.openid, response=response,
                reply=reply, channel=Channel.PASSIVE, status=OutboundStatus.SENT,
            )  # fmt: skip
        except messages.Superseded:
            log.warning("a message was taken over while answered; its new owner answers", extra={"id": inbound_id})
            return SUCCESS
        except Exception as exc:
            if not transient(exc):
                raise
            # The answer exists: give it now, note it for the worker, and store it when the database is back.
            log.warning("an answer could not be stored yet", extra={"inbound_id": inbound_id, "error": str(exc)})
            await self.cache.set("reply:" + key, reply or "", ttl=self.dedup_ttl)
            self._spawn(self._store_later(inbound, inbound_id, attempt, response, reply))
        await self._publish(key, response)
        return response

    async def _late(self, inbound: Inbound, inbound_id: int, attempt: int, work: asyncio.Future[str | None]) -> str:
        """Answer "success" now; the reply follows as a customer-service message."""
        metrics.LATE_REPLIES.inc()
        try:
            await messages.finish(
                self.engine, inbound_id=inbound_id, attempt=attempt, openid=inbound.openid, response=SUCCESS,
                reply=None, channel=Channel.NONE, status=OutboundStatus.PENDING,
            )  # fmt: skip
        except messages.Superseded:
            return SUCCESS
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("a late answer could not be stored", extra={"inbound_id": inbound_id, "error": str(exc)})
        await self._publish(inbound.dedup_key, SUCCESS)
        self._spawn(self._deliver_later(inbound, inbound_id, attempt, work))
        return SUCCESS

    async def _respond(self, inbound: Inbound, inbound_id: int, *, given: str | None = None) -> str | None:
        """The dialogue's reply; a failure in it still gets the user an answer, and the log the details; a lost
        database is raised (the message is tried again)."""
        if given is not None:
            return given
        try:
            return await self.dialogue.respond(inbound)
        except Exception as exc:
            if transient(exc):
                log.warning("processing a message lost the database", extra={"inbound_id": inbound_id})
                raise
            log.exception("processing a message failed", extra={"inbound_id": inbound_id})
            metrics.FAILURES.inc()
            return FAILED

    async def _publish(self, key: str, response: str) -> None:
        await self.cache.set("resp:" + key, response, ttl=self.dedup_ttl)
        await self.cache.set("dedup:" + key, DONE, ttl=self.dedup_ttl)

    async def _answer_of_first(self, inbound: Inbound, deadline: float) -> str:
        """Wait (within the budget) for the first delivery's answer and repeat it; with the cache down, the
        database's stored answer is read at once (and polled)."""
        key = inbound.dedup_key
        while True:
            if self.cache.degraded:
                response = await messages.stored_response(self.engine, key)
            else:
                response = await self.cache.get("resp:" + key)
            if response is not None:
                return response
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(DB_POLL_SECONDS if self.cache.degraded else POLL_SECONDS)
        stored = await messages.stored_response(self.engine, key)
        if stored:
            return stored
        # Nobody answered within a whole budget: if its owner is gone, take it over and answer it afterwards.
        claim = await self._take_over(key)
        if claim is not None:
            log.info("a retry took over a message nobody answered", extra={"inbound_id": claim.inbound_id})
            self._spawn(self._recover_logged(claim))
            return SUCCESS
        # The first delivery may have died before it stored the message: then this one stores it.
        try:
            inbound_id = await messages.save_inbound(self.engine, inbound)
        except messages.Duplicate:
            return SUCCESS  # stored, and answered or being answered
        log.info("a retry stored a message its first delivery never did", extra={"inbound_id": inbound_id})
        work = asyncio.ensure_future(self._respond(inbound, inbound_id))
        return await self._late(inbound, inbound_id, 1, work)

    async def _store_later(
        self, inbound: Inbound, inbound_id: int, attempt: int, response: str, reply: str | None
    ) -> None:
        """Store an answer already given, once the database is back."""
        try:
            await persist(
                lambda: messages.finish(
                    self.engine, inbound_id=inbound_id, attempt=attempt, openid=inbound.openid, response=response,
                    reply=reply, channel=Channel.PASSIVE, status=OutboundStatus.SENT,
                ),
                what="passive answer",
            )  # fmt: skip
        except messages.Superseded:
            return  # the worker found the answer noted in the cache and stored it
        except Exception:
            log.exception("an answer given could not be stored", extra={"inbound_id": inbound_id})
            return
        await self.cache.delete("reply:" + inbound.dedup_key)

    async def _deliver_later(
        self, inbound: Inbound, inbound_id: int, attempt: int, work: asyncio.Future[str | None]
    ) -> None:
        try:
            reply = await work
            await self._complete(inbound_id, attempt, inbound.openid, reply)
        except Exception:
            log.exception("a late reply failed; the worker will take the message over", extra={"id": inbound_id})

    async def _complete(self, inbound_id: int, attempt: int, openid: str, reply: str | None) -> None:
        """Record a late reply with the message (one transaction), then push it."""
        try:
            outbound_id = await persist(
                lambda: messages.finish_late(
                    self.engine, inbound_id=inbound_id, attempt=attempt, openid=openid, reply=reply
                ),
                what="late reply",
            )
        except messages.Superseded:
            log.warning("a late reply was dropped: its message was taken over", extra={"inbound_id": inbound_id})
            return
        if outbound_id is not None:
            await deliver(self.engine, self.api, outbound_id=outbound_id, openid=openid, text=reply or "")

    async def _recover_logged(self, claim: recovery.Claim) -> None:
        try:
            await self.recover(claim)
        except messages.Superseded:
            pass  # taken over again meanwhile: its new owner answers
        except Exception:
            log.exception("answering a message taken over failed", extra={"inbound_id": claim.inbound_id})

    async def recover(self, claim: recovery.Claim) -> None:
        """Answer a message taken over from a dead owner, once, through the customer-service path."""
        key = claim.inbound.dedup_key
        given = await self.cache.get("reply:" + key)
        if given is not None:  # its owner answered it but could not store the answer: store it, send nothing
            response = await self.cache.get("resp:" + key) or SUCCESS
            await messages.finish(
                self.engine, inbound_id=claim.inbound_id, attempt=claim.attempt, openid=claim.inbound.openid,
                response=response, reply=given or None, channel=Channel.PASSIVE, status=OutboundStatus.SENT,
            )  # fmt: skip
            await self.cache.delete("reply:" + key)
            return
        preset = self._given(claim) if claim.attached_as or claim.attempt > MAX_ATTEMPTS else None
        reply = await self._respond(claim.inbound, claim.inbound_id, given=preset)
        await self._complete(claim.inbound_id, claim.attempt, claim.inbound.openid, reply)


async def deliver(engine: AsyncEngine, api: WeChatApi, *, outbound_id: int, openid: str, text: str) -> bool:
    """Send a stored customer-service message and record the outcome; True when WeChat accepted it.

    The intent (SENDING) is committed before WeChat is called, the outcome after; a sender that dies between
    leaves it SENDING, which the worker settles as UNCERTAIN (bot/chat/recovery.py) instead of sending it again.
    """
    if await messages.is_unsubscribed(engine, openid):
        await messages.record_delivery(
            engine, outbound_id=outbound_id, status=OutboundStatus.UNDELIVERED, error="用户已取消关注"
        )
        return False
    if not await messages.within_window(engine, openid):
        await messages.record_delivery(
            engine,
            outbound_id=outbound_id,
            status=OutboundStatus.UNDELIVERED,
            error_code=OUTSIDE_WINDOW,
            error="超过48小时客服消息窗口",
        )
        return False
    if not await messages.mark_sending(engine, outbound_id=outbound_id):
        return False  # another sender has it
    try:
        result = await api.send_text(openid=openid, text=text)
    except WeChatApiError as exc:
        # A request that may have reached WeChat is not sent again (no idempotency key): staff see it unconfirmed.
        status = OutboundStatus.UNCERTAIN if exc.maybe_sent else OutboundStatus.PENDING
        log.warning("customer-service send failed", extra={"error": str(exc), "status": str(status)})
        await _record(engine, outbound_id=outbound_id, status=status, error=str(exc))
        return False
    if result.ok:
        await _record(engine, outbound_id=outbound_id, status=OutboundStatus.SENT)
        metrics.PUSHES.labels(OutboundStatus.SENT).inc()
        return True
    # Outside the 48-hour window (45015) or unfollowed: keep it for staff, who can phone the enterprise.
    status = OutboundStatus.UNDELIVERED if result.permanent else OutboundStatus.FAILED
    await _record(engine, outbound_id=outbound_id, status=status, error_code=result.errcode, error=result.errmsg)
    metrics.PUSHES.labels(status).inc()
    return False


async def _record(engine: AsyncEngine, **outcome: Any) -> None:
    # WeChat has answered: losing its answer now would leave the send in doubt, so the write waits for the database.
    await persist(lambda: messages.record_delivery(engine, **outcome), what="delivery outcome")
