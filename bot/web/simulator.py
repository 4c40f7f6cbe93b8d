"""Try the bot without WeChat: the chat page at /, which plays WeChat's server against our own /wechat.

The page posts what the user typed to /simulator/send; that endpoint builds the XML exactly as WeChat
would (signed, and encrypted in safe mode), POSTs it over HTTP to this server's /wechat, and opens the
reply. Messages the bot pushes later (customer-service and template messages) go to the built-in
WeChat API stand-in (called in-process, see bot.app) and reach the page through /simulator/inbox.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bot.platform.settings import WeChatSettings
from bot.wechat.peer import Peer
from bot.wechat.protocol import ProtocolError
from bot.wechat.standin import StandIn, StandInDep

PAGE = Path(__file__).resolve().parent / "static" / "chat.html"
ACCOUNT = "gh_appealbot_demo"
KINDS = {"text", "voice", "image", "location", "link", "event"}
OPENID = r"^[A-Za-z0-9_-]{1,64}$"

router = APIRouter(prefix="/simulator", include_in_schema=False)
_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


class Outgoing(BaseModel):
    """One thing the simulated user does: a message or a menu click."""

    openid: str = Field(pattern=OPENID)
    kind: str = "text"
    content: str = Field(default="", max_length=2000)
    event: str = ""
    event_key: str = ""


def message_fields(item: Outgoing, *, account: str = ACCOUNT, now: int | None = None) -> dict[str, Any]:
    """The fields WeChat would send for this action."""
    if item.kind not in KINDS:
        raise HTTPException(422, f"不支持的消息类型：{item.kind}")
    now = now if now is not None else int(time.time())
    base: dict[str, Any] = {"ToUserName": account, "FromUserName": item.openid, "CreateTime": now}
    if item.kind == "event":
        return {**base, "MsgType": "event", "Event": item.event or "subscribe", "EventKey": item.event_key}
    msg_id = next(_msg_ids)
    if item.kind == "text":
        return {**base, "MsgType": "text", "Content": item.content, "MsgId": msg_id}
    if item.kind == "voice":
        return {
            **base,
            "MsgType": "voice",
            "MediaId": f"media_{msg_id}",
            "Format": "amr",
            "Recognition": item.content,
            "MsgId": msg_id,
        }
    if item.kind == "image":
        return {
            **base,
            "MsgType": "image",
            "PicUrl": item.content or "http://mmbiz.qpic.cn/demo.jpg",
            "MediaId": f"media_{msg_id}",
            "MsgId": msg_id,
        }
    if item.kind == "location":
        return {
            **base,
            "MsgType": "location",
            "Location_X": "34.2658",
            "Location_Y": "108.9541",
            "Scale": "15",
            "Label": item.content or "陕西省西安市莲湖区",
            "MsgId": msg_id,
        }
    return {
        **base,
        "MsgType": "link",
        "Title": item.content or "链接",
        "Description": "",
        "Url": "https://example.com/",
        "MsgId": msg_id,
    }


def peer_for(wechat: WeChatSettings) -> Peer:
    """WeChat's side of the callback for this official account (its token, AppID, key and mode)."""
    return Peer(token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode)


async def _peer(request: Request) -> Peer:
    peer: Peer = request.app.state.simulator_peer
    return peer


PeerDep = Annotated[Peer, Depends(_peer)]


@router.post("/send")
async def send(item: Outgoing, request: Request, peer: PeerDep) -> dict[str, Any]:
    """Deliver one action to /wechat as WeChat would, and return the passive reply (if any)."""
    query, body = peer.request(message_fields(item))
    started = time.monotonic()
    # Call this very server on the address the page reached it at, never through a proxy's public name.
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as client:
        response = await client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    if response.status_code != 200:
        return {"status": response.status_code, "reply": None, "error": response.text, "ms": elapsed_ms}
    try:
        reply = peer.open_reply(response.content)
    except ProtocolError as exc:
        return {"status": 502, "reply": None, "error": exc.reason, "ms": elapsed_ms}
    return {"status": 200, "reply": reply, "ms": elapsed_ms, "mode": peer.mode}


@router.get("/inbox")
async def inbox(
    standin: StandInDep, openid: str = Query(pattern=OPENID), after: int = Query(0, ge=0)
) -> dict[str, Any]:
    """Messages pushed to this user through the WeChat API stand-in, from position `after` on."""
    items = standin.received.get(openid, [])
    return {"next": len(items), "messages": items[after:]}


def content_security_policy(page: str) -> str:
    """A policy that lets the page run only its own inline script and talk only to this server."""
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'" for script in scripts
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _reporter(app: FastAPI, peer: Peer) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """WeChat's delivery report of each template message the stand-in takes, posted to this app's /wechat."""

    async def report(event: dict[str, Any]) -> None:
        query, body = peer.request(event)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://simulator") as client:
            await client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})

    return report


def mount(app: FastAPI, standin: StandIn, wechat: WeChatSettings) -> None:
    """Add the chat page and the simulator endpoints to the app, playing WeChat for this official account."""
    app.state.standin = standin
    app.state.simulator_peer = peer_for(wechat)
    standin.report = _reporter(app, app.state.simulator_peer)
    app.include_router(router)
    page = PAGE.read_text(encoding="utf-8")
    headers = {"Content-Security-Policy": content_security_policy(page), "X-Content-Type-Options": "nosniff"}

    @app.get("/", include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)
