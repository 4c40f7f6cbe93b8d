"""Exactly once, never late: every inbound message is processed once and answered within the budget.

WeChat retries a request up to three times when it hears nothing within 5 s. The first delivery
claims the message (atomically, in the cache, backed by a unique key in the database); every other
delivery waits for the first one's answer and repeats it. A reply not ready within the budget is
answered "success" at once and sent afterwards as a customer-service message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import messages
from bot.chat.dialogue import Dialogue
from bot.chat.models import Channel, OutboundStatus
from bot.platform import metrics
from bot.platform.cache import Cache
from bot.wechat.api import OUTSIDE_WINDOW, WeChatApi, WeChatApiError
from bot.wechat.protocol import Inbound, text_reply

log = logging.getLogger(__name__)

SUCCESS = "success"
PENDING = "pending"  # the dedup claim's value until the first answer is published
POLL_SECONDS = 0.02
FAILED = "抱歉，系统处理您的消息时出了问题，我们已记录，工作人员会尽快跟进。您也可以稍后再试。"


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

    async def answer(self, inbound: Inbound, *, started: float) -> str:
        """The plain reply XML for WeChat's HTTP request, or "success"."""
        deadline = started + self.budget
        key = inbound.dedup_key
        if not await self.cache.set_nx("dedup:" + key, PENDING, ttl=self.dedup_ttl):
            metrics.DUPLICATES.inc()
            return await self._answer_of_first(key, deadline)
        try:
            inbound_id = await messages.save_inbound(self.engine, inbound)
        except messages.Duplicate:
            metrics.DUPLICATES.inc()  # the cache had forgotten it; the database had not
            return await self._answer_of_first(key, deadline)
        except BaseException:
            await self.cache.delete("dedup:" + key)  # let WeChat's retry try again
            raise
        work = asyncio.ensure_future(self._respond(inbound, inbound_id))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            metrics.LATE_REPLIES.inc()
            await self._publish(key, SUCCESS)
            await messages.finish(
                self.engine,
                inbound_id=inbound_id,
                openid=inbound.openid,
                response=SUCCESS,
                reply=None,
                channel=Channel.NONE,
                status=OutboundStatus.PENDING,
            )
            self._spawn(self._deliver_later(inbound, inbound_id, work))
            return SUCCESS
        response = text_reply(inbound, reply) if reply else SUCCESS
        await messages.finish(
            self.engine,
            inbound_id=inbound_id,
            openid=inbound.openid,
            response=response,
            reply=reply,
            channel=Channel.PASSIVE,
            status=OutboundStatus.SENT,
        )
        await self._publish(key, response)
        return response

    async def _respond(self, inbound: Inbound, inbound_id: int) -> str | None:
        """The dialogue's reply; a failure in it still gets the user an answer, and the log the details."""
        try:
            return await self.dialogue.respond(inbound)
        except Exception:
            log.exception("processing a message failed", extra={"inbound_id": inbound_id})
            metrics.FAILURES.inc()
            return FAILED

    async def _publish(self, key: str, response: str) -> None:
        await self.cache.set("resp:" + key, response, ttl=self.dedup_ttl)

    async def _answer_of_first(self, key: str, deadline: float) -> str:
        """Wait (within the budget) for the first delivery's answer and repeat it."""
        while True:
            response = await self.cache.get("resp:" + key)
            if response is not None:
                return response
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
        stored = await messages.stored_response(self.engine, key)
        return stored or SUCCESS

    async def _deliver_later(self, inbound: Inbound, inbound_id: int, work: asyncio.Future[str | None]) -> None:
        reply = await work
        await messages.mark_processed(self.engine, inbound_id)
        if not reply:
            return
        outbound_id = await messages.add_outbound(
            self.engine, openid=inbound.openid, text=reply, channel=Channel.CUSTOMER_SERVICE, inbound_id=inbound_id
        )
        await deliver(self.engine, self.api, outbound_id=outbound_id, openid=inbound.openid, text=reply)


async def deliver(engine: AsyncEngine, api: WeChatApi, *, outbound_id: int, openid: str, text: str) -> bool:
    """Send a stored customer-service message and record the outcome; True when WeChat accepted it."""
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
    try:
        result = await api.send_text(openid=openid, text=text)
    except WeChatApiError as exc:
        log.warning("customer-service send failed; the worker will retry", extra={"error": str(exc)})
        await messages.record_delivery(engine, outbound_id=outbound_id, status=OutboundStatus.PENDING, error=str(exc))
        return False
    if result.ok:
        await messages.record_delivery(engine, outbound_id=outbound_id, status=OutboundStatus.SENT)
        metrics.PUSHES.labels(OutboundStatus.SENT).inc()
        return True
    # Outside the 48-hour window (45015) or unfollowed: keep it for staff, who can phone the enterprise.
    status = OutboundStatus.UNDELIVERED if result.permanent else OutboundStatus.FAILED
    await messages.record_delivery(
        engine, outbound_id=outbound_id, status=status, error_code=result.errcode, error=result.errmsg
    )
    metrics.PUSHES.labels(status).inc()
    return False
