"""The FastAPI app: the lifespan owns the engine, the cache and the worker; routes are added here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.jobs import worker
from bot.platform.logs import request_id
from bot.platform.settings import Settings
from bot.services import Services, open_services
from bot.web import callback, simulator
from bot.web.deps import ServicesDep
from bot.web.gate import Busy, Gate
from bot.wechat.standin import StandIn, standin_app
from enterprises import uscc
from policies import eligible

log = logging.getLogger(__name__)


class RequestContext:
    """Give every request an id (X-Request-ID, or a new one) for the logs and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given[:64] if given else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if status >= 400 or log.isEnabledFor(logging.DEBUG):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
            request_id.reset(token)


class MatchRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    uscc: str | None = Field(default=None, max_length=64, description="an enterprise: adds `eligible` per policy")


router = APIRouter()


async def _database_ok(services: Services) -> bool:
    try:
        async with asyncio.timeout(3), services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error (or no answer) means "down"
        log.warning("health check: database unreachable", extra={"error": str(exc)})
        return False
    return True


async def _health(services: Services) -> dict[str, Any]:
    database_ok = await _database_ok(services)
    cache_ok = await services.cache.ping()
    return {
        # "degraded": Redis is down; the bot keeps answering (claims, locks and counters fall back in-process).
        "status": "unavailable" if not database_ok else "ok" if cache_ok else "degraded",
        "database": {"ok": database_ok, "backend": services.engine.dialect.name},
        "redis": {"ok": cache_ok, "backend": services.cache.backend},
        "single_instance": services.settings.app.single_instance,
        # The semantic layer: a fallback to lexical matching is reported here, not an error (status stays ok).
        "matching": services.match_index.status(),
    }


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    """Liveness: 200 while this process serves requests, with what is degraded (Redis down, database down)."""
    return JSONResponse(await _health(services))


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: 503 while the database does not answer (Redis down is degraded, not unready)."""
    body = await _health(services)
    return JSONResponse(body, status_code=503 if body["status"] == "unavailable" else 200)


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    # Production keeps metrics off the public port: web.metrics_bind serves them on a listener of their own.
    if services.settings.app.env == "production":
        raise HTTPException(404, "Not Found")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.post("/api/match")
async def match(item: MatchRequest, request: Request, services: ServicesDep) -> dict[str, Any]:
    """What the engine understands of a message, as in docs/interfaces.md (with `eligible` for an enterprise)."""
    settings = services.settings
    if settings.app.env == "production" and not settings.web.match_api:
        raise HTTPException(404, "Not Found")
    matcher = services.matcher
    gate: Gate = request.app.state.match_gate
    # The index runs matching in its threads; the gate bounds how many of these requests wait for them, so
    # callers of this API cannot queue up ahead of WeChat messages without limit.
    try:
        result = await gate.wait(lambda: services.match_index.match(item.text))
    except Busy:
        raise HTTPException(503, "系统繁忙，请稍后再试") from None
    if not item.uscc:
        return result.to_dict()
    code = uscc.normalize(item.uscc)
    reason = uscc.problem(code)
    if reason:
        raise HTTPException(422, reason)
    async with services.sessions() as session:
        profile = await session.run_sync(lambda sync: eligible.profile_of(session=sync, uscc=code))
    if profile is None:
        raise HTTPException(404, f"企业库中没有统一社会信用代码为 {code} 的企业")
    today = datetime.now(ZoneInfo(settings.app.timezone)).date()
    return eligible.annotate(result.to_dict(), policy=matcher.policy, profile=profile, today=today)


def start_metrics(bind: str) -> Callable[[], None]:
    """Serve only the Prometheus metrics on host:port (web.metrics_bind); returns how to stop it."""
    host, _, port = bind.rpartition(":")
    server, thread = start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def _lifespan(
    settings: Settings, standin: StandIn, *, run_worker: bool, load_demo: bool, ready_message: str | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the services (and start the worker) before the first request; close them after the last."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        transport = httpx.ASGITransport(app=standin_app(standin)) if settings.simulator.enabled else None
        services = await open_services(settings, load_demo=load_demo, api_transport=transport)
        app.state.services = services
        stop_metrics = start_metrics(settings.web.metrics_bind) if settings.web.metrics_bind else None
        background = asyncio.create_task(worker.run(services)) if run_worker else None
        log.info(
            "appealbot ready",
            extra={
                "database": services.engine.dialect.name,
                "cache": services.cache.backend,
                "wechat_mode": settings.wechat.mode,
                "worker": "in-process" if run_worker else "separate",
                "single_instance": settings.app.single_instance,
                "metrics": settings.web.metrics_bind or ("off" if settings.app.env == "production" else "/metrics"),
            },
        )
        if settings.app.env == "production" and settings.app.single_instance:
            log.warning("production on purpose as a single instance (app.single_instance): run one process only")
        if ready_message:
            print(ready_message, flush=True)
        try:
            yield
        finally:
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            if stop_metrics is not None:
                stop_metrics()
            await services.close()

    return lifespan


def create_app(
    settings: Settings, *, run_worker: bool = True, load_demo: bool = True, ready_message: str | None = None
) -> FastAPI:
    """The web app. With the simulator enabled, outbound WeChat calls go to the built-in stand-in."""
    standin = StandIn()
    lifespan = _lifespan(settings, standin, run_worker=run_worker, load_demo=load_demo, ready_message=ready_message)
    # Production publishes no API description unless web.api_docs says so (Swagger UI would load from a CDN).
    docs = settings.app.env != "production" or settings.web.api_docs
    app = FastAPI(
        title="appealbot",
        lifespan=lifespan,
        docs_url="/api/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.match_gate = Gate(workers=settings.matching.workers, queue=2 * settings.matching.workers)
    app.add_middleware(RequestContext)
    app.include_router(callback.router)
    app.include_router(router)
    if settings.simulator.enabled:
        simulator.mount(app, standin, settings.wechat)
    # -- login and the admin console at /admin/ (bot/web/auth.py, bot/web/admin/) --
    from bot.web import admin

    admin.mount(app)
    # -- end --
    # -- the staff console at /console/ (bot/web/console/) --
    from bot.web import console

    console.mount(app)
    # -- end --
    return app
