"""The cache: Redis in production, an in-process store by default (bot/broadcast.py holds Redis pub/sub).

It holds only what can be rebuilt: dedup claims, replies kept for retries, dialogue state,
the WeChat access token and locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class Cache(Protocol):
    backend: str

    @property
    def degraded(self) -> bool:
        """Whether the cache is unreachable now (reads miss, so callers ask the database instead)."""
        ...

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None: ...
    async def set_nx(self, key: str, value: str, *, ttl: float) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, *, ttl: float) -> int: ...
    def lock(self, name: str, *, timeout: float) -> AbstractAsyncContextManager[None]: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class MemoryCache:
    """A dict with expiry: correct for one process, which is what the embedded default runs."""

    backend = "memory"
    degraded = False

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._writes = 0

    def _live(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    def _sweep(self) -> None:
        # Drop expired keys now and then so that a long-running server does not grow without bound.
        self._writes += 1
        if self._writes % 1000 == 0:
            now = time.monotonic()
            for key in [k for k, (_, exp) in self._values.items() if exp is not None and exp <= now]:
                del self._values[key]

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        self._sweep()
        self._values[key] = (value, time.monotonic() + ttl if ttl else None)

    async def set_nx(self, key: str, value: str, *, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, ttl=ttl)
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def incr(self, key: str, *, ttl: float) -> int:
        """Add one to a counter that starts at 0 and expires `ttl` seconds after its first increment."""
        item = self._values.get(key) if self._live(key) is not None else None
        count = int(item[0]) + 1 if item else 1
        expires = item[1] if item else time.monotonic() + ttl
        self._values[key] = (str(count), expires)
        return count

    @asynccontextmanager
    async def lock(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with asyncio.timeout(timeout):
            await lock.acquire()
        try:
            yield
        finally:
            lock.release()

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._values.clear()


class RedisCache:
    """Redis with a key prefix, shared by every app instance and worker.

    When Redis is down the bot keeps answering: reads miss, writes are dropped, claims are granted
    (the database's unique keys still decide what is new) and locks are held in this process only.
    After a failure Redis is not asked again for RETRY_SECONDS (a stopped or hung Redis costs one timeout,
    not one per call).
    """

    backend = "redis"
    RETRY_SECONDS = 1.0

    def __init__(self, url: str, *, prefix: str) -> None:
        self._redis = aioredis.Redis.from_url(
            url, decode_responses=True, health_check_interval=30, socket_connect_timeout=1, socket_timeout=2
        )
        self._prefix = prefix
        self._local = MemoryCache()  # locks while Redis is unreachable
        self._down_until = 0.0

    def _key(self, key: str) -> str:
        return self._prefix + key

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _down(self, action: str, error: Exception) -> None:
        if not self.degraded:
            log.warning("redis unavailable; continuing without it", extra={"action": action, "error": str(error)})
        self._down_until = time.monotonic() + self.RETRY_SECONDS

    async def get(self, key: str) -> str | None:
        if self.degraded:
            return None
        try:
            value = await self._redis.get(self._key(key))
        except (aioredis.RedisError, OSError) as exc:
            self._down("get", exc)
            return None
        return value if value is None else str(value)

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        if self.degraded:
            return
        try:
            await self._redis.set(self._key(key), value, px=int(ttl * 1000) if ttl else None)
        except (aioredis.RedisError, OSError) as exc:
            self._down("set", exc)

    async def set_nx(self, key: str, value: str, *, ttl: float) -> bool:
        if self.degraded:
            return True
        try:
            return bool(await self._redis.set(self._key(key), value, nx=True, px=int(ttl * 1000)))
        except (aioredis.RedisError, OSError) as exc:
            self._down("set_nx", exc)
            return True

    async def incr(self, key: str, *, ttl: float) -> int:
        """Add one to a shared counter that expires `ttl` seconds after its first increment; 0 when Redis is down."""
        if self.degraded:
            return 0
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key(key), 0, nx=True, px=int(ttl * 1000))  # the expiry, on the first increment only
                pipe.incr(self._key(key))
                _, count = await pipe.execute()
            return int(count)
        except (aioredis.RedisError, OSError) as exc:
            self._down("incr", exc)
            return 0

    async def delete(self, key: str) -> None:
        if self.degraded:
            return
        try:
            await self._redis.delete(self._key(key))
        except (aioredis.RedisError, OSError) as exc:
            self._down("delete", exc)

    @asynccontextmanager
    async def lock(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        # The lock expires on its own if its holder dies, so a crashed process never blocks the rest.
        lock = self._redis.lock(self._key("lock:" + name), timeout=timeout, blocking_timeout=timeout)
        try:
            if self.degraded:
                raise aioredis.ConnectionError("redis marked down")
            acquired = await lock.acquire()
        except (aioredis.RedisError, OSError) as exc:
            self._down("lock", exc)
            async with self._local.lock(name, timeout=timeout):
                yield
            return
        if not acquired:
            raise TimeoutError(f"lock {name} not acquired within {timeout} s")
        try:
            yield
        finally:
            # It may have expired while held; another holder may have it now.
            with contextlib.suppress(aioredis.RedisError, OSError):
                await lock.release()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(url: str, *, prefix: str) -> MemoryCache | RedisCache:
    """Redis when a URL is configured, else the in-process cache."""
    return RedisCache(url, prefix=prefix) if url else MemoryCache()
