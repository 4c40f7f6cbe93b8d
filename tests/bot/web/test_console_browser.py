"""The staff console in a real browser (Debian Chromium through Playwright) against the real app.

An enterprise files an appeal in the chat simulator; staff of the lead unit see it arrive in their queue
without reloading, sign for it and reply, and the enterprise reads both in the chat; 区营商办 transfers it,
the old unit is denied, the new one answers, the enterprise rates it in the chat and it closes.
Screenshots at desktop and phone sizes go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.platform.settings import Settings
from routing import dispatch, escalation, extensions, lifecycle, notify
from routing.lifecycle import Actor
from routing.models import ActorRole, Unit
from routing.rules import load_calendar
from tests.bot.web.console_support import BOSS, CLERK, JUDGE, XSS, file, prepare_console, run, sign, wrote
from tests.conftest import needs_semantic
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE
from tests.support.servers import running

pytestmark = pytest.mark.browser

WAIT_MS = 15_000


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    with running(settings) as served:
        yield served


class Pages:
    """Browser contexts of one test: each is one person (cookies of its own)."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []
        self.strangers: list[str] = []

    def open(self, viewport: ViewportSize = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN")
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "request", lambda request: None if request.url.startswith(self.url) else self.strangers.append(request.url)
        )
        return page

    def staff(self, who: tuple[str, str], viewport: ViewportSize = DESKTOP) -> Page:
        """A browser signed in as `who`, from the keyboard, on the queue."""
        page = self.open(viewport)
        page.goto(self.url + "/console/")
        expect(page).to_have_url(re.compile(r"/login\?next=/console/$"))
        page.get_by_label("用户名").focus()
        page.keyboard.type(who[0])
        page.keyboard.press("Tab")
        page.keyboard.type(who[1])
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=re.compile("待办诉求"))).to_be_visible(timeout=WAIT_MS)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, live: tuple[str, FastAPI]) -> Iterator[Pages]:
    opened = Pages(browser, live[0])
    yield opened
    opened.close()
    assert opened.errors == [], f"JavaScript errors: {opened.errors}"
    assert opened.strangers == [], f"fetched from elsewhere: {opened.strangers}"


UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML.slice(0, 80))"""


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


class Chat:
    """The enterprise in the chat simulator."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        page.goto(url + "/")
        self.bot = page.locator(".row.left")
        expect(self.bot).to_have_count(1, timeout=WAIT_MS)  # the welcome

    def say(self, text: str) -> str:
        count = self.bot.count()
        box = self.page.get_by_label("输入消息", exact=False).first
        box.fill(text)
        box.press("Enter")
        expect(self.bot).to_have_count(count + 1, timeout=WAIT_MS)
        return self.bot.last.inner_text()

    def expect_pushed(self, text: str) -> None:
        expect(self.page.locator(".row.left .bubble").filter(has_text=text)).to_have_count(1, timeout=WAIT_MS)


