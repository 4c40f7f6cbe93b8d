"""Bounded work for requests anyone can send: a few run at once (CPU work in threads), a few wait, the rest refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Too many of these requests are waiting already; the caller answers 503 at once instead of queueing."""


class Gate:
    """At most `workers` calls run at once and `queue` more wait; any further call raises Busy.

    CPU-heavy work (argon2, matching) never runs on the event loop, so WeChat messages keep being answered
    however many hostile requests arrive; refusing beyond the queue keeps their waiting bounded too.
    """

    def __init__(self, *, workers: int, queue: int) -> None:
        self._running = asyncio.Semaphore(workers)
        self._limit = workers + queue
        self._inside = 0

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._inside >= self._limit:
            raise Busy
        self._inside += 1
        try:
            async with self._running:
                yield
        finally:
            self._inside -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """work() in a thread once a slot is free; Busy when the queue is full."""
        async with self._slot():
            return await asyncio.to_thread(work)

    async def wait(self, work: Callable[[], Awaitable[T]]) -> T:
        """await work() (which runs its CPU part off the loop itself) once a slot is free; Busy when full."""
        async with self._slot():
            return await work()
