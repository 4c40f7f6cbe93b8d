"""Outbound calls to the WeChat API: the access token, customer-service and template messages.

The token is shared by every process through the cache. Only the holder of the refresh lock fetches
a new one, and only when the cached token is still the one that failed: fetching a token invalidates
the previous one, so a process that refreshed blindly would break every other process's token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot.platform.cache import Cache

log = logging.getLogger(__name__)

TOKEN_INVALID = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
OUTSIDE_WINDOW = 45015  # the user has not written within 48 hours
UNSUBSCRIBED = 43004  # the user does not follow the account
PERMANENT = {OUTSIDE_WINDOW, UNSUBSCRIBED, 40003}  # retrying cannot help (40003: invalid openid)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    errcode: int = 0
    errmsg: str = ""
    msgid: int | None = None

    @property
    def permanent(self) -> bool:
        """True when retrying cannot deliver this message."""
        return self.errcode in PERMANENT


class WeChatApiError(RuntimeError):
    """The API could not be reached or answered nonsense; `maybe_sent` when the request may have reached WeChat."""

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class WeChatApi:
    def __init__(self, *, base: str, app_id: str, app_secret: str, cache: Cache, http: httpx.AsyncClient) -> None:
        self._base = base.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._cache = cache
        self._http = http
        self._key = f"wechat:token:{app_id}"

    async def token(self, *, stale: str | None = None) -> str:
        """A valid access token; pass `stale` when WeChat rejected that token."""
        cached = await self._cache.get(self._key)
        if cached and cached != stale:
            return cached
        async with self._cache.lock(self._key, timeout=15):
            cached = await self._cache.get(self._key)
            if cached and cached != stale:
                return cached  # another process refreshed it while we waited
            data = await self._get_json(
                "/cgi-bin/token",
                {"grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret},
            )
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeChatApiError(f"token refused: {data.get('errcode')} {data.get('errmsg')}")
            expires_in = int(data.get("expires_in", 7200))
            # Keep a margin so that a token never expires between reading it and using it.
            await self._cache.set(self._key, token, ttl=max(60, expires_in - 300))
            log.info("wechat access token refreshed", extra={"expires_in": expires_in})
            return token

    async def _get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.get(self._base + path, params=params)
            return dict(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatApiError(f"GET {path}: {exc}") from exc

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        token = await self.token()
        for attempt in range(2):
            body = json.dumps(payload, ensure_ascii=False).encode()
            try:
                response = await self._http.post(
                    self._base + path,
                    params={"access_token": token},
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                data = dict(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                # Only a refused or timed-out connection proves that WeChat never saw the request.
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                raise WeChatApiError(f"POST {path}: {exc}", maybe_sent=not unsent) from exc
            if int(data.get("errcode", 0)) in TOKEN_INVALID and attempt == 0:
                token = await self.token(stale=token)
                continue
            return data
        return data

    async def send_text(self, *, openid: str, text: str) -> SendResult:
        """Send a customer-service text message (possible within 48 hours of the user's last message)."""
        data = await self._post(
            "/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}}
        )
        return _result(data)

    async def send_template(
        self, *, openid: str, template_id: str, data: dict[str, str], url: str | None = None
    ) -> SendResult:
        """Send a template message (allowed outside the 48-hour window)."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            payload["url"] = url
        return _result(await self._post("/cgi-bin/message/template/send", payload))


def _result(data: dict[str, Any]) -> SendResult:
    errcode = int(data.get("errcode", 0))
    msgid = data.get("msgid")
    return SendResult(
        ok=errcode == 0,
        errcode=errcode,
        errmsg=str(data.get("errmsg", "")),
        msgid=int(msgid) if isinstance(msgid, int | str) and str(msgid).isdigit() else None,
    )