def denied(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(page.locator("main")).to_contain_text("没有这件诉求，或它不由您的单位办理")


def test_an_appeal_from_the_chat_to_the_queue_signed_answered_transferred_and_closed(
    pages: Pages, live: tuple[str, FastAPI]
) -> None:
    url, _ = live
    clerk = pages.staff(CLERK)
    expect(clerk.locator("#live-list")).to_contain_text("目前没有待办诉求")

    # The enterprise files an appeal in the chat; the clerk's open queue shows it without a reload.
    chat = Chat(pages.open(PHONE), url)
    chat.say("营业执照拿到了，但是消防那边一直不给开业，准入不准营")
    for answer in ("西安某某餐饮有限公司", "王女士", "13800000000", "不清楚"):
        chat.say(answer)
    filed = chat.say("确认")
    found = re.search(r"诉求编号：(LH-\d{8}-\d{4})", filed)
    assert found, filed
    reference = found.group(1)
    row = clerk.get_by_role("link", name=reference)
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(clerk.locator("#live-counts")).to_contain_text("1待签收")
    expect(clerk.locator("tr", has=row).locator(".due")).to_have_class(re.compile(r"\brunning\b"))
    expect(clerk.locator("#live-status")).to_contain_text("已自动更新")
    shot(clerk, "console-queue-desktop.png")

    # Another unit's staff cannot open it, from a list or by typing its URL.
    judge = pages.staff(JUDGE)
    expect(judge.get_by_role("link", name=reference)).to_have_count(0)
    denied(judge, f"{url}/console/appeals/{reference}")

    # Sign for it: the enterprise hears which unit has it.
    row.click()
    expect(clerk.get_by_role("heading", name=re.compile(reference))).to_be_visible()
    clerk.get_by_role("button", name="签收", exact=True).click()
    expect(clerk.get_by_role("status").filter(has_text="已签收")).to_be_visible()
    expect(clerk.locator(".marks")).to_contain_text("已签收")
    chat.expect_pushed("已由区审批局签收")

    # Reply, starting from a quick reply: it reaches the enterprise through the chat simulator.
    clerk.get_by_label("常用回复").select_option(label="约定电话联系")
    box = clerk.get_by_label("回复内容（通过微信发送给企业）")
    expect(box).to_have_value(re.compile("王女士您好，我是区审批局的工作人员"))
    box.press("End")
    box.type("\n也可以直接回复本公众号。")
    clerk.get_by_role("button", name="发送回复").click()
    expect(clerk.get_by_role("status").filter(has_text="回复已发出")).to_be_visible()
    chat.expect_pushed("区审批局回复：\n王女士您好，我是区审批局的工作人员")
    expect(clerk.locator("#live-conversation .msg.unit").last).to_contain_text("客服消息 · 已送达", timeout=WAIT_MS)
    expect(clerk.locator(".marks")).to_contain_text("办理中")  # the reply was the first contact

    # The enterprise answers: the open appeal page shows it without a reload.
    chat.say("明天上午都在，电话13800000000")
    expect(clerk.locator("#live-conversation .msg.enterprise").last).to_contain_text("明天上午都在", timeout=WAIT_MS)
    shot(clerk, "console-appeal-desktop.png")

    # 转派 by 区营商办 (a signed appeal is no longer the unit's to return): from the overview to the appeal.
    boss = pages.staff(BOSS)
    boss.get_by_role("link", name="督办总览").click()
    expect(boss.get_by_role("heading", name=re.compile("督办总览"))).to_be_visible()
    expect(boss.locator("table.units").first).to_contain_text("区审批局")
    shot(boss, "console-supervise-desktop.png")
    boss.goto(f"{url}/console/appeals/{reference}")
    boss.get_by_text("转派到其他单位").click()
    boss.get_by_label("办理单位").select_option(label="区司法局")
    boss.get_by_label("理由").fill("涉及证明事项，由区司法局办理")
    boss.get_by_role("button", name="转派", exact=True).click()
    expect(boss.get_by_role("status").filter(has_text="已转派")).to_be_visible()
    chat.expect_pushed("已转由区司法局办理")

    # The old unit is denied now; the new one has it in its queue.
    denied(clerk, f"{url}/console/appeals/{reference}")
    judge.goto(f"{url}/console/")
    judge.get_by_role("link", name=reference).click()
    judge.get_by_role("button", name="签收", exact=True).click()
    expect(judge.locator(".marks")).to_contain_text("已签收")

    # 办结答复 with a result summary; the enterprise rates it in the chat and it is closed.
    judge.get_by_text("记录联系企业（电话或上门）").click()
    judge.get_by_label("联系情况").fill("已电话联系王女士，说明证明事项已取消")
    judge.get_by_role("button", name="记录", exact=True).click()
    judge.get_by_text("办结答复（填写办理结果）").click()
    judge.get_by_label(re.compile("办理结果")).fill("经核查，消防证明已列入取消清单，已通知窗口不再要求。")
    judge.get_by_role("button", name="发送答复").click()
    expect(judge.get_by_role("status").filter(has_text="答复已发送企业")).to_be_visible()
    chat.expect_pushed("区司法局答复如下")
    assert "感谢您的评价（满意）" in chat.say("满意")
    expect(judge.locator(".marks")).to_contain_text("已办结", timeout=WAIT_MS)  # live, no reload
    expect(judge.locator("#live-actions")).to_contain_text("您没有可以进行的操作")  # the forms were idle
    timeline = judge.locator("#live-timeline")
    for step in ("签收", "回复企业", "转派", "电话联系企业", "答复", "回访"):
        expect(timeline).to_contain_text(step)
    expect(timeline).to_contain_text("经办人 clerk")
    expect(timeline).to_contain_text("区营商办 boss")


def seed_busy_unit(settings: Settings) -> str:
    """Appeals of 区审批局 in several states, with a conversation; the reference of the richest one."""
    reference = file(
        settings,
        openid="o_busy",
        enterprise="西安市莲湖区某某餐饮管理有限公司",
        description="营业执照拿到了，但是消防那边一直不给开业，已经等了两个月，每个月房租两万多。",
    )
    wrote(settings, "o_busy", "营业执照拿到了，但是消防那边一直不给开业", ago=timedelta(minutes=30))
    wrote(
        settings,
        "o_busy",
        "门头照片",
        msg_type="image",
        ago=timedelta(minutes=20),
        PicUrl="http://mmbiz.qpic.cn/demo.jpg",
    )
    wrote(settings, "o_busy", "房东说再不开业就要收回铺面了", msg_type="voice", ago=timedelta(minutes=10))
    sign(settings, reference)
    for number, trade in enumerate(("科技", "商贸", "建材")):
        file(
            settings,
            openid=f"o_other{number}",
            enterprise=f"西安某某{trade}有限公司",
            description="窗口要求提供的证明材料前后不一致",
        )
    return reference


def seed_supervision(settings: Settings) -> None:
    """What 区营商办 has to look at: an overdue and escalated appeal, a returned one, a dispute, an extension."""

    def work(session: Session) -> None:
        office = Actor(ActorRole.SUPERVISOR, "boss", None)
        approval = Actor(
            ActorRole.STAFF, "clerk", session.scalars(select(Unit.id).where(Unit.name == "区审批局")).one()
        )
        late = datetime.now(UTC) - timedelta(days=12)
        dispatch.file_appeal(
            session=session,
            now=late,
            submission=dispatch.Submission(
                openid="o_late",
                enterprise="西安某某建设工程有限公司",
                contact="李四",
                phone="13900000000",
                description="工程款拖欠两年，多次催要无果",
                category_code="C11",
            ),
        )
        escalation.sweep(session=session, now=datetime.now(UTC))
        for name, returns in (("西安某某物流有限公司", 1), ("西安某某医药有限公司", 3)):
            appeal = dispatch.file_appeal(
                session=session,
                submission=dispatch.Submission(
                    openid=f"o_{returns}",
                    enterprise=name,
                    contact="王五",
                    phone="13700000000",
                    description="证明材料要求反复变化",
                    category_code="C06",
                ),
            )
            for number in range(returns):
                if number:
                    dispatch.transfer(
                        session=session, appeal_id=appeal.id, actor=office, unit="区审批局", reason="仍由审批局办理"
                    )
                dispatch.return_appeal(session=session, appeal_id=appeal.id, actor=approval, reason_code="R01")
        asking = dispatch.file_appeal(
            session=session,
            submission=dispatch.Submission(
                openid="o_ext",
                enterprise="西安某某食品有限公司",
                contact="赵六",
                phone="13600000000",
                description="食品经营许可迟迟不批",
                category_code="C06",
            ),
        )
        lifecycle.sign(session=session, appeal_id=asking.id, actor=approval)
        lifecycle.contact(session=session, appeal_id=asking.id, actor=approval)
        extensions.request_extension(
            session=session, appeal_id=asking.id, actor=approval, days=5, reason="需会同市场监管局现场核查"
        )

    run(settings, work)


def test_phone_sized_pages_fit_and_work_from_the_keyboard(
    pages: Pages, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    reference = seed_busy_unit(settings)
    clerk = pages.staff(CLERK, PHONE)
    for path, name in (
        ("/console/", "console-queue-phone.png"),
        (f"/console/appeals/{reference}", "console-appeal-phone.png"),
    ):
        clerk.goto(url + path)
        width = clerk.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways ({width}px)"
        assert clerk.evaluate(UNLABELLED) == [], path
        shot(clerk, name)
    # From the keyboard: focus the reply box, type, tab to the quick replies, policy and send.
    clerk.get_by_label("回复内容（通过微信发送给企业）").focus()
    clerk.keyboard.type("您好，附上相关政策")
    clerk.keyboard.press("Tab")
    clerk.keyboard.press("Tab")
    assert clerk.evaluate("() => document.activeElement.id") == "reply-policy"
    clerk.get_by_label("附上政策卡片").select_option("P05")
    clerk.get_by_label("附上政策卡片").focus()
    clerk.keyboard.press("Tab")
    clerk.keyboard.press("Enter")
    expect(clerk.get_by_role("status").filter(has_text="回复已发出")).to_be_visible()
    expect(clerk.locator("#live-conversation")).to_contain_text("【政策推荐】失业保险稳岗返还")
    seed_supervision(settings)
    boss = pages.staff(BOSS, PHONE)
    boss.goto(url + "/console/supervise")
    assert boss.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    expect(boss.locator("main")).to_contain_text("需会同市场监管局现场核查")
    assert boss.evaluate(UNLABELLED) == []
    for page, state in ((boss, "returned"), (boss, "arbitration"), (boss, "working"), (clerk, "working")):
        page.goto(f"{url}/console/?state={state}")
        page.locator("#live-list a.ref").last.click()  # every form of the page, opened or not, has a label
        expect(page.locator("#h-actions")).to_be_attached()
        assert page.evaluate(UNLABELLED) == [], (page.url, state)
    shot(boss, "console-supervise-phone.png")
    desk = pages.staff(BOSS)
    shot(desk, "console-queue-all-units-desktop.png")
    desk.goto(url + "/console/supervise")
    shot(desk, "console-supervise-busy-desktop.png")


def test_markup_from_the_enterprise_is_shown_as_text_on_every_page(
    pages: Pages, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    reference = file(settings, openid="o_xss", enterprise=f"西安{XSS}有限公司", description=f"执照问题{XSS}")
    wrote(settings, "o_xss", XSS)
    wrote(settings, "o_xss", XSS, msg_type="voice")
    wrote(settings, "o_xss", "", msg_type="image", PicUrl="javascript:window.__xss=3")
    wrote(settings, "o_xss", XSS, msg_type="link", Title=XSS, Url="javascript:window.__xss=4")

    def notices(session: Session) -> None:  # 督办 notices carry the enterprise's name
        calendar = load_calendar(session=session)
        later = calendar.next_working_moment(datetime.now(UTC) + timedelta(days=20))
        escalation.sweep(session=session, now=later)
        notify.notify_escalations(session=session, now=later)
        notify.release_notifications(session=session, now=later, digest_minutes=60, calendar=calendar)

    run(settings, notices)
    clerk = pages.staff(CLERK)
    boss = pages.staff(BOSS)
    for page, path, where in (
        (clerk, "/console/", "#live-list"),
        (clerk, f"/console/appeals/{reference}", "#live-summary"),
        (clerk, f"/console/appeals/{reference}", "#live-conversation"),
        (clerk, "/console/notices", "main"),
        (boss, "/console/", "#live-list"),
        (boss, "/console/supervise", "main"),
        (boss, "/console/notices", "main"),
    ):
        page.goto(url + path)
        expect(page.locator(where)).to_contain_text(XSS)
        if path == "/console/notices" and page is clerk:
            shot(page, "console-notices-desktop.png")
        assert page.evaluate("() => typeof window.__xss") == "undefined", path
        assert page.locator("main img, main script, main a[href^='javascript']").count() == 0, path
    conversation = clerk.locator("#live-conversation")
    clerk.goto(f"{url}/console/appeals/{reference}")
    expect(conversation.locator(".msg.enterprise .bubble").filter(has_text=XSS)).to_have_count(3)
    expect(conversation).to_contain_text("图片（地址无效：javascript:window.__xss=3）")
    assert clerk.evaluate("() => typeof window.__xss") == "undefined"


@needs_semantic
@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "appeal-why-desktop.png"), (PHONE, "appeal-why-phone.png")])
def test_the_appeal_page_shows_why_the_bot_chose_the_unit(
    pages: Pages, live: tuple[str, FastAPI], settings: Settings, viewport: ViewportSize, name: str
) -> None:
    url, _ = live
    reference = file(settings, description="窗口工作人员态度恶劣，材料一次没说清，让我来回跑了四趟", category="C04")
    started = time.monotonic()  # a fit not cached yet is made in the background after the start
    while httpx.get(url + "/healthz").json()["matching"]["mode"] != "hybrid":
        assert time.monotonic() - started < 180, "the classifiers were not fitted"
        time.sleep(0.5)
    boss = pages.staff(BOSS, viewport)
    boss.goto(f"{url}/console/appeals/{reference}")
    why = boss.locator("#why-routed")
    expect(why).to_contain_text("机器人判断的承办单位：区审批局")
    expect(why.locator(".nearest li")).to_have_count(3)
    expect(why).to_contain_text("相似度")
    assert boss.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    why.scroll_into_view_if_needed()
    shot(boss, name)
