"""Who may see what in the staff console, over real HTTP against the real app: roles, units, CSRF, escaping.

A unit's staff see only the appeals their unit handles now: another unit's appeal is a 404 on every page,
endpoint and form, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.platform.settings import Settings
from bot.web.console import actions
from bot.web.console.common import forget_calendar_warning
from routing import escalation, notify, service
from routing.models import AppealEvent, CalendarYear, EnterpriseNotice, Unit
from routing.rules import load_calendar
from tests.bot.web.console_support import BOSS, CLERK, HEAD, JUDGE, XSS, client, file, prepare_console, run, sign, wrote
from tests.policies.support import ADMIN, login
from tests.support.servers import running


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    with running(settings) as served:
        yield served


def changes(settings: Settings) -> tuple[int, int]:
    """(logged transitions, queued enterprise notices): what any action would add to."""
    return run(
        settings,
        lambda session: (
            session.execute(select(func.count()).select_from(AppealEvent)).scalar_one(),
            session.execute(select(func.count()).select_from(EnterpriseNotice)).scalar_one(),
        ),
    )


def escalate_a_month_on(session: Session) -> None:
    """Sweep as the worker would a month from now, and release the notices it writes.

    A month: the 10-working-day 答复 limit reaches 区营商办 at 200%, 20 working days on, whatever the hour of filing.
    """
    calendar = load_calendar(session=session)
    later = calendar.next_working_moment(datetime.now(UTC) + timedelta(days=30))
    escalation.sweep(session=session, now=later)
    notify.notify_escalations(session=session, now=later)
    notify.release_notifications(session=session, now=later, digest_minutes=60, calendar=calendar)


def test_each_role_lands_on_its_own_pages(live: tuple[str, FastAPI]) -> None:
    url, _ = live
    with httpx.Client(base_url=url) as anonymous:
        response = anonymous.get("/console/appeals/LH-20261123-0001", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/console/appeals/LH-20261123-0001"
        assert anonymous.get("/console/live", follow_redirects=False).status_code == 303
    for who in (CLERK, HEAD, JUDGE, BOSS):
        signed, _ = client(url, who)  # each lands on /console/ after signing in
        page = signed.get("/console/")
        assert page.status_code == 200 and "待办诉求" in page.text
        assert (signed.get("/console/supervise").status_code == 200) is (who == BOSS)
        assert signed.get("/admin/policies").status_code == 403
        signed.close()
    with httpx.Client(base_url=url) as admin:
        assert login(admin, *ADMIN).headers["location"] == "/admin/"
        refused = admin.get("/console/")
        assert refused.status_code == 403 and "没有访问此页面的权限" in refused.text


def test_another_units_appeal_is_a_404_on_every_page_endpoint_and_form(
    backend: Settings, live_backend: tuple[str, FastAPI]
) -> None:
    url, _ = live_backend
    reference = file(backend, openid="o_private", enterprise="西安保密科技有限公司")
    judge, token = client(url, JUDGE)
    missing = judge.get("/console/appeals/LH-19990101-0001")
    hidden = judge.get(f"/console/appeals/{reference}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text  # nothing tells "exists elsewhere" from "does not exist"
    assert reference not in hidden.text and "没有这件诉求，或它不由您的单位办理" in hidden.text
    assert judge.get(f"/console/appeals/{reference}/live").status_code == 404
    before = changes(backend)
    for action in actions.HANDLERS:
        response = judge.post(
            f"/console/appeals/{reference}/{action}",
            data={
                "csrf_token": token,
                "text": "x",
                "reason": "x",
                "reason_code": "R01",
                "unit": "区司法局",
                "note": "x",
                "days": "3",
                "position": "1",
                "progress": "x",
                "rating": "满意",
                "decision": "approve",
            },
        )
        assert response.status_code == 404, action
    assert changes(backend) == before
    listing = judge.get("/console/", params={"q": reference}).text
    assert f"/console/appeals/{reference}" not in listing and "没有符合条件的诉求" in listing
    assert "西安保密科技有限公司" not in judge.get("/console/", params={"state": "dispatched"}).text
    clerk, _ = client(url, CLERK)
    assert clerk.get(f"/console/appeals/{reference}").status_code == 200
    assert reference in clerk.get("/console/", params={"q": "保密"}).text
    boss, _ = client(url, BOSS)
    assert boss.get(f"/console/appeals/{reference}").status_code == 200  # 区营商办 sees every unit
    for signed in (judge, clerk, boss):
        signed.close()


@pytest.fixture
def live_backend(backend: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(backend)
    with running(backend) as served:
        yield served


def test_every_console_form_needs_the_session_token(live: tuple[str, FastAPI], settings: Settings) -> None:
    url, _ = live
    reference = file(settings)
    clerk, _ = client(url, CLERK)
    before = changes(settings)
    for path in [f"/console/appeals/{reference}/{action}" for action in actions.HANDLERS] + ["/console/notices/read"]:
        for token in ("", "forged"):
            response = clerk.post(path, data={"csrf_token": token, "text": "x", "all": "1"}, follow_redirects=False)
            assert response.status_code == 403 and "页面已过期或来源不明" in response.text, path
    assert changes(settings) == before
    clerk.close()


def test_console_pages_allow_only_their_own_script(live: tuple[str, FastAPI], settings: Settings) -> None:
    url, _ = live
    reference = file(settings)
    clerk, _ = client(url, CLERK)
    for path in ("/console/", f"/console/appeals/{reference}", "/console/notices"):
        policy = clerk.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in clerk.get("/login").headers["content-security-policy"]  # still no script at all
    script = clerk.get("/static/console.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text and "eval(" not in script.text
    clerk.close()


ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__xss=2&#34;&gt;"


def test_markup_from_the_enterprise_is_escaped_on_every_page(live: tuple[str, FastAPI], settings: Settings) -> None:
    url, _ = live
    reference = file(settings, openid="o_xss", enterprise=f"西安{XSS}有限公司", description=f"执照{XSS}")
    wrote(settings, "o_xss", XSS)
    wrote(settings, "o_xss", XSS, msg_type="voice")
    wrote(settings, "o_xss", "", msg_type="image", PicUrl="javascript:alert(1)")
    wrote(settings, "o_xss", "", msg_type="link", Title=XSS, Url="javascript:alert(2)")
    wrote(settings, "o_xss", "", msg_type="location", Label=XSS, Location_X="1", Location_Y="2")

    run(settings, escalate_a_month_on)
    clerk, _ = client(url, CLERK)
    boss, _ = client(url, BOSS)
    pages = {
        "queue": clerk.get("/console/").text,
        "appeal": clerk.get(f"/console/appeals/{reference}").text,
        "notices": clerk.get("/console/notices").text,
        "supervisor queue": boss.get("/console/").text,
        "supervise": boss.get("/console/supervise").text,
        "digest": boss.get("/console/notices").text,
    }
    for name, html in pages.items():
        assert ESCAPED in html, name
        assert "<script>window" not in html and "<img src=x" not in html, name
        assert 'href="javascript:' not in html, name
    assert pages["appeal"].count(ESCAPED) >= 5  # enterprise, description, text, voice, link title, location
    assert "图片（地址无效：javascript:alert(1)）" in pages["appeal"]
    clerk.close()
    boss.close()


def test_admins_and_supervisors_are_warned_of_missing_holiday_years(
    live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    today = datetime.now(UTC).date()
    missing = run(settings, lambda session: service.missing_years(session=session, today=today))
    forget_calendar_warning()
    with httpx.Client(base_url=url, follow_redirects=True) as admin:
        login(admin, *ADMIN)
        boss, _ = client(url, BOSS)
        clerk, _ = client(url, CLERK)
        for page in (admin.get("/admin/policies").text, boss.get("/console/supervise").text):
            assert ("法定节假日安排" in page) is bool(missing)
            for year in missing:
                assert f"{year} 年" in page
        assert "法定节假日安排" not in clerk.get("/console/").text  # unit staff are not asked to act on it

        def enter(session: Session) -> None:
            for year in missing:
                session.add(CalendarYear(year=year, source="admin", entered_at=datetime.now(UTC)))

        run(settings, enter)
        forget_calendar_warning()
        assert "法定节假日安排" not in admin.get("/admin/policies").text
        assert "法定节假日安排" not in boss.get("/console/supervise").text
        boss.close()
        clerk.close()


def test_the_queue_marks_new_enterprise_messages_until_the_appeal_is_opened(
    live_backend: tuple[str, FastAPI], backend: Settings
) -> None:
    url, _ = live_backend
    settings = backend
    reference = file(settings, openid="o_news")
    sign(settings, reference)
    clerk, _ = client(url, CLERK)
    head, _ = client(url, HEAD)
    stamp = clerk.get("/console/live").json()["stamp"]
    assert "新消息" not in clerk.get("/console/").text
    wrote(settings, "o_news", "请问什么时候来核查？")
    assert clerk.get("/console/live").json()["stamp"] != stamp  # the open page fetches itself again
    row = re.search(rf"{reference}</a>(.*?)</td>", clerk.get("/console/").text, re.S)
    assert row and "新消息" in row.group(1)
    page_stamp = clerk.get(f"/console/appeals/{reference}/live").json()["stamp"]
    assert "请问什么时候来核查？" in clerk.get(f"/console/appeals/{reference}").text
    assert "新消息" not in clerk.get("/console/").text  # read now, by this user
    assert "新消息" in head.get("/console/").text  # the unit head has not looked yet
    assert clerk.get(f"/console/appeals/{reference}/live").json()["stamp"] == page_stamp
    file(settings, openid="o_another")
    assert clerk.get("/console/live").json()["stamp"] != stamp
    clerk.close()
    head.close()


def test_staff_notices_are_read_and_marked_per_unit(live_backend: tuple[str, FastAPI], backend: Settings) -> None:
    url, _ = live_backend
    reference = file(backend, openid="o_notice")

    run(backend, escalate_a_month_on)
    clerk, token = client(url, CLERK)
    head, _ = client(url, HEAD)
    judge, judge_token = client(url, JUDGE)
    page = clerk.get("/console/notices").text
    ids = re.findall(r'name="id" value="(\d+)"', page)
    assert len(ids) == 3 and page.count('"said">【提醒】') == 3 and reference in page  # sign, contact and reply at 75%
    assert re.search(r'通知 <span class="pill">3<span class="sr">条未读', page)
    assert head.get("/console/notices").text.count('"said">【超时】') == 3  # the head also hears of overdue limits
    assert "【提醒】" not in judge.get("/console/notices").text  # another unit's notices stay there
    judge.post("/console/notices/read", data={"csrf_token": judge_token, "id": ids[0]})
    assert len(re.findall(r'name="id" value="(\d+)"', clerk.get("/console/notices").text)) == 3
    clerk.post("/console/notices/read", data={"csrf_token": token, "id": ids[0]})
    assert len(re.findall(r'name="id" value="(\d+)"', clerk.get("/console/notices").text)) == 2
    clerk.post("/console/notices/read", data={"csrf_token": token, "all": "1"})
    page = clerk.get("/console/notices").text
    assert 'name="id"' not in page and "0 条未读" in page and page.count('"said">【提醒】') == 3  # kept, read
    boss, _ = client(url, BOSS)
    assert "督办汇总：3 件诉求需要督办" in boss.get("/console/notices").text  # (3 limits of one appeal)
    for signed in (clerk, head, judge, boss):
        signed.close()


def test_the_queue_reads_its_filters_from_the_link_and_ignores_what_it_does_not_know(
    live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    waiting, signed = file(settings, openid="o_waiting"), file(settings, openid="o_signed")
    sign(settings, signed)
    units = dict(run(settings, lambda session: session.execute(select(Unit.name, Unit.id)).all()))
    clerk, _ = client(url, CLERK)
    boss, _ = client(url, BOSS)
    dispatched = clerk.get("/console/", params={"state": "dispatched"}).text
    assert waiting in dispatched and signed not in dispatched
    for params in ({"state": "bogus", "deadline": "x", "page": "²"}, {"page": "abc", "unit": str(units["区司法局"])}):
        page = clerk.get("/console/", params=params)  # a unit is a filter of the all-units scope only
        assert page.status_code == 200 and waiting in page.text and signed in page.text, params
    assert signed in boss.get("/console/", params={"unit": str(units["区审批局"])}).text
    assert signed not in boss.get("/console/", params={"unit": str(units["区司法局"])}).text
    clerk.close()
    boss.close()
