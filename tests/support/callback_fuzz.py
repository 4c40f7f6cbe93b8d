"""Hypothesis strategies for /wechat: validly signed requests (every mode) carrying arbitrary fields and nesting.

Shared by tests/bot/wechat/test_callback_properties.py (a few hundred examples) and bench/callback_fuzz.py
(10,000). `specs()` draws what to send; `build()` signs it at send time, so that the timestamp is fresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from bot.wechat.peer import Peer
from bot.wechat.protocol import render_xml

FIELD_NAMES = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "MsgID",
    "Event",
    "EventKey",
    "Recognition",
    "MediaId",
    "PicUrl",
    "Location_X",
    "Status",
    "Encrypt",
    "ScanCodeInfo",
]
MSG_TYPES = ["text", "voice", "image", "event", "location", "link", "video", "TEXT", "", "unknown"]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW", "LOCATION", "TEMPLATESENDJOBFINISH", "pic_sysphoto"]
ODD = ["²", "-1", "0", "9" * 30, str(2**63), " 12 ", "１２３", "\u202e", "]]>", "<x/>", "&amp;", "NaN", "1e9"]
ODD_TIMESTAMPS = ["", "abc", "1000000000", "99999999999", "²", "-5", "9" * 40, "now+400", "now-301"]

tags = st.one_of(st.sampled_from(FIELD_NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True))
leaves: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF), max_size=20),
    st.sampled_from(ODD + MSG_TYPES + EVENTS),
    st.integers(min_value=-(2**70), max_value=2**70),
)
values = st.recursive(leaves, lambda inner: st.dictionaries(tags, inner, max_size=3), max_leaves=12)


@dataclass(frozen=True)
class Spec:
    """One request to send: fields (or a raw body) and how the query is signed and altered."""

    fields: dict[str, Any] = field(default_factory=dict)
    nesting: int = 0  # wrap one field's value this many elements deep
    raw: bytes | None = None  # a body sent as is (signed URL, any bytes)
    timestamp: str = "now"
    nonce: str | None = None
    drop: tuple[str, ...] = ()  # query parameters left out
    encrypt_type: str | None = None  # overrides the query's encrypt_type

    @property
    def well_timed(self) -> bool:
        return self.timestamp == "now"


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message that starts realistic and has any of its fields replaced, removed or added to."""
    base: dict[str, Any] = {
        "ToUserName": "gh_appealbot_demo",
        "FromUserName": draw(st.sampled_from(["o_fuzz_a", "o_fuzz_b", "o_fuzz_c"])),
        "CreateTime": str(int(time.time())),
        "MsgType": draw(st.sampled_from(MSG_TYPES[:-2])),
        "Content": draw(st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=60)),
        "MsgId": str(draw(st.integers(min_value=0, max_value=2**63 - 1))),
    }
    if base["MsgType"] == "event":
        base["Event"] = draw(st.sampled_from(EVENTS))
        base["EventKey"] = draw(st.text(max_size=40))
    # Two in three messages keep their fields, so that the storing path is exercised too.
    if draw(st.integers(0, 2)) == 0:
        for name in draw(st.lists(st.sampled_from(sorted(base)), min_size=1, max_size=3, unique=True)):
            base[name] = draw(values)
        for name in draw(st.lists(st.sampled_from(sorted(base)), max_size=1)):
            del base[name]
    base.update(draw(st.dictionaries(tags, values, max_size=2)))
    return base


@st.composite
def specs(draw: st.DrawFn, *, mode: str) -> Spec:
    """A validly signed request (most of the time) with arbitrary content; raw bodies in plain mode only."""
    raw = draw(st.none() | st.binary(max_size=300)) if mode == "plain" and draw(st.integers(0, 9)) == 0 else None
    return Spec(
        fields=draw(messages()) if raw is None else {},
        nesting=draw(st.sampled_from([0] * 7 + [1, 3, 7, 8, 9, 40, 3000])),
        raw=raw,
        timestamp=draw(st.sampled_from(["now"] * 3 * len(ODD_TIMESTAMPS) + ODD_TIMESTAMPS)),
        nonce=draw(st.none() | st.text(max_size=30)),
        drop=draw(st.sampled_from([()] * 8 + [("signature",), ("msg_signature",), ("nonce",), ("openid",)])),
        encrypt_type=draw(st.sampled_from([None] * 8 + ["raw", "AES", "aes", "", "rsa"])),
    )


def _nest(fields: dict[str, Any], depth: int) -> str:
    xml = render_xml(fields)
    if not depth:
        return xml
    return xml.replace("</xml>", "<N>" * depth + "x" + "</N>" * depth + "</xml>")


def _timestamp(spec: Spec) -> str:
    now = int(time.time())
    return {"now": str(now), "now+400": str(now + 400), "now-301": str(now - 301)}.get(spec.timestamp, spec.timestamp)


def build(spec: Spec, peer: Peer) -> tuple[dict[str, str], bytes]:
    """The query and body of the spec's request, signed now by `peer` (WeChat's side, in its mode)."""
    timestamp = _timestamp(spec)
    if spec.raw is not None:
        query, body = peer.sign_query(timestamp=timestamp, nonce=spec.nonce), spec.raw
    else:
        query, body = peer.request_xml(_nest(spec.fields, spec.nesting), timestamp=timestamp, nonce=spec.nonce)
    if spec.encrypt_type is not None:
        query["encrypt_type"] = spec.encrypt_type
    for name in spec.drop:
        query.pop(name, None)
    return query, body
