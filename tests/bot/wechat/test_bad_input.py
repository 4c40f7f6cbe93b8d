"""Hostile and broken requests to /wechat: refused with 4xx, never a 500, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from bot.chat.models import InboundMessage, OutboundMessage, Subscriber
from bot.platform.settings import Settings
from bot.wechat.peer import Peer
from bot.wechat.protocol import signature
from tests.bot.wechat.test_wechat_protocol import BILLION_LAUGHS, XXE
from tests.conftest import fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running
from tests.support.slow import Instrumented
from tests.support.wechat import fixture, peer, post


class Server(TypedDict):
    client: httpx.Client
    settings: Settings
    engine: Engine


@pytest.fixture(scope="module", params=["plain", "safe"])
def server(
    request: pytest.FixtureRequest, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = fresh_settings(tmp_path_factory.mktemp("bad-" + request.param), templates, mode=request.param)
    with running(settings) as (url, _app), httpx.Client(base_url=url, timeout=10) as client:
        engine = create_engine(settings.database_url)
        yield {"client": client, "settings": settings, "engine": engine}
        engine.dispose()


def stored(server: Server) -> int:
    with server["engine"].connect() as connection:
        return sum(
            int(connection.scalar(select(func.count()).select_from(model)) or 0)
            for model in (InboundMessage, OutboundMessage, Subscriber)
        )


def send(server: Server, query: dict[str, str], body: bytes) -> httpx.Response:
    return server["client"].post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})


def signed_plain(server: Server) -> dict[str, str]:
    return peer(server["settings"]).sign_query()


def test_forged_signature(server: Server) -> None:
    query, body = peer(server["settings"]).request_xml(fixture("text"))
    before = stored(server)
    response = send(server, {**query, "signature": "0" * 40}, body)
    assert response.status_code == 403
    assert stored(server) == before


def test_missing_signature(server: Server) -> None:
    _, body = peer(server["settings"]).request_xml(fixture("text"))
    before = stored(server)
    assert send(server, {}, body).status_code == 403
    assert stored(server) == before


def test_signed_by_someone_with_another_token(server: Server) -> None:
    settings = server["settings"].wechat
    intruder = Peer(
        token="not-our-token", app_id=settings.app_id, encoding_aes_key=settings.encoding_aes_key, mode=settings.mode
    )
    before = stored(server)
    assert send(server, *intruder.request_xml(fixture("text"))).status_code == 403
    assert stored(server) == before


def test_message_for_another_app_id(server: Server) -> None:
    settings = server["settings"].wechat
    # Always an encrypted envelope: a plain-mode server cannot read it at all, a safe-mode one sees the AppID.
    other = Peer(
        token=settings.token, app_id="wxSOMEONEELSE0001", encoding_aes_key=settings.encoding_aes_key, mode="safe"
    )
    before = stored(server)
    response = send(server, *other.request_xml(fixture("text")))
    if settings.mode == "safe":
        assert response.status_code == 403 and "AppID" in response.text
    else:
        assert response.status_code == 400 and "missing field" in response.text
    assert stored(server) == before


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_declarations(server: Server, document: str) -> None:
    before = stored(server)
    # Signed correctly (and encrypted in safe mode): the attacker knows the keys, the XML is still refused.
    response = send(server, *peer(server["settings"]).request_xml(document))
    assert response.status_code == 400
    if server["settings"].wechat.mode == "plain":
        # and as the outer document too
        assert send(server, signed_plain(server), document.encode()).status_code == 400
    assert stored(server) == before


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"hello, not xml",
        b'{"json": true}',
        b"<xml><MsgType>text</MsgType>",
        "<xml>\u4e2d".encode(),
        b"\xff\xfe\x00garbage",
    ],
    ids=["empty", "blank", "text", "json", "truncated", "unclosed", "binary"],
)
def test_bodies_that_are_not_messages(server: Server, body: bytes) -> None:
    before = stored(server)
    response = send(server, signed_plain(server), body)
    assert 400 <= response.status_code < 500, response.text
    assert stored(server) == before


def test_oversized_body(server: Server) -> None:
    before = stored(server)
    huge = fixture("text", Content="长" * 30_000)  # 90 KB of UTF-8, over the 64 KiB limit
    response = send(server, *peer(server["settings"]).request_xml(huge))
    assert response.status_code == 413

    # a body that lies about its length is cut off while streaming, too
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"<xml>" + b"x" * 1024

    streamed = server["client"].post("/wechat", params=signed_plain(server), content=chunks())
    assert streamed.status_code == 413
    assert stored(server) == before


def test_server_still_answers_after_the_abuse(server: Server) -> None:
    status_ok = send(server, *peer(server["settings"]).request_xml(fixture("text", FromUserName="o_after_abuse")))
    assert status_ok.status_code == 200
    assert server["client"].get("/healthz").json()["status"] == "ok"


def test_plain_signature_is_what_wechat_computes(server: Server) -> None:
    token = server["settings"].wechat.token
    query = signed_plain(server)
    assert query["signature"] == signature(token, query["timestamp"], query["nonce"])


def failures(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("appealbot_processing_failures_total "):
            return float(line.split()[1])
    raise AssertionError("metric missing")


def test_a_failure_while_processing_still_answers_the_user(templates: Templates, tmp_path: Path) -> None:
    settings = fresh_settings(tmp_path, templates)
    with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
        Instrumented(app, delay=0, fail=True)
        failures_before = failures(client)
        xml = fixture("text", FromUserName="o_unlucky", MsgId="33000001")
        status, reply, _ = post(client, settings, xml)
        assert status == 200 and reply is not None and "出了问题" in reply["Content"]
        # a retry is not processed again and gets the same apology
        again = post(client, settings, xml)
        assert again[1] is not None and again[1]["Content"] == reply["Content"]
        assert failures(client) == failures_before + 1


def test_database_gone_is_a_503_not_a_crash(templates: Templates, tmp_path: Path) -> None:
    settings = fresh_settings(tmp_path, templates)
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        (tmp_path / "appealbot.db").unlink()  # SQLite reopens an empty file: the tables are gone
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"appealbot.db{suffix}").unlink(missing_ok=True)
        status, _, raw = post(client, settings, fixture("text", FromUserName="o_nodb", MsgId="33000002"))
        assert status == 503, raw


def nested(depth: int) -> str:
    return fixture("text", FromUserName="o_deep").replace("</xml>", "<a>" * depth + "x" + "</a>" * depth + "</xml>")


ODD_DOCUMENTS = {
    "create-time-superscript": fixture("text", FromUserName="o_odd", CreateTime="²"),
    "create-time-30-digits": fixture("text", FromUserName="o_odd", CreateTime="9" * 30),
    "create-time-negative": fixture("text", FromUserName="o_odd", CreateTime="-5"),
    "msg-id-30-digits": fixture("text", FromUserName="o_odd", MsgId="1" * 30),
    "msg-id-over-int64": fixture("text", FromUserName="o_odd", MsgId=str(2**63)),
    "msg-id-superscript": fixture("text", FromUserName="o_odd", MsgId="²"),
    "msg-type-300-chars": fixture("text", FromUserName="o_odd", MsgType="t" * 300),
    "msg-type-not-ascii": fixture("text", FromUserName="o_odd", MsgType="文本"),
    "from-user-nested": fixture("text").replace("<FromUserName><![CDATA[", "<FromUserName><b>1</b><![CDATA["),
    "event-300-chars": fixture("event_click", FromUserName="o_odd", Event="E" * 300),
    "event-key-1000-chars": fixture("event_click", FromUserName="o_odd", EventKey="k" * 1000),
    "template-msg-id-superscript": fixture("event_templatesendjobfinish", FromUserName="o_odd", MsgID="²"),
    "nested-6000": nested(6000),  # 9,000 deep is over the body limit once encrypted; the outer test has 9,000
    "nested-9": nested(9),
}


@pytest.mark.parametrize("document", ODD_DOCUMENTS.values(), ids=ODD_DOCUMENTS.keys())
def test_validly_signed_odd_fields_are_a_400(server: Server, document: str) -> None:
    before = stored(server)
    response = send(server, *peer(server["settings"]).request_xml(document))
    assert response.status_code == 400, response.text
    assert stored(server) == before


def test_deep_outer_document_is_refused_before_the_msg_signature(server: Server) -> None:
    before = stored(server)
    query, _ = peer(server["settings"]).request_xml(fixture("text"))
    deep = ("<xml>" + "<a>" * 9000 + "</a>" * 9000 + "</xml>").encode()
    response = send(server, {**query, "msg_signature": "0" * 40}, deep)
    assert response.status_code == 400 and "nested" in response.text
    assert stored(server) == before


def test_wechat_depth_still_parses(server: Server) -> None:
    # a 发图 event: SendPicsInfo / PicList / item / PicMd5Sum, five deep with <xml>
    pics = "<SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>abc</PicMd5Sum></item></PicList></SendPicsInfo>"
    xml = fixture("event_click", FromUserName="o_pics", Event="pic_sysphoto").replace("</xml>", pics + "</xml>")
    assert send(server, *peer(server["settings"]).request_xml(xml)).status_code == 200


def test_long_view_url_event_fits_its_dedup_key(server: Server) -> None:
    xml = fixture("event_view", FromUserName="o_" + "v" * 60, EventKey="https://example.cn/" + "p" * 400)
    assert send(server, *peer(server["settings"]).request_xml(xml)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="GBK"?>' + fixture("text", FromUserName="o_gbk").encode("gbk"),
        fixture("text", FromUserName="o_latin", Content="café").encode("latin-1"),
        b'<?xml version="1.0" encoding="x-unknown"?><xml/>',
    ],
    ids=["gbk-declared", "latin-1-bytes", "unknown-encoding"],
)
def test_signed_bodies_that_are_not_utf8(server: Server, body: bytes) -> None:
    if server["settings"].wechat.mode != "plain":
        pytest.skip("the plain body is the document; in safe mode it is the encrypted envelope")
    before = stored(server)
    response = send(server, signed_plain(server), body)
    assert 400 <= response.status_code < 500, response.text
    assert stored(server) == before
