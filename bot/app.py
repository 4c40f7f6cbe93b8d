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
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.jobs import worker
from bot.platform.logs import request_id
from bot.platform.settings import Settings
from bot.services import open_services
from bot.web import callback, simulator
from bot.web.deps import ServicesDep
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


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    """Whether the database and the cache answer (503 when one does not)."""
    database_ok = True
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down"
        log.warning("health check: database unreachable", extra={"error": str(exc)})
        database_ok = False
    cache_ok = await services.cache.ping()
    body: dict[str, Any] = {
        "status": "ok" if database_ok and cache_ok else "unavailable",
        "database": {"ok": database_ok, "backend": services.engine.dialect.name},
        "redis": {"ok": cache_ok, "backend": services.cache.backend},
        # The semantic layer: a fallback to lexical matching is reported here, not an error (status stays ok).
        "matching": services.match_index.status(),
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.post("/api/match")
async def match(item: MatchRequest, services: ServicesDep) -> dict[str, Any]:
    """What the engine understands of a message, as in docs/interfaces.md (with `eligible` for an enterprise)."""
    matcher = services.matcher
    result = await services.match_index.match(item.text)
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
    today = datetime.now(ZoneInfo(services.settings.app.timezone)).date()
    return eligible.annotate(result.to_dict(), policy=matcher.policy, profile=profile, today=today)


def _lifespan(
    settings: Settings, standin: StandIn, *, run_worker: bool, load_demo: bool, ready_message: str | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the services (and start the worker) before the first request; close them after the last."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        transport = httpx.ASGITransport(app=standin_app(standin)) if settings.simulator.enabled else None
        services = await open_services(settings, load_demo=load_demo, api_transport=transport)
        app.state.services = services
        background = asyncio.create_task(worker.run(services)) if run_worker else None
        log.info(
            "appealbot ready",
            extra={
                "database": services.engine.dialect.name,
                "cache": services.cache.backend,
                "wechat_mode": settings.wechat.mode,
                "worker": "in-process" if run_worker else "separate",
            },
        )
        if ready_message:
            print(ready_message, flush=True)
        try:
            yield
        finally:
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            await services.close()

    return lifespan


def create_app(
    settings: Settings, *, run_worker: bool = True, load_demo: bool = True, ready_message: str | None = None
) -> FastAPI:
    """The web app. With the simulator enabled, outbound WeChat calls go to the built-in stand-in."""
    standin = StandIn()
    lifespan = _lifespan(settings, standin, run_worker=run_worker, load_demo=load_demo, ready_message=ready_message)
    app = FastAPI(title="appealbot", lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
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
