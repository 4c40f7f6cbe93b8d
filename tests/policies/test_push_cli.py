"""`appealbot push preview|send|status`: the preview's JSON shape (docs/interfaces.md), the campaign, its counts."""

from __future__ import annotations

import json

import pytest

from bot.cli import main as cli
from bot.platform import db
from bot.platform.settings import Settings
from policies import service
from tests.bot.jobs.push_support import Firm, add_firms, add_policy
from tests.policies.support import prepare

FIRMS = (
    Firm(81, "制造业", "小", ("o_cli_a", "o_cli_b")),
    Firm(82, "制造业", "微", ()),
    Firm(83, "建筑业", "小", ("o_x",)),
)


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(settings, demo=False)
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            add_firms(session, FIRMS)
            add_policy(session, "T1", "行业:制造业;规模:小微", name="小微制造企业技改补贴")
    finally:
        engine.dispose()
    return settings


def test_preview_send_and_status(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["push", "preview", "T1", "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview == {
        "policy": "T1", "eligible": 2, "bound": 1,
        "enterprises": [
            {"uscc": FIRMS[0].uscc, "name": "测试企业81有限公司", "openids": ["o_cli_a", "o_cli_b"]},
            {"uscc": FIRMS[1].uscc, "name": "测试企业82有限公司", "openids": []},
        ],
    }  # fmt: skip
    assert cli.main(["push", "preview", "T1"]) == 0
    text = capsys.readouterr().out
    assert (
        "符合条件的企业 2 家，其中已绑定微信的 1 家，共 2 条消息" in text and "【政策推送】小微制造企业技改补贴" in text
    )
    assert cli.main(["push", "status", "T1"]) == 0
    assert "还没有推送" in capsys.readouterr().out
    assert cli.main(["push", "send", "T1"]) == 0
    assert "符合条件 2 家，已绑定 1 家，共 2 条消息" in capsys.readouterr().out
    assert cli.main(["push", "send", "T1"]) == 0  # the same version again: the existing campaign
    assert "已创建过推送" in capsys.readouterr().out
    assert cli.main(["push", "status", "T1", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert len(status["campaigns"]) == 1
    campaign = status["campaigns"][0]
    assert (campaign["kind"], campaign["state"], campaign["counts"]["queued"], campaign["opened"]) == (
        "new",
        "sending",
        2,
        0,
    )


def test_unknown_and_unpublished_policies_are_refused(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["push", "preview", "NOPE"]) == 2
    assert "没有编号为「NOPE」的政策" in capsys.readouterr().err
    engine = db.make_engine(env.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            policy = service.get_by_code(session=session, code="T1")
            assert policy is not None
            service.set_status(session=session, policy=policy, status="withdrawn", author="admin")
    finally:
        engine.dispose()
    assert cli.main(["push", "send", "T1"]) == 2
    assert "不是已发布状态，不能推送" in capsys.readouterr().err
