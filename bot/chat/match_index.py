"""The live match index: the Matcher every request uses, rebuilt in the background when its sources change.

Sources: the published, currently valid policies; the routing table's categories; the shipped lexicon
merged with the admins' synonym groups. A request reads `index.matcher` once (one attribute read),
so it never sees a half-built index: a rebuild happens in a thread on its own objects and the new
Matcher replaces the old one in a single assignment.

How a change is noticed:
- `notify_changed()`, awaited by the admin console after it commits: rebuilds here at once and tells
  the other processes through Redis pub/sub (when Redis is configured);
- a poll of a cheap version of the sources every `interval` seconds, which also covers writers that
  notify nobody (`appealbot policies import` from another process, on SQLite without Redis) and
  policies entering or leaving their validity window at midnight.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.platform import db
from bot.platform.broadcast import Broadcast
from intents.lexicon import Lexicon, load_lexicon
from intents.matcher import Matcher
from intents.records import CategoryDoc, PolicyDoc
from policies import service as policy_service
from routing import service as routing_service

log = logging.getLogger(__name__)

CHANNEL = "match:changed"
POLL_SECONDS = 2.0
# Messages matched once after each build, so that pinyin and OpenCC tables load before the first user.
WARM_UP = ("稳岗返还怎么申请", "穩崗返還", "窗口态度太差，跑了好几趟", "我反映的问题有进展吗")


@dataclass(frozen=True)
class Sources:
    """Everything a Matcher is built from, read in one session."""

    policies: list[PolicyDoc]
    categories: list[CategoryDoc]
    groups: list[list[str]]
    fallback_category: str | None = None


def read_sources(engine: Engine, *, timezone: str) -> Sources:
    """Published policies valid today, the routing table's categories and the admins' synonym groups."""
    today = datetime.now(ZoneInfo(timezone)).date()
    with db.session_factory(engine)() as session:
        policies = policy_service.published_docs(session=session, today=today)
        categories = routing_service.category_docs(session=session)
        reader = getattr(policy_service, "lexicon_groups", None)
        groups = [list(group) for group in reader(session=session)] if callable(reader) else []
        # The routing table's default category for appeals that name none, when routing offers it.
        default = getattr(routing_service, "default_category", None)
        fallback = default(session=session) if callable(default) else None
    codes = {category.code for category in categories}
    fallback_code = getattr(fallback, "code", fallback)
    return Sources(
        policies=policies,
        categories=categories,
        groups=groups,
        fallback_category=fallback_code if fallback_code in codes else None,
    )


def build_matcher(engine: Engine, *, timezone: str, lexicon: Lexicon | None = None) -> Matcher:
    """A matcher over the database's current sources (the shipped lexicon plus the admins' groups)."""
    sources = read_sources(engine, timezone=timezone)
    merged = (lexicon or load_lexicon()).with_groups(sources.groups)
    matcher = Matcher(sources.policies, sources.categories, lexicon=merged, fallback_category=sources.fallback_category)
    for text in WARM_UP:
        matcher.match(text)
    return matcher


def source_version(engine: Engine, *, timezone: str) -> str:
    """A short string that changes when policies, the lexicon or the routing table change, or the day turns."""
    today = datetime.now(ZoneInfo(timezone)).date().isoformat()
    with db.session_factory(engine)() as session:
        reader = getattr(policy_service, "catalog_version", None)
        catalog = str(reader(session=session)) if callable(reader) else str(policy_service.count(session=session))
        routing = hashlib.sha1(repr(routing_service.category_docs(session=session)).encode()).hexdigest()[:12]
    return f"{today}|{catalog}|r{routing}"


class MatchIndex:
    """Holds the current Matcher of this process and keeps it up to date."""

    def __init__(
        self,
        *,
        database_url: str,
        timezone: str,
        broadcast: Broadcast | None = None,
        interval: float = POLL_SECONDS,
    ) -> None:
        self._database_url = database_url
        self._timezone = timezone
        self._broadcast = broadcast
        self._interval = interval
        self._engine: Engine | None = None
        self._matcher: Matcher | None = None
        self._version = ""
        self._lexicon = load_lexicon()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._me = secrets.token_hex(8)
        self.builds = 0
        self.built_at = 0.0

    @property
    def matcher(self) -> Matcher:
        """The current matcher; load() must have run."""
        if self._matcher is None:
            raise RuntimeError("the match index is not loaded")
        return self._matcher

    @property
    def version(self) -> str:
        """The version of the sources the current matcher was built from."""
        return self._version

    def swap(self, matcher: Matcher) -> None:
        """Serve this matcher from now on (one assignment: readers see the old one or the new one)."""
        self._matcher = matcher

    def _engine_now(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self._database_url)
        return self._engine

    def _build(self) -> tuple[str, Matcher, float]:
        engine = self._engine_now()
        started = time.perf_counter()
        version = source_version(engine, timezone=self._timezone)
        matcher = build_matcher(engine, timezone=self._timezone, lexicon=self._lexicon)
        return version, matcher, time.perf_counter() - started

    def load(self) -> None:
        """Build the first matcher (blocking; call it at start-up, before the first message)."""
        version, matcher, seconds = self._build()
        self._version, self._matcher = version, matcher
        self.builds += 1
        self.built_at = time.time()
        log.info("match index loaded", extra={"policies": len(matcher.policies), "seconds": round(seconds, 2)})

    async def refresh(self, *, force: bool = False) -> bool:
        """Rebuild in a thread when the sources' version moved (or when forced); True if a new matcher is served."""
        async with self._lock:
            if not force:
                version = await asyncio.to_thread(source_version, self._engine_now(), timezone=self._timezone)
                if version == self._version:
                    return False
            version, matcher, seconds = await asyncio.to_thread(self._build)
            self._version = version
            self.swap(matcher)
            self.builds += 1
            self.built_at = time.time()
        log.info("match index rebuilt", extra={"policies": len(matcher.policies), "seconds": round(seconds, 2)})
        return True

    async def notify_changed(self) -> None:
        """After a commit that changed policies, the lexicon or the routing table: rebuild here, tell the others."""
        await self.refresh(force=True)
        if self._broadcast is not None:
            try:
                await self._broadcast.publish(CHANNEL, self._me)
            except Exception:  # Redis down: the others still notice within one poll
                log.warning("match index: could not publish the change", exc_info=True)

    async def start(self) -> None:
        """Start polling the version and, with a broadcast, listening to other processes' notices."""
        self._tasks.append(asyncio.create_task(self._poll(), name="match-index-poll"))
        if self._broadcast is not None:
            self._tasks.append(asyncio.create_task(self._listen(self._broadcast), name="match-index-listen"))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("match index: refresh failed; serving the previous index")

    async def _listen(self, broadcast: Broadcast) -> None:
        async for sender in broadcast.listen(CHANNEL):
            if sender == self._me:
                continue
            try:
                await self.refresh(force=True)
            except Exception:
                log.exception("match index: rebuild after a notice failed; serving the previous index")

    async def close(self) -> None:
        """Stop the background tasks and release the engine."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._engine is not None:
            self._engine.dispose()
