"""Every action of the appeal page over real HTTP against the real app, on SQLite and on PostgreSQL.

Each one is taken by the signed-in user (the log names them), reaches the enterprise where it should
(an enterprise notice, sent by the worker's path), and a refused one shows the domain's reason with what
was typed kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.platform.settings import Settings
from routing.models import (
    Action,
    ActorRole,
    Appeal,
    AppealEvent,
    AppealState,
    EnterpriseNotice,
    ExtensionRequest,
    Milestone,
)
from tests.bot.web.console_support import BOSS, CLERK, JUDGE, client, file, prepare_console, run, sign
from tests.support.servers import running


@pytest.fixture
def live(backend: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(backend)
    with running(backend) as served:
        yield served


class Desk:
    """A signed-in user posting the appeal page's forms."""

    def __init__(self, url: str, who: tuple[str, str]) -> None:
        self.http, self.token = client(url, who)

    def post(self, reference: str, action: str, **form: str) -> httpx.Response:
        return self.http.post(f"/console/appeals/{reference}/{action}", data={"csrf_token": self.token, **form})

    def ok(self, reference: str, action: str, **form: str) -> str:
        """Post a form that must succeed; where it redirected to."""
        response = self.post(reference, action, **form)
        assert response.status_code == 303, (action, response.text[response.text.find('role="alert"') :][:300])
        return str(response.headers["location"])


def history(settings: Settings, reference: str) -> list[tuple[Action, AppealState, str, ActorRole]]:
    """(action, to_state, actor, role) of every logged transition after filing."""

    def read(session: Session) -> list[tuple[Action, AppealState, str, ActorRole]]:
        rows = session.execute(
            select(AppealEvent.action, AppealEvent.to_state, AppealEvent.actor, AppealEvent.actor_role)
            .join(Appeal, Appeal.id == AppealEvent.appeal_id)
            .where(Appeal.reference == reference)
            .order_by(AppealEvent.id)
        )
        return [(action, state, actor, role) for action, state, actor, role in rows][2:]

    return list(run(settings, read))


def told(settings: Settings, reference: str) -> list[tuple[str, str]]:
    """(event, text) of every message queued for the enterprise."""
    return list(
        run(
            settings,
            lambda session: [
                (event, text)
                for event, text in session.execute(
                    select(EnterpriseNotice.event, EnterpriseNotice.text)
                    .join(Appeal, Appeal.id == EnterpriseNotice.appeal_id)
                    .where(Appeal.reference == reference)
                    .order_by(EnterpriseNotice.id)
                )
            ],
        )
    )


def state(settings: Settings, reference: str) -> str:
    return str(run(settings, lambda session: session.scalar(select(Appeal.state).where(Appeal.reference == reference))))


def test_the_main_line_sign_reply_suspend_extend_plan_answer_and_visit(
    live: tuple[str, FastAPI], backend: Settings
) -> None:
    url, _ = live
    clerk, boss = Desk(url, CLERK), Desk(url, BOSS)
    ref = file(backend, openid="o_main")
    assert clerk.ok(ref, "sign") == f"/console/appeals/{ref}?done=signed"
    assert "已签收，已通知企业" in clerk.http.get(f"/console/appeals/{ref}?done=signed").text
    clerk.ok(ref, "message", text="", quick="0", policy="P05")  # a quick reply with a policy card
    clerk.ok(ref, "phone", note="已电话联系张三")
    clerk.ok(ref, "suspend", reason="请补充营业执照副本和租赁合同")
    assert state(backend, ref) == "suspended"
    clerk.ok(ref, "resume", note="材料已收到")
    clerk.ok(ref, "request_extension", days="3", reason="需协调消防部门现场核查")
    assert "待区营商办审批" in clerk.http.get(f"/console/appeals/{ref}").text
    assert boss.ok(ref, "decide_extension", decision="approve", back="supervise") == (
        "/console/supervise?done=extension_approved"
    )
    clerk.ok(ref, "request_extension", days="2", reason="再延两天")
    boss.ok(ref, "decide_extension", decision="reject", note="已延期过一次，请抓紧办理")
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    clerk.ok(
        ref, "plan", title_1="消防现场核查", due_1=in_a_week, title_2="整改验收", due_2=in_a_month, note="需要分两步"
    )
    clerk.ok(ref, "report_milestone", position="1", progress="现场核查已完成")
    clerk.ok(ref, "report_milestone", position="2", progress="已验收合格")
    clerk.ok(ref, "answer", text="已协调消防部门，企业可以开业")
    boss.ok(ref, "visit", rating="满意", note="电话回访")
    assert state(backend, ref) == "closed"
    assert history(backend, ref) == [
        ("sign", "signed", "clerk", "staff"),
        ("message", "handling", "clerk", "staff"),
        ("phone", "handling", "clerk", "staff"),
        ("suspend", "suspended", "clerk", "staff"),
        ("resume", "handling", "clerk", "staff"),
        ("request_extension", "handling", "clerk", "staff"),
        ("decide_extension", "handling", "boss", "supervisor"),
        ("request_extension", "handling", "clerk", "staff"),
        ("decide_extension", "handling", "boss", "supervisor"),
        ("plan", "rectifying", "clerk", "staff"),
        ("report_milestone", "rectifying", "clerk", "staff"),
        ("report_milestone", "rectifying", "clerk", "staff"),
        ("answer", "answered", "clerk", "staff"),
        ("visit", "closed", "boss", "supervisor"),
    ]
    notices = told(backend, ref)
    assert [event for event, _ in notices] == [
        "signed",
        "message",
        "suspended",
        "resumed",  # the clock runs again: the enterprise is told, with its answer date
        "extended",
        "plan",
        "milestone",
        "milestone",
        "answered",
        "closed",
    ]
    message = notices[1][1]
    assert message.startswith(f"关于您反映的诉求（编号 {ref}），区审批局回复：\n张三您好")
    assert "【政策推荐】失业保险稳岗返还" in message and "如何申请：" in message
    assert "请补充营业执照副本和租赁合同" in notices[2][1]
    assert notices[3][1].startswith(f"您反映的诉求（编号 {ref}）已恢复办理，办理时限继续计算，答复期限：")
    decisions = run(
        backend,
        lambda session: [
            (row.approved, row.decided_by, row.decision)
            for row in session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id))
        ],
    )
    assert decisions == [(True, "boss", ""), (False, "boss", "已延期过一次，请抓紧办理")]
    page = clerk.http.get(f"/console/appeals/{ref}").text
    for shown in ("已办结", "消防现场核查", "已验收合格", "电话回访", "区营商办 boss"):
        assert shown in page


