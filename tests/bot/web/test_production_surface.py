"""What production shows the world, over real HTTP against the real app: no API docs, metrics, or /api/match
unless configured (metrics on a listener of their own), no Server header, Secure cookies behind a TLS proxy;
and /healthz (liveness) apart from /readyz (readiness): Redis down is degraded, the database down is unready."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from bot.platform.settings import Settings
from tests.conftest import PG_URL
from tests.support.servers import free_port, running


def production(settings: Settings, **web: object) -> Settings:
    chosen = settings.replace("app", env="production", single_instance=True).replace("simulator", enabled=False)
    return chosen.replace("web", **web) if web else chosen


def test_production_hides_docs_metrics_and_match_and_sends_no_server_header(settings: Settings) -> None:
    with running(production(settings)) as (url, _):
        for path in ("/api/docs", "/openapi.json", "/metrics"):
            response = httpx.get(url + path)
            assert response.status_code == 404, path
            assert "server" not in response.headers, path
        assert httpx.post(url + "/api/match", json={"text": "稳岗返还"}).status_code == 404
        login = httpx.get(url + "/login")
        assert "server" not in login.headers
        cookie = login.headers["set-cookie"]
        # base_url is http (a TLS-terminating proxy in front): the cookie is Secure all the same.
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()


def test_production_turns_them_on_by_configuration_with_metrics_on_their_own_port(settings: Settings) -> None:
    port = free_port()
    with running(production(settings, api_docs=True, match_api=True, metrics_bind=f"127.0.0.1:{port}")) as (url, _):
        assert httpx.get(url + "/api/docs").status_code == 200
        assert httpx.get(url + "/openapi.json").status_code == 200
        assert httpx.post(url + "/api/match", json={"text": "稳岗返还怎么申请"}).status_code == 200
        assert httpx.get(url + "/metrics").status_code == 404  # never on the public port in production
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert metrics.status_code == 200 and "python_info" in metrics.text


def test_development_keeps_docs_and_metrics_on_the_app(settings: Settings) -> None:
    with running(settings) as (url, _):
        assert httpx.get(url + "/api/docs").status_code == 200
        assert httpx.get(url + "/metrics").status_code == 200
        assert "secure" not in httpx.get(url + "/login").headers["set-cookie"].lower()


def test_redis_down_is_degraded_but_alive_and_ready(settings: Settings) -> None:
    nothing = f"redis://127.0.0.1:{free_port()}/0"  # no Redis listens there
    with running(settings.replace("redis", url=nothing)) as (url, _):
        health = httpx.get(url + "/healthz", timeout=30)
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["status"] == "degraded" and body["redis"]["ok"] is False and body["database"]["ok"] is True
        assert httpx.get(url + "/readyz", timeout=30).status_code == 200


@pytest.fixture
def closable(pg_database: str) -> Iterator[str]:
    """The test's PostgreSQL database; connections are allowed again afterwards so it can be dropped."""
    yield pg_database
    name = make_url(pg_database).database
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()


def test_database_down_is_unready_but_alive(settings: Settings, closable: str) -> None:
    with running(settings.replace("database", url=closable)) as (url, _):
        assert httpx.get(url + "/readyz", timeout=30).status_code == 200
        name = make_url(closable).database
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:  # the database stops answering: no new connections, old ones cut
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
        admin.dispose()
        ready = httpx.get(url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["database"]["ok"] is False
        alive = httpx.get(url + "/healthz", timeout=30)
        assert alive.status_code == 200 and alive.json()["status"] == "unavailable"
