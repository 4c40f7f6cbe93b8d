"""Redis pub/sub between processes (app instances, workers, the CLI): short notices, no payload guarantees.

The cache (bot/cache.py) keeps keys; this module only publishes and listens. Without Redis there is
one process, and a notice is delivered to the listeners of this process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


class Broadcast:
    """Publish notices on a channel and listen to them; Redis when a URL is given, else in-process."""

    def __init__(self, url: str = "", *, prefix: str = "") -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=True) if url else None
        self._prefix = prefix
        self._local: dict[str, list[asyncio.Queue[str]]] = {}

    @property
    def shared(self) -> bool:
        """True when notices reach other processes."""
        return self._redis is not None

    async def publish(self, channel: str, message: str) -> None:
        """Send a notice to every listener of the channel (in every process with Redis)."""
        if self._redis is None:
            for queue in self._local.get(channel, []):
                queue.put_nowait(message)
            return
        await self._redis.publish(self._prefix + channel, message)

    async def listen(self, channel: str) -> AsyncIterator[str]:
        """Notices of the channel as they come, forever; reconnects after Redis errors."""
        if self._redis is None:
            queue: asyncio.Queue[str] = asyncio.Queue()
            self._local.setdefault(channel, []).append(queue)
            try:
                while True:
                    yield await queue.get()
            finally:
                self._local[channel].remove(queue)
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._prefix + channel)
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message.get("type") == "message":
                        yield str(message["data"])
            except (aioredis.RedisError, OSError) as exc:
                log.warning("broadcast: lost Redis, listening again", extra={"error": str(exc)})
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Release the Redis connection."""
        if self._redis is not None:
            await self._redis.aclose()
