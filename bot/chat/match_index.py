"""The live match index: the Matcher every request uses, rebuilt in the background when its sources change.

Sources: the published, currently valid policies; the routing table's categories; the shipped lexicon
merged with the admins' synonym groups. A request reads `index.matcher` once (one attribute read),
so it never sees a half-built index: a rebuild happens in a thread on its own objects and the new
Matcher replaces the old one in a single assignment.

The semantic layer (`[matching] embedder`): policy and category vectors are computed in the build thread
and cached by content hash (one changed policy re-embeds one policy); the labelled examples of
routing.examples teach intent, category and unit. A new example (a unit's 签收, 区营商办's 转派) is served
at once with the classifiers fitted before, which already weigh the nearest examples; the classifiers are
refitted in the background and swapped in when ready. Matching runs in this index's thread pool, never on
the event loop.

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
import functools
import hashlib
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.chat.learning import learned_matcher, open_semantic
from bot.platform import db
from bot.platform.broadcast import Broadcast
from intents.embedding import EmbedderChoice
from intents.lexicon import Lexicon, load_lexicon
from intents.matcher import Matcher, Semantic
from intents.records import CategoryDoc, Example, Intent, MatchResult, PolicyDoc
from policies import service as policy_service
from routing import examples as example_store
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
    examples: list[Example] = field(default_factory=list)


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
        examples = example_store.example_docs(session=session)
    codes = {category.code for category in categories}
    fallback_code = getattr(fallback, "code", fallback)
    return Sources(
        policies=policies,
        categories=categories,
        groups=groups,
        fallback_category=fallback_code if fallback_code in codes else None,
        examples=examples,
    )


def build_matcher(
    engine: Engine,
    *,
    timezone: str,
    lexicon: Lexicon | None = None,
    semantic: Semantic | None = None,
    cache_dir: Path | None = None,
    fit: bool = True,
) -> Matcher:
    """A matcher over the database's current sources (the shipped lexicon plus the admins' groups, the examples)."""
    sources = read_sources(engine, timezone=timezone)
    merged = (lexicon or load_lexicon()).with_groups(sources.groups)
    matcher = Matcher(
        sources.policies,
        sources.categories,
        lexicon=merged,
        fallback_category=sources.fallback_category,
        semantic=semantic,
    )
    matcher = learned_matcher(matcher, sources.examples, cache_dir=cache_dir, fit=fit)
    for text in WARM_UP:
        matcher.match(text)
    return matcher


def source_version(engine: Engine, *, timezone: str) -> str:
    """Changes when policies, the lexicon, the routing table or the examples change, or when the day turns."""
    today = datetime.now(ZoneInfo(timezone)).date().isoformat()
    with db.session_factory(engine)() as session:
        reader = getattr(policy_service, "catalog_version", None)
        catalog = str(reader(session=session)) if callable(reader) else str(policy_service.count(session=session))
        routing = hashlib.sha1(repr(routing_service.category_docs(session=session)).encode()).hexdigest()[:12]
        examples = example_store.version(session=session)
    return f"{today}|{catalog}|r{routing}|{examples}"


def _catalog_part(version: str) -> str:
    """The part of a source version that the lexical and dense indexes depend on (not the examples)."""
    return version.rsplit("|", 1)[0]


class MatchIndex:
    """Holds the current Matcher of this process and keeps it up to date."""

    def __init__(
        self,
        *,
        database_url: str,
        timezone: str,
        broadcast: Broadcast | None = None,
        interval: float = POLL_SECONDS,
        embedder: str = "none",
        workers: int = 2,
        cache_dir: Path | None = None,
    ) -> None:
        self._cache_dir = cache_dir
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
        self._wanted = embedder
        self._semantic: Semantic | None = None
        self._choice: EmbedderChoice | None = None
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="match")
        self._refit: asyncio.Task[None] | None = None
        self._unfitted = False
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

    def status(self) -> dict[str, Any]:
        """The semantic layer's state, for /healthz: what was asked for, what runs, and why not when it does not."""
        choice = self._choice
        matcher = self._matcher
        return {
            "embedder": choice.name if choice else "none",
            "configured": self._wanted,
            "mode": matcher.mode if matcher else "loading",
            "fallback": bool(choice and choice.problem),
            "problem": choice.problem if choice else "",
            "examples": len(matcher.examples) if matcher and matcher.examples else 0,
            "policies": len(matcher.policies) if matcher else 0,
        }

    def swap(self, matcher: Matcher) -> None:
        """Serve this matcher from now on (one assignment: readers see the old one or the new one)."""
        self._matcher = matcher

    async def match(self, text: str, *, intent: Intent | None = None) -> MatchResult:
        """Match one message in the index's threads (embedding and classifying never run on the event loop)."""
        matcher = self.matcher
        call = functools.partial(matcher.match, text, intent=intent)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _engine_now(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self._database_url)
        return self._engine

    def _semantic_now(self) -> Semantic | None:
        if self._choice is None:
            self._semantic, self._choice = open_semantic(self._wanted)
        return self._semantic

    def _build(self, *, quick: bool = False, fit: bool = True) -> tuple[str, Matcher, float, bool]:
        """(version, matcher, seconds, fitted): a new matcher; `quick` reuses the catalog and the fit when it can."""
        engine = self._engine_now()
        started = time.perf_counter()
        semantic = self._semantic_now()
        version = source_version(engine, timezone=self._timezone)
        current = self._matcher
        # The classifiers are refitted when the examples change; a catalog change keeps them (it weighs little).
        kept = current is not None and (current.learned is not None or semantic is None)
        fitted = kept and version.rsplit("|", 1)[-1] == self._version.rsplit("|", 1)[-1]
        if quick and current is not None and _catalog_part(version) == _catalog_part(self._version):
            sources = read_sources(engine, timezone=self._timezone)
            matcher = current.learn(sources.examples, refit=False, learned=current.learned)
            return version, matcher, time.perf_counter() - started, fitted
        if quick and current is not None and current.learned is not None:
            sources = read_sources(engine, timezone=self._timezone)
            merged = self._lexicon.with_groups(sources.groups)
            fresh = Matcher(
                sources.policies,
                sources.categories,
                lexicon=merged,
                fallback_category=sources.fallback_category,
                semantic=semantic,
            )
            matcher = fresh.learn(sources.examples, refit=False, learned=current.learned)
            return version, matcher, time.perf_counter() - started, fitted and matcher.learned is not None
        matcher = build_matcher(
            engine,
            timezone=self._timezone,
            lexicon=self._lexicon,
            semantic=semantic,
            cache_dir=self._cache_dir,
            fit=fit,
        )
        return version, matcher, time.perf_counter() - started, matcher.learned is not None or semantic is None

    def load(self, *, fit: bool = True) -> None:
        """Build the first matcher (blocking; call it at start-up, before the first message).

        With `fit=False` (the server) classifiers not found in the fit cache are fitted after start(), in the
        background; until then intent and category come from the cue rules.
        """
        version, matcher, seconds, fitted = self._build(fit=fit)
        self._version, self._matcher = version, matcher
        self._unfitted = not fitted
        self.builds += 1
        self.built_at = time.time()
        log.info(
            "match index loaded",
            extra={"policies": len(matcher.policies), "seconds": round(seconds, 2), **self.status()},
        )

    async def refresh(self, *, force: bool = False) -> bool:
        """Rebuild when the sources' version moved (or when forced); True if a new matcher is served.

        The new catalog or examples are served at once with the classifiers fitted before; a refit follows in
        the background when the examples or the catalog they were fitted on changed.
        """
        loop = asyncio.get_running_loop()
        async with self._lock:
            if not force:
                version = await asyncio.to_thread(source_version, self._engine_now(), timezone=self._timezone)
                if version == self._version:
                    return False
            version, matcher, seconds, fitted = await loop.run_in_executor(
                None, functools.partial(self._build, quick=True)
            )
            self._version = version
            self.swap(matcher)
            self.builds += 1
            self.built_at = time.time()
        log.info("match index rebuilt", extra={"policies": len(matcher.policies), "seconds": round(seconds, 2)})
        if not fitted and matcher.semantic is not None:
            self._schedule_refit(version)
        return True

    def _schedule_refit(self, version: str) -> None:
        if self._refit is not None and not self._refit.done():
            self._refit.cancel()
        self._refit = asyncio.create_task(self._refit_for(version), name="match-index-refit")

    async def _refit_for(self, version: str) -> None:
        """Fit the classifiers on the current examples and catalog, and serve them if nothing changed meanwhile."""
        try:
            _version, matcher, seconds, _fitted = await asyncio.to_thread(self._build)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("match index: refit failed; serving the previous classifiers")
            return
        async with self._lock:
            if self._version != version:
                return
            self.swap(matcher)
        log.info("match index refitted", extra={"examples": len(matcher.examples or ()), "seconds": round(seconds, 2)})

    async def notify_changed(self) -> None:
        """After a commit that changed what matching reads: rebuild here, tell the other processes."""
        await self.refresh(force=True)
        if self._broadcast is not None:
            try:
                await self._broadcast.publish(CHANNEL, self._me)
            except Exception:  # Redis down: the others still notice within one poll
                log.warning("match index: could not publish the change", exc_info=True)

    async def start(self) -> None:
        """Start polling the version and, with a broadcast, listening to other processes' notices."""
        if self._unfitted:
            self._schedule_refit(self._version)
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
        """Stop the background tasks and release the engine and the threads."""
        tasks = [*self._tasks, *([self._refit] if self._refit is not None else [])]
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            self._engine.dispose()
