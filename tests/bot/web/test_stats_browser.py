"""The statistics page in a real browser: its numbers are those of `appealbot reports kpi`, every number opens
the appeals behind it, 区营商办 sees every unit and a unit head their own; screenshots at desktop and phone size."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from bot.platform.settings import Settings
from bot.reports.kpi import POLICY_RATE_LABELS, RATE_LABELS, percent
from tests.bot.web.console_support import BOSS, CLERK, HEAD, prepare_console, run
from tests.support.browser import ARTIFACTS, PHONE
from tests.support.month import build_month
from tests.support.people import People, shot
from tests.support.policy_month import POLICIES, build_policy_month
from tests.support.servers import running

pytestmark = pytest.mark.browser
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    run(settings, build_month)
    run(settings, build_policy_month)
    with running(settings) as served:
        yield served


@pytest.fixture
def people(browser: Browser, live: tuple[str, FastAPI]) -> Iterator[People]:
    opened = People(browser, live[0])
    yield opened
    opened.close()


def cli_kpi(settings: Settings, *unit: str) -> dict[str, Any]:
    """What `appealbot reports kpi --json` prints for November on the same database."""
    from tests.bot.cli.test_appeals_cli import appealbot

    database = settings.database_url.removeprefix("sqlite:///")
    done = appealbot("reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", *unit, "--json", database=database)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def test_the_office_sees_the_figures_of_reports_kpi_and_drills_down(
    people: People, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    expected = cli_kpi(settings)
    boss = people.signed_in(BOSS, f"/console/stats?{NOVEMBER}")
    expect(boss.get_by_role("heading", name=re.compile("统计分析"))).to_be_visible()
    for key in RATE_LABELS:
        expect(boss.locator(f"#rate-{key} .num")).to_have_text(percent(expected["all"][key]))
    expect(boss.locator("#rate-satisfaction_rate")).to_contain_text("已评价 6 件次")
    row = boss.locator("table.stats tr", has=boss.get_by_role("rowheader", name="区审批局"))
    expect(row.locator("td").first).to_have_text(str(expected["区审批局"]["received"]))
    expect(row).to_contain_text(percent(expected["区审批局"]["response_rate"]))
    assert boss.locator("svg.chart").count() >= 5
    shot(boss, "stats-office-desktop.png")

    # 应响应 7: the list behind it has the seven appeals; one of them opens.
    boss.locator("#rate-response_rate .formula a").nth(1).click()
    expect(boss.get_by_role("heading", name=re.compile("应响应"))).to_contain_text("共 7 件")
    expect(boss.locator("table.queue tbody tr")).to_have_count(7)
    shot(boss, "stats-drill-desktop.png")
    boss.locator("table.queue a.ref").first.click()
    expect(boss.get_by_role("heading", name=re.compile(r"LH-2026"))).to_be_visible()

    # A bar of the unit chart links to that unit's appeals.
    boss.goto(f"{url}/console/stats?{NOVEMBER}")
    boss.locator("#h-unit-rates + svg a rect").first.click()
    expect(boss.get_by_role("heading", name=re.compile("未按时响应"))).to_contain_text("区审批局 · ")
    expect(boss.locator("table.queue tbody tr")).to_have_count(2)  # B and I

    phone = people.signed_in(BOSS, f"/console/stats?{NOVEMBER}", viewport=PHONE)
    expect(phone.locator("#rate-response_rate .num")).to_have_text(percent(expected["all"]["response_rate"]))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    shot(phone, "stats-office-phone.png")
    phone.locator("div.charts").screenshot(path=str(ARTIFACTS / "stats-charts-phone.png"))


def test_the_policy_side_matches_reports_kpi_and_opens_its_lists(
    people: People, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    expected = cli_kpi(settings)["policies"]
    boss = people.signed_in(BOSS, f"/console/stats?{NOVEMBER}")
    section = boss.locator("section.policy-side")
    expect(section.get_by_role("heading", name="政策咨询与政策找人")).to_be_visible()
    for name in ("questions", "unanswered", "pushed", "opened"):
        expect(boss.locator(f"#policy-{name} .num")).to_have_text(str(expected[name]))
    for key in POLICY_RATE_LABELS:
        expect(boss.locator(f"#policy-{key} .num")).to_have_text(percent(expected[key]))
    expect(boss.locator("#policy-questions")).to_contain_text(f"{expected['askers']} 位用户")
    expect(boss.locator("table.unanswered tbody tr").first).to_contain_text("数据中心电费补贴")
    section.scroll_into_view_if_needed()
    shot(boss, "stats-policies-desktop.png")
    section.screenshot(path=str(ARTIFACTS / "stats-policies-section-desktop.png"))

    # 未找到政策 3: the three questions, with what was offered for the near miss.
    boss.locator("#policy-unanswered a").click()
    expect(boss.get_by_role("heading", name=re.compile("未找到政策的咨询"))).to_contain_text("共 3 次咨询")
    expect(boss.locator("table.questions tbody tr")).to_have_count(expected["unanswered"])
    expect(boss.locator("table.questions")).to_contain_text("无确切匹配")
    shot(boss, "stats-policies-drill-desktop.png")

    # The first bar of the most-asked chart opens the questions whose answer listed that policy.
    boss.goto(f"{url}/console/stats?{NOVEMBER}")
    boss.locator("#h-top-policies + svg a rect").first.click()
    top = expected["top_policies"][0]
    expect(boss.get_by_role("heading", name=re.compile("向企业展示的政策"))).to_contain_text(POLICIES[top["code"]][0])
    expect(boss.locator("table.questions tbody tr")).to_have_count(top["questions"])

    # 查看 2: the pushes opened, with their policy and enterprise.
    boss.goto(f"{url}/console/stats?{NOVEMBER}")
    boss.locator("#policy-opened a").click()
    expect(boss.locator("table.pushes tbody tr")).to_have_count(expected["opened"])
    expect(boss.locator("table.pushes")).not_to_contain_text("未查看")

    phone = people.signed_in(BOSS, f"/console/stats?{NOVEMBER}", viewport=PHONE)
    expect(phone.locator("#policy-answer_rate .num")).to_have_text(percent(expected["answer_rate"]))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    phone.locator("section.policy-side").screenshot(path=str(ARTIFACTS / "stats-policies-phone.png"))


def test_a_unit_head_sees_the_own_unit_and_staff_are_turned_away(
    people: People, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    expected = cli_kpi(settings, "--unit", "区审批局")
    head = people.signed_in(HEAD, f"/console/stats?{NOVEMBER}")
    for key in RATE_LABELS:
        expect(head.locator(f"#rate-{key} .num")).to_have_text(percent(expected["all"][key]))
    expect(head.locator("table.stats tbody tr")).to_have_count(1)
    expect(head.locator("#h-unit-rates")).to_have_count(0)
    expect(head.locator("section.policy-side")).to_have_count(0)  # the district's policy list is the office's
    refused = head.goto(f"{url}/console/stats/policies?{NOVEMBER}&measure=questions")
    assert refused is not None and refused.status == 403
    head.goto(f"{url}/console/stats?{NOVEMBER}")
    shot(head, "stats-head-desktop.png")
    head.goto(f"{url}/console/stats?from=2026-11-31&to=x")
    expect(head.get_by_role("alert")).to_contain_text("YYYY-MM-DD")

    clerk = people.signed_in(CLERK, "/console/")
    response = clerk.goto(f"{url}/console/stats")
    assert response is not None and response.status == 403
    expect(clerk.get_by_role("link", name="统计分析")).to_have_count(0)


def test_the_office_generates_reads_and_finalises_the_quarterly_report(
    people: People, live: tuple[str, FastAPI]
) -> None:
    url, _ = live
    boss = people.signed_in(BOSS, "/console/reports")
    boss.get_by_label("季度").select_option(value="2026Q4")
    boss.get_by_role("button", name="生成").click()
    expect(boss.get_by_role("status")).to_contain_text("分析报告已生成", timeout=60_000)
    expect(boss.get_by_role("heading", name=re.compile("2026Q4"))).to_contain_text("草稿")
    boss.get_by_role("textbox", name=re.compile("工作建议")).fill("准入不准营问题集中，建议区审批局牵头专项整治。")
    boss.get_by_role("button", name="定稿").click()
    expect(boss.get_by_role("status")).to_contain_text("分析报告已定稿", timeout=60_000)
    expect(boss.get_by_role("button", name="定稿")).to_have_count(0)
    shot(boss, "reports-office-desktop.png")
    boss.get_by_role("link", name="阅读报告（HTML）").click()
    expect(boss.get_by_role("heading", name=re.compile("2026Q4 企业诉求办理情况分析报告"))).to_be_visible()
    expect(boss.locator("body")).to_contain_text("建议区审批局牵头专项整治")
    expect(boss.locator("body")).not_to_contain_text("待区营商办填写")
    shot(boss, "reports-html-desktop.png")
    with boss.expect_download() as download:
        boss.goto(f"{url}/console/reports/2026Q4")
        boss.get_by_role("link", name="下载 PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    phone = people.signed_in(BOSS, "/console/reports/2026Q4", viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "reports-office-phone.png")
