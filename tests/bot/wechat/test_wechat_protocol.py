"""The protocol adapter on its own: Tencent's sample vector, signatures, envelopes, hostile XML."""

from __future__ import annotations

import pytest

from bot.wechat.peer import Peer
from bot.wechat.protocol import Codec, ProtocolError, parse_xml, render_xml, signature, text_reply
from tests.support.wechat import fixture, fixture_names

# Tencent's official Official-Account sample (WXBizMsgCrypt demo): token, key, AppID and one message.
TENCENT = {
    "token": "spamtest",
    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
}
TENCENT_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
    "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3y"
    "t+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v"
    "6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
TENCENT_QUERY = {
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "encrypt_type": "aes",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
}


def tencent_request() -> tuple[dict[str, str], bytes]:
    query = dict(TENCENT_QUERY, signature=signature("spamtest", "1409735669", "1320562132"))
    body = (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<Encrypt><![CDATA[{TENCENT_ENCRYPT}]]></Encrypt></xml>"
    )
    return query, body.encode()


def test_tencent_sample_decrypts_and_verifies() -> None:
    codec = Codec(mode="safe", **TENCENT)
    inbound, encrypted = codec.open(*tencent_request())
    assert encrypted is True
    assert inbound.openid == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert inbound.to_user == "gh_10f6c3c3ac5a"
    assert inbound.create_time == 1409735668
    assert inbound.msg_type == "text"
    assert inbound.text == "abcdteT"
    assert inbound.msg_id == 6054768590064713728
    assert inbound.dedup_key == "m:oyORnuP8q7ou2gfYjqLzSIWZf0rs:6054768590064713728"


def test_tencent_sample_msg_signature_is_checked() -> None:
    query, body = tencent_request()
    query["msg_signature"] = "0" * 40
    with pytest.raises(ProtocolError) as refused:
        Codec(mode="safe", **TENCENT).open(query, body)
    assert refused.value.status == 403


def test_tencent_sample_refused_for_another_app_id() -> None:
    codec = Codec(mode="safe", **{**TENCENT, "app_id": "wxANOTHERAPPID00"})
    with pytest.raises(ProtocolError) as refused:
        codec.open(*tencent_request())
    assert refused.value.status == 403 and "AppID" in refused.value.reason


def test_url_verification_signature() -> None:
    codec = Codec(mode="plain", token="spamtest", app_id="", encoding_aes_key="")
    # sha1 of the sorted, joined token, timestamp and nonce
    good = {
        "signature": signature("spamtest", "1409735669", "1320562132"),
        "timestamp": "1409735669",
        "nonce": "1320562132",
    }
    assert good["signature"] == __import__("hashlib").sha1(b"13205621321409735669spamtest").hexdigest()
    assert codec.verify_url(good)
    assert not codec.verify_url({**good, "nonce": "1"})
    assert not codec.verify_url({"timestamp": "1", "nonce": "2"})


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_round_trips_in_every_mode(mode: str, name: str) -> None:
    keys = dict(TENCENT)
    peer, codec = Peer(mode=mode, **keys), Codec(mode=mode, **keys)
    xml = fixture(name)
    query, body = peer.request_xml(xml)
    if mode == "safe":
        assert b"<Encrypt>" in body and b"<MsgType>" not in body
    inbound, encrypt = codec.open(query, body)
    expected = parse_xml(xml)
    assert dict(inbound.fields) == expected
    assert inbound.msg_type == expected["MsgType"].lower()
    assert encrypt is (mode == "safe")
    # and the reply comes back through the same mode's envelope
    reply = codec.seal(text_reply(inbound, "收到 <b>&</b> ]]> 完"), encrypt=encrypt)
    opened = peer.open_reply(reply)
    assert opened is not None
    assert opened["Content"] == "收到 <b>&</b> ]]> 完"
    assert opened["ToUserName"] == inbound.openid


def test_safe_reply_envelope_is_signed() -> None:
    codec = Codec(mode="safe", **TENCENT)
    inbound, _ = codec.open(*tencent_request())
    sealed = parse_xml(codec.seal(text_reply(inbound, "好的"), encrypt=True))
    assert set(sealed) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert sealed["MsgSignature"] == signature("spamtest", sealed["TimeStamp"], sealed["Nonce"], sealed["Encrypt"])


def test_dedup_keys_of_events() -> None:
    codec = Codec(mode="plain", **TENCENT)
    peer = Peer(mode="plain", **TENCENT)
    inbound, _ = codec.open(*peer.request_xml(fixture("event_click")))
    assert inbound.msg_id is None
    assert inbound.event == "click"
    assert inbound.dedup_key == "e:oUpF8uMuAJO_M2pxb1Q9zNjWeS6o:1795747215:click:POLICY_SEARCH"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
XXE = """<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (BILLION_LAUGHS, "forbidden"),
        (XXE, "forbidden"),
        ("not xml at all", "not well-formed"),
        ("<xml><unclosed></xml>", "not well-formed"),
        ("<html><body/></html>", "root element"),
    ],
)
def test_hostile_xml_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_xml(raw)
    assert refused.value.status == 400
    assert reason in refused.value.reason


def test_hostile_xml_inside_the_envelope_is_refused() -> None:
    peer, codec = Peer(mode="safe", **TENCENT), Codec(mode="safe", **TENCENT)
    with pytest.raises(ProtocolError) as refused:
        codec.open(*peer.request_xml(BILLION_LAUGHS))
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "fields",
    [
        {"ToUserName": "a", "FromUserName": "b", "CreateTime": "1"},
        {"ToUserName": "a", "FromUserName": "b", "CreateTime": "yesterday", "MsgType": "text"},
        {"ToUserName": "a", "FromUserName": "b" * 65, "CreateTime": "1", "MsgType": "text"},
    ],
)
def test_documents_that_are_not_messages_are_refused(fields: dict[str, str]) -> None:
    peer, codec = Peer(mode="plain", **TENCENT), Codec(mode="plain", **TENCENT)
    with pytest.raises(ProtocolError) as refused:
        codec.open(*peer.request_xml(render_xml(fields)))
    assert refused.value.status == 400


def test_safe_mode_refuses_plaintext_and_garbage_ciphertext() -> None:
    codec = Codec(mode="safe", **TENCENT)
    plain_query, plain_body = Peer(mode="plain", **TENCENT).request_xml(fixture("text"))
    with pytest.raises(ProtocolError):
        codec.open(plain_query, plain_body)
    query = Peer(mode="plain", **TENCENT).sign_query()
    garbage = "QUJD" * 10
    query.update(encrypt_type="aes", msg_signature=signature("spamtest", query["timestamp"], query["nonce"], garbage))
    with pytest.raises(ProtocolError) as refused:
        codec.open(query, f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode())
    assert refused.value.status == 400
