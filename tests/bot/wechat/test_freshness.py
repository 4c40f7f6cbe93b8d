"""Signed requests must be fresh: a timestamp within the window, and a (timestamp, nonce) pair never reused
for another body. Every mode; the embedded default's in-process cache here, Redis in test_freshness_redis."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from bot.chat.models import InboundMessage, OutboundMessage, Subscriber
from bot.platform.settings import Settings
from tests.bot.wechat.test_bad_input import Server
from tests.conftest import fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running
from tests.support.wechat import fixture, peer


@pytest.fixture(scope="module", params=["plain", "compatible", "safe"])
def server(
    request: pytest.FixtureRequest, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = fresh_settings(tmp_path_factory.mktemp("fresh-" + request.param), templates, mode=request.param)
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


@pytest.mark.parametrize(
    "timestamp",
    ["1000000000", "99999999999", "", "abc", "１７００", "-301", "+400", "9" * 40],
    ids=["2001", "year-5138", "empty", "letters", "fullwidth", "5-minutes-old", "future", "huge"],
)
def test_timestamp_outside_the_window_is_refused(server: Server, timestamp: str) -> None:
    if timestamp[:1] in "+-" and timestamp:  # seconds from now, taken when the request is signed
        timestamp = str(int(time.time()) + int(timestamp))
    xml = fixture("text", FromUserName="o_stale", MsgId="44000001")
    before = stored(server)
    response = send(server, *peer(server["settings"]).request_xml(xml, timestamp=timestamp))
    assert response.status_code == 403, response.text
    assert stored(server) == before


def test_timestamp_within_the_window_is_accepted(server: Server) -> None:
    xml = fixture("text", FromUserName="o_fresh", MsgId="44000002")
    response = send(server, *peer(server["settings"]).request_xml(xml, timestamp=str(int(time.time()) - 200)))
    assert response.status_code == 200, response.text


def test_signed_url_reused_with_another_body_is_refused(server: Server) -> None:
    speaker = peer(server["settings"])
    query, body = speaker.request_xml(fixture("text", FromUserName="o_owner", MsgId="44000003", Content="你好"))
    assert send(server, query, body).status_code == 200
    before = stored(server)
    # the attacker keeps the signed URL and posts a victim's "进度" under it (in plain mode the URL is all that
    # is signed; in the encrypted modes the same nonce comes with a fresh, validly signed envelope)
    victim = fixture("text", FromUserName="o_victim", MsgId="44000004", Content="进度")
    _, forged_plain = speaker.request_xml(victim)
    forged_query, forged_body = speaker.request_xml(victim, timestamp=query["timestamp"], nonce=query["nonce"])
    if server["settings"].wechat.mode == "plain":
        forged_query, forged_body = query, forged_plain
    response = send(server, forged_query, forged_body)
    assert response.status_code == 403, response.text
    assert stored(server) == before


def test_a_retry_with_the_same_query_and_body_is_answered_once(server: Server) -> None:
    speaker = peer(server["settings"])
    xml = fixture("text", FromUserName="o_retry", MsgId="44000005", Content="你好")
    query, body = speaker.request_xml(xml)
    first = send(server, query, body)
    after_first = stored(server)
    again = send(server, query, body)
    assert first.status_code == again.status_code == 200
    assert speaker.open_reply(first.content) == speaker.open_reply(again.content) is not None
    assert stored(server) == after_first


def test_nonce_replay_refused_on_each_backend(backend: Settings) -> None:
    """The same check with the in-process cache and with Redis (shared by every app instance)."""
    config = backend.replace("wechat", mode="plain")
    speaker = peer(config)
    with running(config) as (url, _app), httpx.Client(base_url=url, timeout=10) as client:

        def deliver(query: dict[str, str], body: bytes) -> int:
            response = client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
            return response.status_code

        query, body = speaker.request_xml(fixture("text", FromUserName="o_owner_b", MsgId="44000010"))
        assert deliver(query, body) == 200
        assert deliver(query, body) == 200  # WeChat's retry: same query, same body
        _, other = speaker.request_xml(fixture("text", FromUserName="o_victim_b", MsgId="44000011", Content="进度"))
        assert deliver(query, other) == 403
