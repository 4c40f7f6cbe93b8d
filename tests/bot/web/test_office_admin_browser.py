"""The office's own admin pages in a real browser: accounts (create, change role and unit, reset the password,
disable: the account's open session ends at once), units, the holiday calendar, the routing table with import
and export. No page text names a command. Screenshots at desktop and phone size."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from playwright.sync_api import Browser, FilePayload, Page, expect

from bot.platform.settings import Settings
from tests.bot.cli.test_appeals_cli import appealbot
from tests.bot.web.console_support import CLERK, prepare_console
from tests.policies.support import ADMIN
from tests.support.browser import PHONE
from tests.support.people import People, shot
from tests.support.servers import running

pytestmark = pytest.mark.browser


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    with running(settings) as served:
        yield served


@pytest.fixture
def people(browser: Browser, live: tuple[str, FastAPI]) -> Iterator[People]:
    opened = People(browser, live[0])
    yield opened
    opened.close()


def no_command_named(page: Page) -> None:
    assert "appealbot" not in page.locator("body").inner_text()


def test_accounts_created_changed_reset_and_disabled(
    people: People, live: tuple[str, FastAPI], settings: Settings
) -> None:
    url, _ = live
    admin = people.signed_in(ADMIN, "/admin/accounts")
    expect(admin.get_by_role("heading", name="账号", exact=True)).to_be_visible()
    admin.get_by_label("用户名").fill("newhead")
    admin.get_by_label("角色").select_option(label="单位负责人")
    admin.get_by_label(re.compile("^单位")).select_option(label="区司法局")
    admin.get_by_label(re.compile("初始密码")).fill("short")
    admin.evaluate("document.getElementById('password').removeAttribute('minlength')")
    admin.get_by_role("button", name="创建账号").click()
    expect(admin.get_by_role("alert")).to_contain_text("密码至少 10 个字符")
    admin.get_by_label(re.compile("初始密码")).fill("justice head battery")
    admin.get_by_role("button", name="创建账号").click()
    expect(admin.get_by_role("status")).to_contain_text("账号已创建")
    row = admin.locator("table.accounts tr", has=admin.get_by_role("link", name="newhead"))
    expect(row).to_contain_text("单位负责人")
    expect(row).to_contain_text("区司法局")
    no_command_named(admin)
    shot(admin, "admin-accounts-desktop.png")

    # The new head signs in; the clerk too. Then the admin disables the head: the open session ends at once.
    head = people.signed_in(("newhead", "justice head battery"), "/console/")
    expect(head.get_by_role("link", name="统计分析")).to_be_visible()
    admin.get_by_role("link", name="newhead").click()
    shot(admin, "admin-account-desktop.png")
    admin.get_by_role("button", name="停用 newhead").click()
    expect(admin.get_by_role("status")).to_contain_text("账号已停用")
    head.goto(f"{url}/console/")
    expect(head).to_have_url(re.compile(r"/login\?next=/console/"))

    # The clerk moves to 区司法局: signed out (the scope changed), and in with the new unit.
    clerk = people.signed_in(CLERK, "/console/")
    expect(clerk.locator("header")).to_contain_text("区审批局")
    admin.goto(f"{url}/admin/accounts/{CLERK[0]}")
    admin.get_by_label("单位", exact=True).select_option(label="区司法局")
    admin.get_by_role("button", name="保存角色和单位").click()
    expect(admin.get_by_role("status")).to_contain_text("角色和单位已修改")
    admin.get_by_label(re.compile("新密码")).fill("brand new clerk password")
    admin.get_by_role("button", name="重置密码").click()
    expect(admin.get_by_role("status")).to_contain_text("密码已重置")
    clerk.goto(f"{url}/console/")
    expect(clerk).to_have_url(re.compile("/login"))
    again = people.signed_in((CLERK[0], "brand new clerk password"), "/console/")
    expect(again.locator("header")).to_contain_text("区司法局")

    database = Path(settings.database_url.removeprefix("sqlite:///"))
    listed = appealbot("users", "list", "--json", database=database)
    assert listed.returncode == 0, listed.stderr
    by_name = {item["username"]: item for item in json.loads(listed.stdout)}
    assert by_name["newhead"]["active"] is False and by_name["clerk"]["unit"] == "区司法局"
    assert appealbot("users", "disable", CLERK[0], database=database).returncode == 0
    again.goto(f"{url}/console/")
    expect(again).to_have_url(re.compile("/login"))  # disabled from the command line: ended at once too
    missing = appealbot("users", "disable", "nobody", database=database)
    assert missing.returncode == 2 and "没有用户「nobody」" in missing.stderr

    phone = people.signed_in(ADMIN, "/admin/accounts", viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "admin-accounts-phone.png")


def test_units_calendar_and_routing_table(people: People, live: tuple[str, FastAPI]) -> None:
    url, _ = live
    admin = people.signed_in(ADMIN, "/admin/units")
    admin.get_by_role("link", name="区司法局").click()
    admin.get_by_label("经办人", exact=True).fill("赵经办")
    admin.get_by_label("经办人电话").fill("029-8888 1234")
    admin.get_by_label("负责人电话").fill("not a phone")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("alert")).to_contain_text("负责人电话格式不对")
    admin.get_by_label("负责人电话").fill("13900000000")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("status")).to_contain_text("单位信息已保存")
    expect(admin.locator("table.units-admin tr", has=admin.get_by_role("link", name="区司法局"))).to_contain_text(
        "赵经办 029-8888 1234"
    )
    admin.get_by_role("link", name="区金融办").click()
    admin.get_by_label(re.compile("在用")).uncheck()
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator("table.units-admin tr", has=admin.get_by_role("link", name="区金融办"))).to_contain_text(
        "已停用"
    )
    no_command_named(admin)
    shot(admin, "admin-units-desktop.png")
    admin.goto(f"{url}/admin/accounts")
    expect(admin.get_by_label(re.compile("^单位")).locator("option", has_text="区金融办")).to_have_count(0)

    admin.goto(f"{url}/admin/calendar?year=2027")
    expect(admin.get_by_role("heading", name=re.compile("法定节假日"))).to_contain_text("2027")
    box = admin.get_by_label("每行一天：日期 休/班 名称")
    box.fill("2027-01-01 休 元旦\n2027-02-30 休 春节")
    admin.get_by_role("button", name="录入并重新计算期限").click()
    expect(admin.get_by_role("alert")).to_contain_text("第 2 行：日期「2027-02-30」不存在")
    box.fill("2027-01-01 休 元旦\n2027-02-06 班 春节调休\n2027-02-08 休 春节")
    admin.get_by_role("button", name="录入并重新计算期限").click()
    expect(admin.get_by_role("status")).to_contain_text("已录入 3 天")
    expect(admin.locator("table.calendar-days tbody tr")).to_have_count(3)
    expect(admin.get_by_text("已录入", exact=True)).to_be_visible()
    no_command_named(admin)
    shot(admin, "admin-calendar-desktop.png")

    admin.goto(f"{url}/admin/routing")
    expect(admin.locator("table.routing")).to_contain_text("准入不准营")
    with admin.expect_download() as download:
        admin.get_by_role("link", name=re.compile("导出 Excel")).click()
    exported = download.value.path().read_bytes()
    assert "诉求类别" in load_workbook(io.BytesIO(exported)).sheetnames
    bad = "编码,名称,牵头单位\nC99,新类别,区不存在局\n".encode()
    admin.get_by_label(re.compile("导入文件")).set_input_files(
        files=FilePayload(name="bad.csv", mimeType="text/csv", buffer=bad)
    )
    admin.get_by_role("button", name="导入", exact=True).click()
    expect(admin.get_by_role("alert")).to_contain_text("导入未执行")
    expect(admin.get_by_role("alert")).to_contain_text("区不存在局")
    expect(admin.locator("table.routing")).not_to_contain_text("C99")
    admin.get_by_label(re.compile("导入文件")).set_input_files(
        files=FilePayload(name="routing.xlsx", mimeType="application/octet-stream", buffer=exported)
    )
    admin.get_by_role("button", name="导入", exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text("路由表已导入")
    no_command_named(admin)
    shot(admin, "admin-routing-desktop.png")

    phone = people.signed_in(ADMIN, "/admin/calendar?year=2027", viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "admin-calendar-phone.png")
    phone.goto(f"{url}/admin/routing")
    shot(phone, "admin-routing-phone.png")
