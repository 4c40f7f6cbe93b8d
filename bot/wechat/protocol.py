"""The WeChat official-account protocol, server side: signatures, AES envelopes, message XML.

The server opens what WeChat posts (`Codec.open`) and seals replies (`Codec.seal`); `bot.wechat.peer.Peer`
plays WeChat itself. Only this package imports wechatpy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

MODES = ("plain", "compatible", "safe")
# WeChat's deepest documents (a 发图 event's SendPicsInfo/PicList/item/PicMd5Sum) nest 5 deep.
MAX_DEPTH = 8
MAX_INT64 = 2**63 - 1
# Column widths of inbound_messages (bot/chat/models.py): longer values would fail in the database.
MAX_OPENID, MAX_MSG_TYPE, MAX_EVENT, MAX_EVENT_KEY, MAX_DEDUP_KEY = 64, 32, 64, 512, 255
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() accepts "²", which int() refuses
_NAME = re.compile(r"[A-Za-z0-9_]+")  # MsgType and Event: ASCII, so that lower() keeps their length


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
        return int(raw) if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()) else None

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
        key = f"e:{self.openid}:{self.create_time}:{self.event or self.msg_type}:{self.event_key or ''}"
        if len(key) > MAX_DEDUP_KEY:  # a long EventKey (a menu URL): its digest keeps the key within its column
            key = key[: MAX_DEDUP_KEY - 41] + "#" + hashlib.sha1(key.encode()).hexdigest()
        return key


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


class _TooDeep(Exception):
    pass


class _BoundedBuilder:
    """An ElementTree builder that stops the parse as soon as elements nest deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        self._tree = TreeBuilder()
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep
        return self._tree.start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return self._tree.end(tag)

    def data(self, text: str) -> None:
        self._tree.data(text)

    def close(self) -> Element:
        return self._tree.close()


def _parse_root(raw: bytes | str) -> Element:
    parser = safe_xml.DefusedXMLParser(
        target=_BoundedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(raw)
        root: Element = parser.close()
    except _TooDeep:
        raise ProtocolError(400, f"XML nested deeper than {MAX_DEPTH} elements") from None
    except DefusedXmlException as exc:
        raise ProtocolError(400, f"forbidden XML construct: {type(exc).__name__}") from None
    except (safe_xml.ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding declared
        raise ProtocolError(400, f"not well-formed XML: {exc}") from None
    return root


def parse_xml(raw: bytes | str) -> dict[str, Any]:
    """Parse a WeChat XML document into a dict, refusing DTDs, entities, deep nesting and anything but <xml>."""
    root = _parse_root(raw)
    if root.tag != "xml":
        raise ProtocolError(400, f"root element must be <xml>, got <{root.tag}>")
    value = _element_to_value(root)
    return value if isinstance(value, dict) else {}


def _text_field(fields: Mapping[str, Any], name: str, limit: int) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise ProtocolError(400, f"{name} must be text, not nested elements")
    if len(value.strip()) > limit:
        raise ProtocolError(400, f"{name} is longer than {limit} characters")
    return value.strip()


def _check_optional(fields: Mapping[str, Any]) -> None:
    """The optional fields that are stored in columns of their own must fit them."""
    for name in ("MsgId", "MsgID"):  # MsgID: a template message's delivery report
        value = fields.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if value is not None and (not _DIGITS.fullmatch(text) or len(text) > 19 or int(text) > MAX_INT64):
            raise ProtocolError(400, f"{name} is not a 64-bit number")
    if "Event" in fields and not _NAME.fullmatch(_text_field(fields, "Event", MAX_EVENT)):
        raise ProtocolError(400, "Event is not a WeChat event name")
    if "EventKey" in fields:
        _text_field(fields, "EventKey", MAX_EVENT_KEY)


def inbound_from_fields(fields: Mapping[str, Any]) -> Inbound:
    """Build an Inbound from parsed fields, refusing documents that are not a WeChat message."""
    missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
    if missing:
        raise ProtocolError(400, f"missing field(s): {', '.join(missing)}")
    to_user = _text_field(fields, "ToUserName", MAX_OPENID)
    openid = _text_field(fields, "FromUserName", MAX_OPENID)
    msg_type = _text_field(fields, "MsgType", MAX_MSG_TYPE)
    create_time = _text_field(fields, "CreateTime", 10)
    if not _DIGITS.fullmatch(create_time):
        raise ProtocolError(400, "CreateTime is not a number")
    if not (to_user and openid):
        raise ProtocolError(400, "ToUserName and FromUserName must not be blank")
    if not _NAME.fullmatch(msg_type):
        raise ProtocolError(400, "MsgType is not a WeChat message type")
    _check_optional(fields)
    return Inbound(
        to_user=to_user, openid=openid, create_time=int(create_time), msg_type=msg_type.lower(), fields=dict(fields)
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
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if self.mode == "safe" and not encrypted:
            raise ProtocolError(400, "safe mode expects encrypt_type=aes")
        # Bounded and defused, and in safe mode read only for its Encrypt element before msg_signature is checked.
        outer = parse_xml(body)
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
