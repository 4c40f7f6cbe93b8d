"""The official-account callback, /wechat: URL verification (GET) and messages (POST)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from bot.platform import metrics
from bot.web.deps import ServicesDep
from bot.wechat.freshness import check_replay, check_timestamp
from bot.wechat.protocol import ProtocolError

log = logging.getLogger(__name__)
router = APIRouter()


class TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/wechat", include_in_schema=False)
async def verify_url(request: Request, services: ServicesDep) -> Response:
    """WeChat checks the URL once, when the server address is saved in the official-account settings."""
    if not services.codec.verify_url(request.query_params):
        metrics.REQUESTS.labels("forged").inc()
        return PlainTextResponse("invalid signature", status_code=403)
    try:
        check_timestamp(request.query_params, window=services.settings.wechat.timestamp_window)
    except ProtocolError as exc:
        metrics.REQUESTS.labels("forged").inc()
        return PlainTextResponse(exc.reason, status_code=exc.status)
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post("/wechat", include_in_schema=False)
async def receive(request: Request, services: ServicesDep) -> Response:
    """A message or event from WeChat: the passive reply, or "success" when the answer goes out later."""
    started = time.monotonic()
    try:
        wechat = services.settings.wechat
        body = await _read_body(request, wechat.max_body_bytes)
        if not services.codec.verify_url(request.query_params):
            raise ProtocolError(403, "bad signature")
        check_timestamp(request.query_params, window=wechat.timestamp_window)
        inbound, encrypt = services.codec.open(request.query_params, body)
        # After the body checks: only a request that would be processed takes its nonce.
        await check_replay(request.query_params, body, cache=services.cache, window=wechat.timestamp_window)
    except TooLarge:
        metrics.REQUESTS.labels("too_large").inc()
        return PlainTextResponse("request body too large", status_code=413)
    except ProtocolError as exc:
        metrics.REQUESTS.labels("forged" if exc.status == 403 else "bad_request").inc()
        log.warning("wechat request refused", extra={"status": exc.status, "reason": exc.reason})
        return PlainTextResponse(exc.reason, status_code=exc.status)
    try:
        answer = await services.inbox.answer(inbound, started=started)
    except Exception:
        # The database went away, most likely. Whatever was stored waits for WeChat's retry, which takes the
        # message over (or the worker does after wechat.recover_after): see bot/chat/recovery.py.
        log.exception("wechat message could not be answered now")
        metrics.REQUESTS.labels("unavailable").inc()
        return PlainTextResponse("service unavailable", status_code=503)
    metrics.REQUESTS.labels("ok").inc()
    metrics.LATENCY.observe(time.monotonic() - started)
    if answer == "success":
        return PlainTextResponse("success")
    return Response(services.codec.seal(answer, encrypt=encrypt), media_type="application/xml")
