"""WeChat's side of the callback: signs (and encrypts) requests and opens replies.

Used by the chat simulator, the terminal client, the tests and the benchmarks; the server never uses it.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.wechat.protocol import ProtocolError, cdata, parse_xml, render_xml, signature


class Peer:
    """WeChat's side of the callback: signs (and encrypts) requests, opens replies."""

    def __init__(self, *, token: str, app_id: str, encoding_aes_key: str, mode: str) -> None:
        self.token = token
        self.app_id = app_id
        self.mode = mode
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id) if mode != "plain" else None

    def sign_query(self, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        nonce = str(secrets.randbelow(10**10)) if nonce is None else nonce
        return {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    def request(self, fields: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of a POST carrying `fields`, as WeChat would send them in this mode."""
        return self.request_xml(render_xml(fields), openid=str(fields.get("FromUserName", "")))

    def request_xml(
        self, plain: str, *, openid: str = "", timestamp: str | None = None, nonce: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of a POST carrying this plaintext XML document (signed now, by default)."""
        query = self.sign_query(timestamp=timestamp, nonce=nonce)
        query["openid"] = openid
        if self._crypto is None:
            return query, plain.encode()
        encrypt = PrpCrypto(self._crypto.key).encrypt(plain, self.app_id).decode()
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(self.token, query["timestamp"], query["nonce"], encrypt)
        if self.mode == "compatible":  # both the plaintext fields and their ciphertext
            end = plain.rindex("</xml>")
            return query, (plain[:end] + f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>").encode()
        # Not parse_xml: tests send hostile documents through here, and the peer must not refuse them itself.
        found = re.search(r"<ToUserName>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</ToUserName>", plain, re.S)
        to_user = found.group(1) if found else ""
        return query, render_xml({"ToUserName": to_user, "Encrypt": encrypt}).encode()

    def open_reply(self, body: bytes | str) -> dict[str, Any] | None:
        """The reply's fields, or None for an empty or "success" answer; checks the envelope in safe mode."""
        raw = body.decode() if isinstance(body, bytes) else body
        if raw.strip() in {"", "success"}:
            return None
        outer = parse_xml(raw)
        if "Encrypt" not in outer:
            return outer
        if self._crypto is None:
            raise ProtocolError(400, "encrypted reply in plain mode")
        try:
            plain = self._crypto.decrypt_message(
                {"Encrypt": outer["Encrypt"]}, outer.get("MsgSignature"), outer.get("TimeStamp"), outer.get("Nonce")
            )
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise ProtocolError(403, f"reply envelope rejected: {type(exc).__name__}") from None
        return parse_xml(plain)