def test_return_transfer_arbitrate_and_close_move_the_appeal_between_units(
    live: tuple[str, FastAPI], backend: Settings
) -> None:
    url, _ = live
    clerk, judge, boss = Desk(url, CLERK), Desk(url, JUDGE), Desk(url, BOSS)
    ref = file(backend, openid="o_route")
    assert clerk.ok(ref, "return", reason_code="R01", reason="应由区司法局办理") == "/console/?done=returned"
    assert clerk.http.get(f"/console/appeals/{ref}").status_code == 404  # it left the unit
    assert "退回待重新派单" in boss.http.get("/console/supervise").text
    boss.ok(ref, "transfer", unit="区司法局", reason="属司法局职责")
    judge.ok(ref, "sign")
    assert history(backend, ref) == [
        ("return", "returned", "clerk", "staff"),
        ("transfer", "dispatched", "boss", "supervisor"),
        ("sign", "signed", "judge", "staff"),
    ]
    assert [event for event, _ in told(backend, ref)] == ["transferred", "signed"]

    disputed = file(backend, openid="o_dispute")
    for _ in range(2):
        clerk.ok(disputed, "return", reason_code="R04")
        boss.ok(disputed, "transfer", unit="区审批局", reason="仍由审批局办理")
    clerk.ok(disputed, "return", reason_code="R01")
    assert state(backend, disputed) == "arbitration"
    assert disputed in boss.http.get("/console/supervise").text
    boss.ok(disputed, "arbitrate", unit="区审批局", reason="裁定：属审批局职责")
    refused = clerk.post(disputed, "return", reason_code="R01")
    assert refused.status_code == 422 and "已裁定由本单位办理，不能再退回" in refused.text

    unreachable = file(backend, openid="o_unreachable")
    sign(backend, unreachable)
    clerk.ok(unreachable, "phone", note="上门联系")
    clerk.ok(unreachable, "answer", text="已办理", solved="no")
    boss.ok(unreachable, "close", reason="回访三次未接通")
    assert state(backend, unreachable) == "closed"
    assert (
        run(backend, lambda session: session.scalar(select(Appeal.outcome).where(Appeal.reference == unreachable)))
        == "unsolved"
    )


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_refused_actions_show_the_reason_and_keep_what_was_typed(live: tuple[str, FastAPI], backend: Settings) -> None:
    url, _ = live
    clerk, boss = Desk(url, CLERK), Desk(url, BOSS)
    ref = file(backend)
    cases = [
        (clerk, "message", {"text": "先回复<b>一句</b>"}, "不能回复企业：请先签收", "先回复&lt;b&gt;一句&lt;/b&gt;"),
        (clerk, "return", {"reason": "不归我们管"}, "退回须选择退回原因", "不归我们管"),
        (clerk, "transfer", {"unit": "区司法局", "reason": "想转走"}, "只有区营商办可以转派", None),
        (boss, "sign", {}, "由区审批局办理，您所在单位不能签收", None),
        (clerk, "answer", {"text": "办好了"}, "请先签收并联系企业后再答复", "办好了"),
    ]
    for desk, action, form, reason, kept in cases:
        response = desk.post(ref, action, **form)
        assert response.status_code == 422, action
        assert reason in response.text, (action, response.text[response.text.find('role="alert"') :][:200])
        if kept:
            assert kept in response.text
    sign(backend, ref)
    clerk.ok(ref, "phone", note="已联系")
    for action, form, reason in [
        ("plan", {"title_1": "核查", "due_1": "2026-13-40"}, "第 1 行的日期「2026-13-40」无效"),
        ("plan", {"title_1": "核查"}, "第 1 行需要同时填写内容和日期"),
        ("plan", {}, "整改计划至少需要一个时间节点"),
        ("request_extension", {"days": "三", "reason": "x"}, "延期天数请填写整数"),
        ("request_extension", {"days": "99", "reason": "x"}, "最多还可延期 23 个工作日"),
        ("message", {"policy": "NOPE"}, "政策 NOPE 已下线或不存在"),
        ("suspend", {"reason": " "}, "挂起原因（需要企业补充什么）不能为空"),
    ]:
        response = clerk.post(ref, action, **form)
        assert response.status_code == 422 and reason in response.text, (action, form)
    assert '<details class="card action" id="act-plan" open>' in clerk.post(ref, "plan").text
    assert state(backend, ref) == "handling"
    assert run(backend, lambda session: session.scalar(select(Milestone.id))) is None
