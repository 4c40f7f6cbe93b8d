"""政策找人 in a real browser (Debian Chromium through Playwright) against the real app.

An enterprise binds in the chat page and then sees the policies it qualifies for first, marked 【符合】; an admin
publishes a policy, previews its push, confirms it, and follows the report while the worker sends through the
simulator's WeChat stand-in (which reports each template message back, as WeChat does); the enterprise sees the
push in the chat page and opens it with "详情". Screenshots at desktop and phone size go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, ViewportSize, expect

from bot.platform import db
from bot.platform.settings import Settings
from policies import service
from policies.models import PolicyStatus
from tests.bot.jobs.push_support import Firm, add_firms
from tests.enterprises.support import code
from tests.policies.support import ADMIN, prepare
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE
from tests.support.servers import running

pytestmark = pytest.mark.browser

WAIT_MS = 20_000
BOUND = ("o_web_bound_a", "o_web_bound_b", "o_web_bound_c")


def screenshot(page: Page, name: str, *, full: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """The app with its worker, pushing through the simulator's stand-in with a policy-push template."""
    settings = settings.replace("push", template_id="TPL_POLICY_PUSH", quiet_hours="", rate=100.0)
    prepare(settings)
    with running(settings, run_worker=True) as served:
        yield served


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_enterprise_binds_in_the_chat_and_sees_fitting_policies_first(
    browser: Browser, live: tuple[str, FastAPI], viewport: ViewportSize, size: str
) -> None:
    url, _ = live
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    bot = page.locator(".row.left")
    field = page.get_by_label("输入消息", exact=False).first
    expect(bot).to_have_count(1, timeout=WAIT_MS)  # the welcome

    def say(text: str, expected: str) -> None:
        count = bot.count()
        field.fill(text)
        field.press("Enter")
        expect(bot).to_have_count(count + 1, timeout=WAIT_MS)
        expect(bot.last).to_contain_text(expected)

    say("绑定企业", "统一社会信用代码")
    say(f"{code(51 if size == 'desktop' else 52)} 莲湖巷口面馆有限公司", "贵企业主要做什么")
    say("3", "贵企业的规模是")
    say("1", "资质")
    say("无", "条政策符合适用条件")
    say("我的企业", "行业：住宿和餐饮业（企业自报）")
    say("小微企业有什么税收优惠", "【符合】")
    listing = bot.last.locator(".bubble").inner_text()
    assert listing.splitlines()[0].startswith("根据贵企业的信息，标【符合】的")
    numbered = [line for line in listing.splitlines() if re.match(r"^\d+\. ", line)]
    marks = ["【符合】" in line for line in numbered]
    assert marks[0] and marks == sorted(marks, reverse=True), numbered  # every fitting one before the others
    assert errors == []
    page.locator("#messages").evaluate("list => { list.scrollTop = list.scrollHeight; }")
    screenshot(page, f"bind-chat-{size}.png", full=False)
    context.close()


def seed_campaign(settings: Settings) -> int:
    """Three small manufacturers bound in WeChat, one bound 建筑业 firm, and a draft policy for small manufacturers."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            firms = [Firm(60 + n, "制造业", "小", (openid,)) for n, openid in enumerate(BOUND)]
            add_firms(session, [*firms, Firm(70, "建筑业", "小", ("o_web_builder",))])
            raw = {
                "code": "LH-T1", "name": "小微制造企业技改补贴", "body": "区工信交通局",
                "content": "对实施技术改造的小微制造企业，按设备投资的10%给予补贴，最高50万元。",
                "tags": "行业:制造业;规模:小微;类型:补贴", "mode": "依申请",
            }  # fmt: skip
            return service.create(session=session, raw=raw, author="admin", status=PolicyStatus.DRAFT).id
    finally:
        engine.dispose()


def test_an_admin_runs_a_campaign_from_preview_to_report(
    browser: Browser, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    policy_id = seed_campaign(settings)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/admin/policies/{policy_id}")
    page.get_by_label("用户名").fill(ADMIN[0])
    page.get_by_label("密码").fill(ADMIN[1])
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="小微制造企业技改补贴")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="发布").click()

    # Publishing leads to the preview: who, how many, the exact message; nothing sent yet.
    expect(page.get_by_role("heading", name="推送预览")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#n-eligible")).to_have_text("3")
    expect(page.locator("#n-messages")).to_have_text("3")
    expect(page.locator(".message-preview").first).to_contain_text("贵企业为制造业小微企业，符合适用对象。")
    screenshot(page, "push-preview-desktop.png")
    page.set_viewport_size(PHONE)
    screenshot(page, "push-preview-phone.png")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name=re.compile("确认推送")).click()

    # The report: the worker sends, the stand-in reports each delivery back; reload until all are delivered.
    expect(page.get_by_role("heading", name=re.compile("推送报告"))).to_be_visible(timeout=WAIT_MS)
    delivered = page.locator('[data-figure="已送达"]')
    for _ in range(60):
        if delivered.inner_text() == "3":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(delivered).to_have_text("3")
    expect(page.locator('[data-figure="已发出"]')).to_have_text("3")
    expect(page.locator('[data-figure="失败"]')).to_have_text("0")

    # The enterprise sees the push in its chat and opens it; the report counts it as opened.
    chat = browser.new_context(viewport=PHONE, locale="zh-CN")
    chat.add_init_script(f"window.localStorage.setItem('appealbot.openid', '{BOUND[0]}')")
    phone = chat.new_page()
    phone.goto(url + "/")
    expect(phone.locator("[data-template-id='TPL_POLICY_PUSH']")).to_contain_text(
        "小微制造企业技改补贴", timeout=WAIT_MS
    )
    field = phone.get_by_label("输入消息", exact=False).first
    field.fill("详情")
    field.press("Enter")
    expect(phone.locator(".row.left").last).to_contain_text("【小微制造企业技改补贴】", timeout=WAIT_MS)
    expect(phone.locator(".row.left").last).to_contain_text("适用判断：贵企业为制造业小微企业，符合适用对象")
    phone.locator("[data-template-id='TPL_POLICY_PUSH']").scroll_into_view_if_needed()
    phone.locator("#messages").evaluate(
        'list => { list.scrollTop = document.querySelector("[data-template-id]").offsetTop - 60; }'
    )
    screenshot(phone, "push-in-chat-phone.png", full=False)
    chat.close()
    page.reload()
    expect(page.locator('[data-figure="已查看"]')).to_have_text("1")
    expect(page.locator("tbody")).not_to_contain_text("o_web_builder")  # another industry: not a target
    screenshot(page, "push-report-desktop.png")
    page.set_viewport_size(PHONE)
    screenshot(page, "push-report-phone.png")

    # The enterprise's page: its fields with their source, its user, the policy it fits, the push it got.
    page.get_by_role("link", name="测试企业60有限公司").click()
    expect(page.get_by_role("heading", name="测试企业60有限公司")).to_be_visible()
    expect(page.locator("main")).to_contain_text("导入核验")
    expect(page.locator("main")).to_contain_text("已送达 · 已查看")
    screenshot(page, "enterprise-phone.png")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "enterprise-desktop.png")
    assert errors == []
    context.close()
