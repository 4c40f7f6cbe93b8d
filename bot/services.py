"""What the app and the worker share for their lifetime: engine, cache, WeChat codec and client, the dialogue."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.inbox import Inbox
from bot.chat.learning import fit_cache_dir
from bot.chat.match_index import MatchIndex, build_matcher
from bot.chat.rate_limit import RateLimitedDialogue
from bot.platform import db
from bot.platform.broadcast import Broadcast
from bot.platform.cache import MemoryCache, RedisCache, make_cache
from bot.platform.settings import Settings
from bot.wechat.api import WeChatApi
from bot.wechat.protocol import Codec
from intents.matcher import Matcher
from policies import service as policy_service
from routing import examples as example_store
from routing import service as routing_service

__all__ = ["Services", "build_matcher", "open_services", "prepare_database"]

log = logging.getLogger(__name__)


def prepare_database(engine: Engine, *, load_demo: bool) -> None:
    """Migrate to head; load the seed's routing table, and the demo policy list if asked, into empty tables.

    Under the start-up lock: processes started together (app instances, workers) do this one at a time, and
    the later ones find the tables filled.
    """
    with db.startup_lock(engine):
        db.migrate(engine)
        with db.transaction(db.session_factory(engine)) as session:
            if routing_service.ensure_default_table(session=session):
                log.info("loaded the default routing table")
            seeded = example_store.ensure_seeded(session=session, now=datetime.now(UTC))
            if seeded:
                log.info("loaded the seed examples of the matcher", extra={"examples": seeded})
            if load_demo:
                added = policy_service.load_demo(session=session)
                if added:
                    log.info("loaded the demo policy list", extra={"policies": added})


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: MemoryCache | RedisCache
    http: httpx.AsyncClient
    api: WeChatApi
    codec: Codec
    # -- the live match index (bot/match_index.py): `matcher` is always the current one --
    match_index: MatchIndex
    broadcast: Broadcast | None = None
    inbox: Inbox = field(init=False)

    @property
    def matcher(self) -> Matcher:
        """The matcher to use for this request (read it once per message)."""
        return self.match_index.matcher

    @matcher.setter
    def matcher(self, matcher: Matcher) -> None:
        self.match_index.swap(matcher)

    # -- end --

    def __post_init__(self) -> None:
        dialogue = RateLimitedDialogue(
            limit=self.settings.wechat.rate_limit,
            window=self.settings.wechat.rate_window,
            matcher=lambda: self.matcher,
            run_match=self.match_index.match,
            cache=self.cache,
            engine=self.engine,
            state_ttl=self.settings.dialogue.state_ttl,
            timezone=self.settings.app.timezone,
        )
        self.inbox = Inbox(
            engine=self.engine,
            cache=self.cache,
            dialogue=dialogue,
            api=self.api,
            budget=self.settings.wechat.reply_budget,
            dedup_ttl=self.settings.wechat.dedup_ttl,
        )

    async def close(self) -> None:
        await self.match_index.close()
        if self.broadcast is not None:
            await self.broadcast.close()
        await self.inbox.drain()
        await self.http.aclose()
        await self.cache.close()
        await self.engine.dispose()


async def open_services(
    settings: Settings, *, load_demo: bool, api_transport: httpx.AsyncBaseTransport | None = None
) -> Services:
    """Migrate, load defaults and the match index, connect the cache; everything before the first message."""
    sync_engine = db.make_engine(settings.database_url)
    try:
        await asyncio.to_thread(db.wait_for_database, sync_engine, patience=settings.database.startup_wait)
        await asyncio.to_thread(prepare_database, sync_engine, load_demo=load_demo)
    finally:
        sync_engine.dispose()
    # jieba, the lexicon and the index load here, before the first message; then they follow every change.
    broadcast = Broadcast(settings.redis.url, prefix=settings.redis.prefix) if settings.redis.url else None
    match_index = MatchIndex(
        database_url=settings.database_url,
        timezone=settings.app.timezone,
        broadcast=broadcast,
        embedder=settings.matching.embedder,
        workers=settings.matching.workers,
        cache_dir=fit_cache_dir(settings.matching.cache_dir),
    )
    # A fit not cached yet follows in the background: the first answer does not wait for it.
    await asyncio.to_thread(match_index.load, fit=False)
    await match_index.start()
    cache = make_cache(settings.redis.url, prefix=settings.redis.prefix)
    if isinstance(cache, MemoryCache):
        log.warning("no Redis configured: using the in-process cache; run a single server process only")
    engine = db.make_async_engine(settings.database_url)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), transport=api_transport)
    wechat = settings.wechat
    api_base = "http://wechat-standin" if api_transport is not None else wechat.api_base
    return Services(
        settings=settings,
        engine=engine,
        sessions=db.async_session_factory(engine),
        cache=cache,
        http=http,
        api=WeChatApi(base=api_base, app_id=wechat.app_id, app_secret=wechat.app_secret, cache=cache, http=http),
        codec=Codec(
            token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode
        ),
        match_index=match_index,
        broadcast=broadcast,
    )
