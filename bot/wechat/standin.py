"""A stand-in for WeChat's API (access token, customer-service and template messages).

Called in-process by the app when the chat simulator is on, so that pushed replies show up in the
chat page; started on its own port by tests. It keeps what it received and can be told to fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request


@dataclass
class StandIn:
    """What the stand-in received, and the failures it has been told to return."""

    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    tokens_issued: list[str] = field(default_factory=list)
    # openid -> errcode to answer customer-service sends with (e.g. 45015 outside the 48-hour window)
    failures: dict[str, int] = field(default_factory=dict)
    # Tokens that WeChat would reject as expired (42001)
    expired: set[str] = field(default_factory=set)
    # Where WeChat's delivery report of each template message (a TEMPLATESENDJOBFINISH event) goes, and what
    # it says per openid (default "success"); None: no reports.
    report: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    report_status: dict[str, str] = field(default_factory=dict)
    template_failures: dict[str, int] = field(default_factory=dict)  # openid -> errcode for template sends
    # Called with each customer-service message kept, before it is answered (fault tests kill a sender there).
    on_received: Callable[[dict[str, Any]], None] | None = None
    _reporting: set[asyncio.Task[None]] = field(default_factory=set)
    _msgids: itertools.count[int] = field(default_factory=lambda: itertools.count(2_000_000_001))

    def issue_token(self) -> str:
        token = "TOKEN_" + secrets.token_hex(12)
        self.tokens_issued.append(token)
        return token

    def check(self, token: str | None) -> dict[str, Any] | None:
        if not token or token not in self.tokens_issued:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if token in self.expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        # Issuing a token invalidates the ones before it, as WeChat does after a grace period.
        if token != self.tokens_issued[-1]:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None


router = APIRouter()


async def _state(request: Request) -> StandIn:
    """The stand-in state of the app serving this request."""
    state: StandIn = request.app.state.standin
    return state


StandInDep = Annotated[StandIn, Depends(_state)]


async def _payload(request: Request) -> dict[str, Any]:
    """The JSON object posted (an empty one when the body is not one)."""
    try:
        return dict(json.loads(await request.body()))
    except (ValueError, TypeError):
        return {}


@router.get("/cgi-bin/token")
async def token(state: StandInDep, grant_type: str = "", appid: str = "", secret: str = "") -> dict[str, Any]:
    """A new access token (the ones before it stop working)."""
    if grant_type != "client_credential" or not appid or not secret:
        return {"errcode": 40002, "errmsg": "invalid grant_type"}
    return {"access_token": state.issue_token(), "expires_in": 7200}


@router.post("/cgi-bin/message/custom/send")
async def custom_send(request: Request, state: StandInDep, access_token: str | None = None) -> dict[str, Any]:
    """A customer-service message, kept for its openid, or the failure the stand-in was told to answer."""
    refused = state.check(access_token)
    if refused:
        return refused
    payload = await _payload(request)
    openid = str(payload.get("touser", ""))
    if not openid:
        return {"errcode": 40003, "errmsg": "invalid openid"}
    if openid in state.failures:
        return {"errcode": state.failures[openid], "errmsg": "refused by stand-in"}
    state.received[openid].append({"kind": "customer_service", **payload})
    if state.on_received is not None:
        state.on_received(payload)
    return {"errcode": 0, "errmsg": "ok"}


@router.post("/cgi-bin/message/template/send")
async def template_send(request: Request, state: StandInDep, access_token: str | None = None) -> dict[str, Any]:
    """A template message, kept for its openid with a new msgid."""
    refused = state.check(access_token)
    if refused:
        return refused
    payload = await _payload(request)
    openid = str(payload.get("touser", ""))
    if not openid or not payload.get("template_id"):
        return {"errcode": 40037, "errmsg": "invalid template_id"}
    if openid in state.template_failures:
        return {"errcode": state.template_failures[openid], "errmsg": "refused by stand-in"}
    msgid = next(state._msgids)
    state.received[openid].append({"kind": "template", "msgid": msgid, **payload})
    if state.report is not None:  # as WeChat does, a moment after the send
        event = {
            "ToUserName": "gh_appealbot_demo", "FromUserName": openid, "CreateTime": int(time.time()),
            "MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "MsgID": msgid,
            "Status": state.report_status.get(openid, "success"),
        }  # fmt: skip
        task = asyncio.ensure_future(state.report(event))
        state._reporting.add(task)
        task.add_done_callback(state._reporting.discard)
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


def standin_app(state: StandIn | None = None) -> FastAPI:
    """A FastAPI app answering like api.weixin.qq.com for the calls appealbot makes."""
    app = FastAPI(title="WeChat API stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.standin = state or StandIn()
    app.include_router(router)
    return app
