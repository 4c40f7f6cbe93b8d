"""A conversation that knows what it waits for, end to end in a real browser (Debian Chromium through Playwright):
the chat simulator page as the enterprise, /console/ as staff and 区营商办, against the real app.

挂起 → the enterprise supplements in two messages (text, then an image) → staff see both live → the clock
resumes; a rating with a comment, and a 不满意 that reopens (重办 list, 不满意 count); "人工客服" answered from
the console inbox; a second appeal filed with one confirmation; a transfer warned about, a category changed.
Screenshots at desktop and phone sizes go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from bot.platform.settings import Settings
from routing import lifecycle
from tests.bot.web.console_support import BOSS, CLERK, act, file, prepare_console, sign
from tests.bot.web.test_console_browser import Chat, Pages, shot
from tests.support.browser import DESKTOP, PHONE
from tests.support.servers import running

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
REFERENCE = re.compile(r"诉求编号：(LH-\d{8}-\d{4})")


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    with running(settings) as served:
        yield served


@pytest.fixture
def pages(browser: Browser, live: tuple[str, FastAPI]) -> Iterator[Pages]:
    opened = Pages(browser, live[0])
    yield opened
    opened.close()
    assert opened.errors == [], f"JavaScript errors: {opened.errors}"
    assert opened.strangers == [], f"fetched from elsewhere: {opened.strangers}"


def openid(chat: Chat) -> str:
    value = chat.page.evaluate("() => window.localStorage.getItem('appealbot.openid')")
    assert isinstance(value, str)
    return value


def file_in_chat(chat: Chat, text: str, answers: tuple[str, ...]) -> str:
    chat.say(text)
    reply = ""
    for answer in answers:
        reply = chat.say(answer)
    found = REFERENCE.search(reply)
    assert found, reply
    return found.group(1)


def send_image(chat: Chat) -> str:
    count = chat.bot.count()
    chat.page.get_by_role("button", name="更多：发送图片、位置或语音").click()
    chat.page.get_by_role("button", name=re.compile("^发送图片")).click()
    expect(chat.bot).to_have_count(count + 1, timeout=WAIT_MS)
    return chat.bot.last.inner_text()


def open_appeal(page: Page, url: str, reference: str) -> None:
    page.goto(f"{url}/console/appeals/{reference}")
    expect(page.get_by_role("heading", name=re.compile(reference))).to_be_visible()


def test_suspended_the_enterprise_supplements_twice_staff_see_it_live_and_the_clock_resumes(
    pages: Pages, live: tuple[str, FastAPI]
) -> None:
    url, _ = live
    clerk = pages.staff(CLERK)
    chat = Chat(pages.open(PHONE), url)
    reference = file_in_chat(
        chat,
        "营业执照拿到了，但是消防那边一直不给开业，准入不准营",
        ("西安某某餐饮有限公司", "王女士", "13800000000", "不清楚", "确认"),
    )
    assert "不客气" in chat.say("谢谢")  # nothing waits: the bot's, and linked to no appeal
    open_appeal(clerk, url, reference)
    unlinked = clerk.locator("#live-conversation .msg.enterprise", has_text="谢谢").locator(".attached")
    expect(unlinked).to_have_text("未关联诉求")
    clerk.get_by_role("button", name="签收", exact=True).click()
    expect(clerk.locator(".marks")).to_contain_text("已签收")
    clerk.get_by_text("请企业补充材料（挂起，暂停计时）").click()
    clerk.get_by_label(re.compile("需要企业补充的内容")).fill("请补充消防验收意见书和店面租赁合同")
    clerk.get_by_role("button", name="挂起并告知企业").click()
    expect(clerk.get_by_role("status").filter(has_text="已挂起")).to_be_visible()
    chat.expect_pushed("需要您补充：请补充消防验收意见书和店面租赁合同")
    expect(clerk.locator("#supplements")).to_contain_text("企业尚未补充")

    # Two messages: text, then an image. Each is attached to the appeal and the enterprise hears which one.
    first = chat.say("补充：第一次11月24日去的3号窗口，窗口说要先办消防；租赁合同见下图")
    assert f"已作为诉求 {reference} 的补充材料转给区审批局（本次已补充 1 条）" in first
    second = send_image(chat)
    assert f"已收到您的图片，已作为诉求 {reference} 的补充材料转给区审批局（本次已补充 2 条）" in second
    shot(chat.page, "chat-supplement-phone.png")

    # The clerk's open page shows both without a reload, and says what each message was attached to.
    supplements = clerk.locator("#supplements")
    expect(supplements).to_contain_text("补充：第一次11月24日去的3号窗口", timeout=WAIT_MS)
    expect(supplements.locator("a.thumb")).to_have_count(1, timeout=WAIT_MS)
    expect(supplements.locator(".pill")).to_have_text("2")
    attached = clerk.locator("#live-conversation .msg.enterprise .attached.mine")
    expect(attached.filter(has_text="已附到本诉求 · 补充材料")).to_have_count(2, timeout=WAIT_MS)
    first_line = clerk.locator("#live-conversation .msg.enterprise .attached").first
    expect(first_line).to_contain_text("已附到本诉求 · 登记诉求")
    expect(clerk.locator("#live-deadlines")).to_contain_text("已暂停（挂起）")
    shot(clerk, "console-appeal-supplements-desktop.png")
    queue = pages.staff(CLERK)
    row = queue.locator("tr", has=queue.get_by_role("link", name=reference))
    expect(row).to_contain_text("企业已补充")
    # The staff notice was written at once.
    queue.get_by_role("link", name=re.compile("^通知")).click()
    expect(queue.locator("main")).to_contain_text(f"诉求 {reference}（西安某某餐饮有限公司）的企业已补充材料")

    # One click: the material suffices, the clock runs again, and the enterprise is told.
    clerk.get_by_role("button", name="材料已齐全，恢复办理").click()
    expect(clerk.get_by_role("status").filter(has_text="已恢复办理")).to_be_visible()
    expect(clerk.locator(".marks")).to_contain_text("已签收")
    expect(clerk.locator("#live-deadlines")).not_to_contain_text("已暂停（挂起）")
    expect(clerk.locator("#live-timeline")).to_contain_text("企业补充材料已齐全")
    chat.expect_pushed(f"您反映的诉求（编号 {reference}）已恢复办理，办理时限继续计算，答复期限：")
    clerk.set_viewport_size(PHONE)
    open_appeal(clerk, url, reference)
    assert clerk.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(clerk, "console-appeal-supplements-phone.png")


def test_a_rating_with_a_comment_is_stored_and_shown_and_a_dissatisfied_one_reopens(
    pages: Pages, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    chat = Chat(pages.open(PHONE), url)
    enterprise = openid(chat)
    pleased = file(settings, openid=enterprise, enterprise="西安某某商贸有限公司", description="许可证迟迟办不下来")
    for step in (lifecycle.sign, lifecycle.contact):
        act(settings, pleased, step)
    act(settings, pleased, lifecycle.answer, text="许可证已于今日核发，请到3号窗口领取")
    thanks = chat.say("基本满意，问题解决了，但之前白跑了两趟")
    assert (
        f"感谢您的评价（基本满意）！诉求 {pleased} 已办结。\n您的意见已转给区审批局：“问题解决了，但之前白跑了两趟”"
    ) in thanks
    clerk = pages.staff(CLERK)
    clerk.goto(f"{url}/console/?state=closed")
    clerk.get_by_role("link", name=pleased).click()
    expect(clerk.locator("#rating")).to_have_text(re.compile("基本满意.*企业意见：“问题解决了，但之前白跑了两趟”"))
    expect(clerk.locator("#live-timeline")).to_contain_text("回访")
    shot(clerk, "console-rating-comment-desktop.png")

    # 不满意 with a comment: the reason is asked, the appeal reopens, 区营商办 sees it in 重办 and the count.
    unhappy = file(settings, openid=enterprise, enterprise="西安某某商贸有限公司", description="补贴一直没到账")
    for step in (lifecycle.sign, lifecycle.contact):
        act(settings, unhappy, step)
    act(settings, unhappy, lifecycle.answer, text="已提交财政审核")
    assert "请回复序号告诉我们原因" in chat.say("不满意，还是没人联系我")
    assert f"诉求 {unhappy} 已重新交由区审批局办理" in chat.say("1")
    boss = pages.staff(BOSS)
    boss.get_by_role("link", name="督办总览").click()
    expect(boss.locator("#dissatisfied .num")).to_have_text("1")
    reopened = boss.get_by_role("list", name="重办")
    expect(reopened.get_by_role("link", name=unhappy)).to_be_visible()
    expect(reopened).to_contain_text("重办")
    shot(boss, "console-supervise-reopened-desktop.png")
    boss.goto(f"{url}/console/appeals/{unhappy}")
    expect(boss.locator(".marks")).to_contain_text("重办（企业不满意后重新办理）")
    expect(boss.locator("#rating")).to_contain_text("企业意见：“还是没人联系我”")
    phone = pages.staff(BOSS, PHONE)
    phone.goto(f"{url}/console/supervise")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "console-supervise-reopened-phone.png")


def test_a_person_on_request_answers_from_the_console_inbox(pages: Pages, live: tuple[str, FastAPI]) -> None:
    url, _ = live
    chat = Chat(pages.open(PHONE), url)
    count = chat.bot.count()
    chat.page.get_by_role("navigation", name="公众号菜单").get_by_role("button", name="人工客服").click()
    expect(chat.bot).to_have_count(count + 1, timeout=WAIT_MS)
    opened = chat.bot.last.locator(".bubble").inner_text()
    assert opened.startswith("已为您转接人工服务，由区营商办的工作人员为您解答。")
    assert "工作时间：工作日 09:00-12:00、14:00-18:00（法定节假日除外）" in opened
    assert "现在是工作时间" in opened or "现在是非工作时间，工作人员将于" in opened
    assert "已收到，已转给工作人员，请稍候。" in chat.say("想问一下新办的餐饮企业有哪些补贴")

    boss = pages.staff(BOSS)
    expect(boss.get_by_role("link", name=re.compile("人工咨询"))).to_contain_text("1")
    boss.get_by_role("link", name=re.compile("人工咨询")).click()
    row = boss.locator("#live-list tr", has=boss.get_by_role("link", name=re.compile("人工咨询 #")))
    expect(row).to_contain_text("待回复")
    shot(boss, "console-inbox-desktop.png")
    row.get_by_role("link", name=re.compile("人工咨询 #")).click()
    conversation = boss.locator("#live-conversation")
    expect(conversation).to_contain_text("想问一下新办的餐饮企业有哪些补贴")
    expect(conversation).to_contain_text("企业点击了菜单：人工客服")
    expect(conversation.locator(".attached.mine")).to_have_count(1)  # the question, marked as the person's
    boss.get_by_label(re.compile("回复内容")).fill("您好，新办餐饮企业可以申请创业补贴和稳岗返还，详情我稍后发您。")
    boss.get_by_role("button", name="发送回复").click()
    expect(boss.get_by_role("status").filter(has_text="回复已发出")).to_be_visible()
    chat.expect_pushed("【区营商办人工客服】您好，新办餐饮企业可以申请创业补贴和稳岗返还")
    expect(conversation.locator(".msg.unit").last).to_contain_text("已送达")

    # The enterprise answers: the open page shows it without a reload.
    assert "已收到，已转给工作人员，请稍候。" in chat.say("好的，谢谢")
    expect(conversation.locator(".msg.enterprise").last).to_contain_text("好的，谢谢", timeout=WAIT_MS)
    shot(boss, "console-handoff-desktop.png")
    shot(chat.page, "chat-handoff-phone.png")
    phone = pages.staff(BOSS, PHONE)
    phone.goto(boss.url)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "console-handoff-phone.png")
    boss.get_by_role("button", name="结束会话").click()
    expect(boss.get_by_role("status").filter(has_text="会话已结束")).to_be_visible()
    chat.expect_pushed("本次人工服务已结束")
    # Back with the bot: a policy question gets policies again.
    assert "回复序号" in chat.say("稳岗返还怎么申请")


def test_a_second_appeal_from_the_same_enterprise_is_one_confirmation(pages: Pages, live: tuple[str, FastAPI]) -> None:
    url, _ = live
    chat = Chat(pages.open(PHONE), url)
    file_in_chat(
        chat,
        "营业执照拿到了，但是消防那边一直不给开业，准入不准营",
        ("西安启明软件有限公司", "王强", "13912345678", "北院门", "确认"),
    )
    before = chat.bot.count()
    offer = chat.say("窗口工作人员态度很差，让我来回跑了三趟")
    assert "沿用上次的信息：西安启明软件有限公司 / 王强 / 139****5678（所在街道：北院门）？回复 1 沿用，2 修改" in offer
    filed = chat.say("1")
    found = REFERENCE.search(filed)
    assert found and chat.bot.count() == before + 2  # the offer and the reference: no questions
    shot(chat.page, "chat-remembered-phone.png")
    desk = Chat(pages.open(DESKTOP), url)
    desk.say("网上办事平台登不上")  # another enterprise: every question is asked
    assert desk.bot.last.locator(".bubble").inner_text().endswith("请问企业全称是？")
    clerk = pages.staff(CLERK)
    open_appeal(clerk, url, found.group(1))
    summary = clerk.locator("#live-summary")
    expect(summary).to_contain_text("西安启明软件有限公司")
    expect(summary).to_contain_text("王强")
    expect(summary).to_contain_text("北院门")


def test_supervisor_is_warned_before_a_transfer_to_a_unit_without_accounts_and_changes_the_category(
    pages: Pages, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    reference = file(settings, openid="o_tools", enterprise="西安某某物流有限公司", description="窗口要求开无犯罪证明")
    sign(settings, reference)
    boss = pages.staff(BOSS)
    open_appeal(boss, url, reference)
    boss.get_by_text("转派到其他单位").click()
    options = boss.get_by_label("办理单位").locator("option")
    expect(options.filter(has_text="区住建局（未开通账号）")).to_have_count(1)
    expect(options.filter(has_text="区司法局（未开通账号）")).to_have_count(0)  # judge works there
    boss.get_by_label("办理单位").select_option("区住建局")
    boss.locator("#transfer-reason").fill("涉及房屋安全证明")
    boss.get_by_role("button", name="转派", exact=True).click()
    expect(boss.get_by_role("alert")).to_contain_text("「区住建局」还没有可用的工作台账号")
    expect(boss.locator(".marks")).to_contain_text("已签收")  # nothing moved
    shot(boss, "console-transfer-warning-desktop.png")
    boss.get_by_label(re.compile("该单位没有账号也转派")).check()
    expect(boss.locator("#transfer-reason")).to_have_value("涉及房屋安全证明")  # what was typed is kept
    boss.get_by_role("button", name="转派", exact=True).click()
    expect(boss.get_by_role("status").filter(has_text="已转派")).to_be_visible()
    expect(boss.locator("#live-summary")).to_contain_text("区住建局")

    boss.get_by_text("调整类别（重新计算时限）").click()
    boss.get_by_label("新类别").select_option("C08")
    boss.locator("#recategorize-reason").fill("属于奇葩证明，按循环证明类办理")
    boss.get_by_role("button", name="调整类别", exact=True).click()
    expect(boss.get_by_role("status").filter(has_text="已调整类别")).to_be_visible()
    expect(boss.locator(".marks .category")).to_contain_text("C08 奇葩证明、循环证明")
    expect(boss.locator("#live-timeline")).to_contain_text("调整类别")
    expect(boss.locator("#live-timeline")).to_contain_text("属于奇葩证明，按循环证明类办理")
    shot(boss, "console-recategorized-desktop.png")
