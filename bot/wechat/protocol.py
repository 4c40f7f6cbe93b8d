"""The WeChat official-account protocol, server side: signatures, AES envelopes, message XML.

The server opens what WeChat posts (`Codec.open`) and seals replies (`Codec.seal`); `bot.wechat.peer.Peer`
plays WeChat itself. Only this package imports wechatpy.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

MODES = ("plain", "compatible", "safe")


class ProtocolError(Exception):
    """A request that must be refused; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Inbound:
    """One message or event as WeChat sent it, already verified and decrypted."""

    to_user: str
    openid: str
    create_time: int
    msg_type: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def msg_id(self) -> int | None:
        raw = self.fields.get("MsgId")
        return int(raw) if isinstance(raw, str) and raw.isdigit() else None

    @property
    def event(self) -> str | None:
        """The event name in lower case (subscribe, click, templatesendjobfinish...), for events only."""
        raw = self.fields.get("Event")
        return raw.lower() if self.msg_type == "event" and isinstance(raw, str) else None

    @property
    def event_key(self) -> str | None:
        raw = self.fields.get("EventKey")
        return raw if isinstance(raw, str) else None

    @property
    def text(self) -> str | None:
        """What the user said: Content of a text message, Recognition of a voice message."""
        key = {"text": "Content", "voice": "Recognition"}.get(self.msg_type)
        value = self.fields.get(key) if key else None
        if not isinstance(value, str):
            return None
        return value.strip() or None

    @property
    def dedup_key(self) -> str:
        """Messages are unique by (openid, MsgId); events by (openid, CreateTime, Event, EventKey)."""
        if self.msg_id is not None:
            return f"m:{self.openid}:{self.msg_id}"
        return f"e:{self.openid}:{self.create_time}:{self.event or self.msg_type}:{self.event_key or ''}"


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _element_to_value(element: Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    return {child.tag: _element_to_value(child) for child in children}


def parse_xml(raw: bytes | str) -> dict[str, Any]:
    """Parse a WeChat XML document into a dict, refusing DTDs, entities and anything but <xml>."""
    try:
        root = safe_xml.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ProtocolError(400, f"forbidden XML construct: {type(exc).__name__}") from None
    except (safe_xml.ParseError, ValueError) as exc:
        raise ProtocolError(400, f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise ProtocolError(400, f"root element must be <xml>, got <{root.tag}>")
    value = _element_to_value(root)
    return value if isinstance(value, dict) else {}


def inbound_from_fields(fields: Mapping[str, Any]) -> Inbound:
    """Build an Inbound from parsed fields, refusing documents that are not a WeChat message."""
    missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
    if missing:
        raise ProtocolError(400, f"missing field(s): {', '.join(missing)}")
    create_time = str(fields["CreateTime"]).strip()
    if not create_time.isdigit():
        raise ProtocolError(400, "CreateTime is not a number")
    openid = str(fields["FromUserName"]).strip()
    if len(openid) > 64:
        raise ProtocolError(400, "FromUserName is too long")
    return Inbound(
        to_user=str(fields["ToUserName"]).strip(),
        openid=openid,
        create_time=int(create_time),
        msg_type=str(fields["MsgType"]).strip().lower(),
        fields=dict(fields),
    )


def cdata(value: str) -> str:
    # "]]>" inside CDATA would end it early; split it across two sections.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: Mapping[str, Any]) -> str:
    """Render fields as WeChat does: integers bare, strings in CDATA, dicts nested."""
    nodes = []
    for name, value in fields.items():
        if isinstance(value, Mapping):
            inner = render_xml(value)[len("<xml>") : -len("</xml>")]
            nodes.append(f"<{name}>{inner}</{name}>")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            nodes.append(f"<{name}>{cdata(str(value))}</{name}>")
        else:
            nodes.append(f"<{name}>{value}</{name}>")
    return "<xml>" + "".join(nodes) + "</xml>"


def text_reply(inbound: Inbound, content: str, *, now: int | None = None) -> str:
    """The passive reply XML for a text answer to `inbound`."""
    return render_xml(
        {
            "ToUserName": inbound.openid,
            "FromUserName": inbound.to_user,
            "CreateTime": now if now is not None else int(time.time()),
            "MsgType": "text",
            "Content": content,
        }
    )


class Codec:
    """The server side of the callback: verify, decrypt, parse; seal replies."""

    def __init__(self, *, token: str, app_id: str, encoding_aes_key: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown WeChat mode {mode!r}")
        self.token = token
        self.app_id = app_id
        self.mode = mode
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id) if mode != "plain" else None

    def verify_url(self, query: Mapping[str, str]) -> bool:
        """GET URL verification: is the signature over token, timestamp and nonce right?"""
        return _same(signature(self.token, query.get("timestamp", ""), query.get("nonce", "")), query.get("signature"))

    def open(self, query: Mapping[str, str], body: bytes) -> tuple[Inbound, bool]:
        """Verify and decode a POSTed message; returns it and whether the reply must be encrypted."""
        if not self.verify_url(query):
            raise ProtocolError(403, "bad signature")
        if not body.strip():
            raise ProtocolError(400, "empty body")
        outer = parse_xml(body)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if self.mode == "safe" and not encrypted:
            raise ProtocolError(400, "safe mode expects encrypt_type=aes")
        if encrypted and self._crypto is not None:
            return inbound_from_fields(parse_xml(self._decrypt(outer, query))), self.mode == "safe"
        return inbound_from_fields(outer), False

    def _decrypt(self, outer: Mapping[str, Any], query: Mapping[str, str]) -> str:
        assert self._crypto is not None
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise ProtocolError(400, "no Encrypt element")
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not _same(signature(self.token, timestamp, nonce, encrypt), query.get("msg_signature")):
            raise ProtocolError(403, "bad msg_signature")
        try:
            return str(PrpCrypto(self._crypto.key).decrypt(encrypt, self.app_id))
        except InvalidAppIdException:
            raise ProtocolError(403, "message is for another AppID") from None
        except Exception as exc:  # wechatpy raises bare ValueError/struct.error/UnicodeError on garbage
            raise ProtocolError(400, f"cannot decrypt: {type(exc).__name__}") from None

    def seal(self, reply_xml: str, *, encrypt: bool) -> str:
        """The HTTP body for a reply: as is, or in safe mode an encrypted, signed envelope."""
        if not encrypt or self._crypto is None:
            return reply_xml
        return str(self._crypto.encrypt_message(reply_xml, secrets.token_hex(8), str(int(time.time()))))
