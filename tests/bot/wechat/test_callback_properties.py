"""Property: whatever a validly signed (or nearly so) request carries, /wechat answers 200 or 4xx, never 5xx,
and a refused request stores nothing. Every mode; a few hundred examples here, 10,000 in bench/callback_fuzz.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, create_engine, func, select

from bot.chat.models import InboundMessage
from bot.wechat.peer import Peer
from tests.conftest import fresh_settings
from tests.support.callback_fuzz import Spec, build, specs
from tests.support.databases import Templates
from tests.support.servers import running
from tests.support.wechat import peer

EXAMPLES = 120  # per mode


class Target:
    def __init__(self, client: httpx.Client, speaker: Peer, engine: Engine) -> None:
        self.client, self.peer, self.engine = client, speaker, engine

    def stored(self) -> int:
        # inbound rows only: they are written before the answer, while replies may still arrive later
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.fixture(scope="module", params=["plain", "compatible", "safe"])
def target(
    request: pytest.FixtureRequest, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    config = fresh_settings(tmp_path_factory.mktemp("fuzz-" + request.param), templates, mode=request.param)
    with running(config) as (url, _app), httpx.Client(base_url=url, timeout=30) as client:
        engine = create_engine(config.database_url)
        yield Target(client, peer(config), engine)
        engine.dispose()


def check(target: Target, spec: Spec) -> int:
    query, body = build(spec, target.peer)
    before = target.stored()
    response = target.client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code != 200:
        assert target.stored() == before, f"a refused request ({response.status_code}) stored a message"
    if not spec.well_timed:
        assert response.status_code == 403, response.text[:300]
    return response.status_code


@pytest.mark.slow
def test_signed_requests_with_arbitrary_fields(target: Target) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(spec=specs(mode=target.peer.mode))
    def run(spec: Spec) -> None:
        check(target, spec)

    run()
