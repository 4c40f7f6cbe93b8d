"""A per-openid rate limit in front of the dialogue: the excess is stored (the inbox did that) but not processed.

A sender over `limit` messages in `window` seconds gets a polite answer instead of the dialogue's; staff still
see every message in the conversation. Events (subscribe, menu clicks, location reports) are not counted.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.chat.dialogue import Dialogue
from bot.platform.cache import Cache
from bot.wechat.protocol import Inbound

log = logging.getLogger(__name__)

TOO_FAST = "您发送的消息过于频繁，请稍后再试；您的消息已记录。"


class RateLimitedDialogue(Dialogue):
    """The dialogue, answering TOO_FAST once an openid has sent more than `limit` messages in `window` seconds."""

    def __init__(self, *, limit: int, window: int, cache: Cache, **dialogue: Any) -> None:
        super().__init__(cache=cache, **dialogue)
        self._limit = limit
        self._window = window
        self._counters = cache

    async def respond(self, inbound: Inbound) -> str | None:
        if self._limit and inbound.msg_type != "event":
            # Counted after the inbox's dedup claim: WeChat's retries of one message count once.
            count = await self._counters.incr(f"rate:{inbound.openid}", ttl=self._window)
            if count > self._limit:
                log.info("message over the rate limit stored, not processed", extra={"count": count})
                return TOO_FAST
        return await super().respond(inbound)
