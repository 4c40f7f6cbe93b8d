"""Instrument the dialogue of a running app: count how often it runs and slow it down (all messages or one type).

This wraps the real Dialogue.respond (it still computes the real reply); it is not a mock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.wechat.protocol import Inbound


class Instrumented:
    def __init__(self, app: FastAPI, *, delay: float, only: str | None = None, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.finished = threading.Event()
        self.replies: list[str | None] = []
        dialogue = app.state.services.inbox.dialogue
        original: Callable[[Inbound], Awaitable[str | None]] = dialogue.respond

        async def respond(inbound: Inbound) -> str | None:
            if only is not None and inbound.msg_type != only:
                return await original(inbound)
            self.calls.append(inbound.dedup_key)
            await asyncio.sleep(delay)
            if fail:
                raise RuntimeError("injected failure")
            reply = await original(inbound)
            self.replies.append(reply)
            self.finished.set()
            return reply

        dialogue.respond = respond
