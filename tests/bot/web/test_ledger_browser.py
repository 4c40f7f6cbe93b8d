"""The 台账 confirmation flow in a real browser: a unit head reviews the month's ledger, downloads it and
confirms it; 区营商办 sees who has reported and who has not. Screenshots at desktop and phone size."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from bot.platform.settings import Settings
from tests.bot.web.console_support import BOSS, HEAD, prepare_console, run
from tests.support.browser import PHONE
from tests.support.month import build_month
from tests.support.people import People, shot
from tests.support.servers import running

pytestmark = pytest.mark.browser


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    run(settings, build_month)
    with running(settings) as served:
        yield served


@pytest.fixture
def people(browser: Browser, live: tuple[str, FastAPI]) -> Iterator[People]:
    opened = People(browser, live[0])
    yield opened
    opened.close()


def test_a_unit_head_confirms_and_the_office_sees_who_reported(people: People, live: tuple[str, FastAPI]) -> None:
    url, _ = live
    head = people.signed_in(HEAD, "/console/ledger?month=2026-10")
    expect(head.get_by_role("heading", name=re.compile("月度工作台账"))).to_contain_text("2026-10")
    expect(head.locator("table.ledger tbody tr")).to_have_count(1)  # H: received 30 October
    expect(head.locator("table.ledger")).to_contain_text("西安H科技有限公司")

    with head.expect_download() as download:
        head.get_by_role("link", name="下载本单位台账（.xlsx）").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = list(book["台账"].iter_rows(min_row=2, values_only=True))
    assert [row[2] for row in rows] == ["西安H科技有限公司"]
    shot(head, "ledger-head-desktop.png")

    head.get_by_label("整治工作开展情况（可选，随台账报区营商办）").fill("本月诉求均已按时签收。")
    head.get_by_role("button", name=re.compile("确认上报 2026-10 台账")).click()
    expect(head.get_by_role("status").filter(has_text="已确认上报区营商办")).to_be_visible()
    expect(head.locator("#confirmed")).to_contain_text("由 head 确认上报区营商办（逾期上报）")
    expect(head.get_by_role("button", name=re.compile("确认上报"))).to_have_count(0)

    # November has not ended in the district yet (or has just): no confirming a month that is still running.
    head.goto(f"{url}/console/ledger?month=2026-11")
    expect(head.locator("table.ledger tbody tr")).to_have_count(7)

    boss = people.signed_in(BOSS, "/console/ledger?month=2026-10")
    row = boss.locator("table.reporting tr", has=boss.get_by_role("rowheader", name="区审批局"))
    expect(row).to_contain_text("已上报")
    expect(row).to_contain_text("逾期上报")
    shot(boss, "ledger-office-desktop.png")
    boss.goto(f"{url}/console/ledger?month=2026-11")
    judge_row = boss.locator("table.reporting tr", has=boss.get_by_role("rowheader", name="区司法局"))
    expect(judge_row).to_contain_text("未上报")
    with boss.expect_download() as district:
        boss.get_by_role("link", name="下载全区台账（.xlsx）").click()
    assert load_workbook(io.BytesIO(district.value.path().read_bytes()))["台账"].max_row == 1 + 9

    # The queue's export: the open appeals its filters find, every page.
    boss.goto(f"{url}/console/?state=dispatched")
    with boss.expect_download() as exported:
        boss.get_by_role("link", name=re.compile("导出 Excel")).click()
    sheet = load_workbook(io.BytesIO(exported.value.path().read_bytes()))["诉求"]
    assert sorted(str(row[2]) for row in sheet.iter_rows(min_row=2, values_only=True)) == [
        "西安G科技有限公司", "西安I科技有限公司",
    ]  # fmt: skip

    phone = people.signed_in(HEAD, "/console/ledger?month=2026-11", viewport=PHONE)
    expect(phone.locator("table.ledger tbody tr")).to_have_count(7)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    shot(phone, "ledger-head-phone.png")
    office_phone = people.signed_in(BOSS, "/console/ledger?month=2026-10", viewport=PHONE)
    shot(office_phone, "ledger-office-phone.png")
