"""A campaign on PostgreSQL + Redis with two `appealbot worker` processes: enterprises bound in the chat get the
push exactly once each through a local stand-in of the WeChat API, the ineligible, the unsubscribed and the
over-quota none, nothing in the quiet hours, and a kill -9 of both workers mid-campaign sends nothing twice."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.cli import main as cli
from bot.platform import db
from bot.platform.settings import Settings
from bot.wechat.standin import StandIn
from enterprises.models import Binding
from policies.models import Campaign, CampaignState, Delivery, DeliveryState, Policy
from tests.bot.jobs.push_support import TEMPLATE, ZONE, Firm, add_firms, add_past_pushes, add_policy, received
from tests.enterprises.support import code
from tests.support.servers import reporter, running, standin
from tests.support.wechat import fixture, post

ROOT = Path(__file__).resolve().parents[3]
BULK = 360  # enterprises bound directly, besides those bound in the chat, so that the campaign takes a while
_ids = itertools.count(91_000_001)


def start_worker(settings: Settings, api_url: str, log: Path, **push: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": settings.database_url,
        "APPEALBOT_REDIS_URL": settings.redis.url,
        "APPEALBOT_REDIS_PREFIX": settings.redis.prefix,
        "APPEALBOT_LOG_FORMAT": "json",
        "APPEALBOT_WECHAT_API_BASE": api_url,
        "APPEALBOT_SIMULATOR_ENABLED": "false",
        "APPEALBOT_PUSH_TEMPLATE_ID": TEMPLATE,
        "APPEALBOT_PUSH_RATE": "80",
        "APPEALBOT_PUSH_STALE_AFTER": "2",
        "APPEALBOT_PUSH_CONFIRM_WAIT": "4",
        "APPEALBOT_PUSH_QUIET_HOURS": "",
    }
    env |= {f"APPEALBOT_PUSH_{key.upper()}": value for key, value in push.items()}
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--interval", "0.3"], cwd=ROOT, env=env, stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_for(check: Callable[[], bool], what: str, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def started(log: Path, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, log.read_text(errors="replace")
    return "worker started" in log.read_text(errors="replace")


def chat(client: httpx.Client, settings: Settings, openid: str, *texts: str) -> str:
    reply: dict[str, object] | None = None
    for text in texts:
        status, reply, raw = post(client, settings, fixture("text", FromUserName=openid, Content=text,
                                                            MsgId=str(next(_ids))))  # fmt: skip
        assert status == 200 and reply is not None, raw
    return str(reply["Content"]) if reply else ""


def bind_in_chat(client: httpx.Client, settings: Settings, openid: str, number: int, industry: str) -> None:
    """An enterprise that is not in the register binds and answers the questions: 行业, 小型, no 资质."""
    answer = chat(client, settings, openid, "绑定企业", f"{code(number)} 莲湖{number}号有限公司", industry, "2", "无")
    assert "已记录" in answer, answer


def quiet_now() -> str:
    """Quiet hours around this moment (Beijing time)."""
    now = datetime.now(ZONE)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def counts(engine: Engine) -> dict[str, int]:
    """Deliveries of the campaign of T1 by state."""
    with db.session_factory(engine)() as session:
        rows = session.execute(
            select(Delivery.state, func.count())
            .join(Policy, Policy.id == Delivery.policy_id)
            .where(Policy.code == "T1")
            .group_by(Delivery.state)
        )
        return {str(state): int(number) for state, number in rows}


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_kill_9_and_resume_send_each_push_exactly_once(
    production_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = production_settings.replace("push", template_id=TEMPLATE)
    engine = db.make_engine(settings.database_url)
    workers: list[subprocess.Popen[bytes]] = []
    with (
        running(settings) as (app_url, _),
        standin() as (api_url, api),
        httpx.Client(base_url=app_url, timeout=20) as c,
    ):
        api.report = reporter(app_url, settings)  # WeChat reports each template message to /wechat
        try:
            eligible, ineligible = [f"o_chat_{n}" for n in range(16)], [f"o_chat_builder_{n}" for n in range(3)]
            for number, openid in enumerate(eligible):
                bind_in_chat(c, settings, openid, 100 + number, "1")  # 制造业
            for number, openid in enumerate(ineligible):
                bind_in_chat(c, settings, openid, 200 + number, "5")  # 建筑业
            unsubscribed, busy = eligible[:2], eligible[2:4]
            for openid in unsubscribed:
                assert "已退订" in chat(c, settings, openid, "退订")
            with db.transaction(db.session_factory(engine)) as session:
                bulk = add_firms(session, [Firm(1000 + n, "制造业", "微", (f"o_bulk_{n}",)) for n in range(BULK)])
                assert bulk
                add_policy(session, "T1", "行业:制造业;规模:小微;类型:补贴", name="小微制造企业技改补贴")
                for openid in busy:  # three pushes this week already
                    add_past_pushes(
                        session,
                        _enterprise_of(session, openid),
                        openid,
                        count=3,
                        when=datetime.now(UTC) - timedelta(days=1),
                    )
            monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
            monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
            assert cli.main(["push", "send", "T1"]) == 0
            targets = set(eligible) | {f"o_bulk_{n}" for n in range(BULK)}
            expected = targets - set(unsubscribed) - set(busy)

            # Quiet hours: two workers sweep for two seconds and send nothing.
            logs = [tmp_path / f"worker-{name}.log" for name in "abcde"]
            workers += [start_worker(settings, api_url, logs[i], quiet_hours=quiet_now()) for i in (0, 1)]
            for log, process in zip(logs, workers, strict=False):
                wait_for(partial(started, log, process), "the quiet workers")
            time.sleep(2)
            assert received(api) == {}
            for process in workers:
                process.terminate()
                process.wait(timeout=30)

            # Two workers send; both are killed with -9 half-way.
            workers = [start_worker(settings, api_url, logs[i]) for i in (2, 3)]
            wait_for(lambda: len(received(api)) >= len(expected) // 2, "half of the campaign", timeout=120)
            wait_for(lambda: counts(engine).get("sending", 0) > 0, "a send under way")
            for process in workers:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            at_kill = counts(engine)
            got_at_kill = len(received(api))
            assert 0 < got_at_kill < len(expected) and at_kill.get("sending", 0) > 0, at_kill
            print(f"killed with {got_at_kill} of {len(expected)} received and {at_kill['sending']} sends under way")
            with db.session_factory(engine)() as session:
                sent = (DeliveryState.SENT, DeliveryState.DELIVERED)  # WeChat's report may have come in already
                senders = set(session.scalars(select(Delivery.claimed_by).where(Delivery.state.in_(sent))))
            assert len({sender for sender in senders if sender}) == 2, "both workers sent"

            # A new worker resumes: the in-flight sends are settled by WeChat's reports or sent once again.
            workers = [start_worker(settings, api_url, logs[4])]
            wait_for(lambda: _campaign_done(engine), "the end of the campaign", timeout=180)
        finally:
            for process in workers:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
        _check_exactly_once(api, expected, set(ineligible) | set(unsubscribed) | set(busy))
        final = counts(engine)
        assert final.get("unsubscribed") == 2 and final.get("over_quota") == 2
        assert final.get("queued", 0) == final.get("sending", 0) == final.get("uncertain", 0) == 0
        assert final.get("delivered", 0) + final.get("sent", 0) == len(expected)
    engine.dispose()


def _enterprise_of(session: Session, openid: str) -> int:
    found = session.scalar(select(Binding.enterprise_id).where(Binding.openid == openid))
    assert found is not None
    return int(found)


def _campaign_done(engine: Engine) -> bool:
    with db.session_factory(engine)() as session:
        states = set(session.scalars(select(Campaign.state)))
    return states == {CampaignState.DONE}


def _check_exactly_once(api: StandIn, expected: set[str], never: set[str]) -> None:
    got = received(api)
    duplicates = {openid: len(items) for openid, items in got.items() if len(items) != 1}
    assert duplicates == {}, f"sent more than once: {duplicates}"
    assert set(got) == expected
    assert not set(got) & never
