"""The admin console in a real browser (Debian Chromium through Playwright) against the real app.

An admin signs in, imports an .xlsx, checks the preview, commits, edits one policy, and the bot's
POST /api/match answers from the new catalog within seconds. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, ViewportSize, expect

from bot.platform.settings import Settings
from tests.policies.support import ADMIN, prepare, xlsx_bytes
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE
from tests.support.servers import running

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
HEADER = ["编号", "政策名称", "实施主体", "优惠内容", "兑现方式", "标签", "关键词", "生效日期"]
NEW_ROW = [
    "Z01", "莲湖区品牌首店奖励", "区商务局", "对新引进的品牌首店一次性奖励20万元", "依申请",
    "类型:奖励;街道:北院门", "首店奖励;品牌首店", "2025-01-01",
]  # fmt: skip


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare(settings)
    with running(settings) as served:
        yield served


def screenshot(page: Page, name: str, *, full: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


def match_codes(url: str, text: str) -> list[str]:
    response = httpx.post(f"{url}/api/match", json={"text": text}, timeout=10)
    response.raise_for_status()
    return [policy["code"] for policy in response.json()["policies"]]


def wait_for_match(url: str, text: str, code: str, *, present: bool = True, within: float = 10.0) -> float:
    """Seconds until /api/match lists (or stops listing) the code for the text; fails after `within`."""
    started = time.monotonic()
    while (code in match_codes(url, text)) != present:
        assert time.monotonic() - started < within, f"/api/match did not {'find' if present else 'drop'} {code}"
        time.sleep(0.2)
    return time.monotonic() - started


def sign_in_with_keyboard(page: Page) -> None:
    page.get_by_label("用户名").focus()
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")


def test_admin_imports_previews_commits_edits_and_the_bot_answers(
    browser: Browser, live: tuple[str, FastAPI], tmp_path: Path
) -> None:
    url, _ = live
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    assert "Z01" not in match_codes(url, "开品牌首店有奖励吗")

    # Signing in: /admin/ sends a stranger to the login page, which works from the keyboard alone.
    page.goto(url + "/admin/")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/$"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    sign_in_with_keyboard(page)
    expect(page.get_by_role("heading", name=re.compile("政策清单"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="政策清单")).to_have_attribute(
        "aria-current", "page"
    )
    screenshot(page, "admin-list-desktop.png")

    # Import: one new policy, one changed (P05's implementing body), one unchanged (P01 as it is).
    existing = {row["编号"]: row for row in _export_rows(page, url)}
    p01 = existing["P01"]
    changed_p05 = dict(existing["P05"], 实施主体="区人社局（莲湖）")
    workbook = tmp_path / "政策清单.xlsx"
    workbook.write_bytes(xlsx_bytes([HEADER, NEW_ROW, _row(changed_p05), _row(p01)]))
    page.get_by_role("link", name="导入导出").click()
    page.get_by_label("选择文件").set_input_files(str(workbook))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.get_by_role("heading", name=re.compile("导入预览"))).to_be_visible()
    summary = page.get_by_role("list", name="预览汇总")
    expect(summary).to_contain_text("新增 1")
    expect(summary).to_contain_text("修改 1")
    expect(summary).to_contain_text("不变 1")
    rows = page.locator("table.preview tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Z01")
    expect(rows.nth(0)).to_contain_text("新增")
    expect(rows.nth(1)).to_contain_text("修改：实施主体")
    expect(rows.nth(2)).to_contain_text("不变")
    screenshot(page, "admin-import-preview-desktop.png")
    # Nothing is written before the confirmation.
    assert "Z01" not in match_codes(url, "开品牌首店有奖励吗")
    page.get_by_role("button", name=re.compile("^确认导入")).click()
    expect(page.get_by_role("status")).to_contain_text("导入完成：新增 1 条，修改 1 条，不变 1 条")
    seconds = wait_for_match(url, "开品牌首店有奖励吗", "Z01")
    assert seconds < 10

    # Edit the imported policy: a new keyword makes it findable by words it did not have.
    page.get_by_label("搜索").fill("Z01")
    page.get_by_role("button", name="筛选").click()
    page.get_by_role("link", name="莲湖区品牌首店奖励").click()
    page.get_by_role("link", name="编辑").click()
    keywords = page.get_by_label("关键词")
    expect(keywords).to_have_value("首店奖励；品牌首店")
    keywords.fill("首店奖励；品牌首店；夜市摊位补贴")
    page.get_by_label("实施主体").fill("区商务局（首店办）")
    screenshot(page, "admin-edit-desktop.png")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("status")).to_contain_text("修改已保存")
    expect(page.locator("dl.fields")).to_contain_text("区商务局（首店办）")
    assert wait_for_match(url, "夜市摊位补贴", "Z01") < 10
    screenshot(page, "admin-policy-desktop.png")

    # The history shows who changed what; the first version can be viewed.
    page.get_by_role("link", name="版本历史").click()
    history = page.locator("table.list tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("修改")
    expect(history.first).to_contain_text(ADMIN[0])
    expect(history.first).to_contain_text("实施主体、关键词")
    screenshot(page, "admin-versions-desktop.png")

    assert errors == [], errors
    assert [u for u in requests if not u.startswith(url + "/")] == [], "the pages fetched from elsewhere"
    context.close()


def _export_rows(page: Page, url: str) -> list[dict[str, str]]:
    import csv
    import io

    response = page.request.get(url + "/admin/export.csv")
    assert response.status == 200
    return list(csv.DictReader(io.StringIO(response.body().decode("utf-8-sig"))))


def _row(record: dict[str, str]) -> list[str]:
    return [record.get(header, "") for header in HEADER]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_pages_fit_the_screen_and_escape_markup(
    browser: Browser, live: tuple[str, FastAPI], viewport: ViewportSize
) -> None:
    url, _ = live
    size = "phone" if viewport == PHONE else "desktop"
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.goto(url + "/login")
    screenshot(page, f"admin-login-{size}.png")
    sign_in_with_keyboard(page)
    expect(page.get_by_role("heading", name=re.compile("政策清单"))).to_be_visible(timeout=WAIT_MS)

    # A policy whose text carries markup: it is shown as text everywhere, never run.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="新建政策").click()
    markup = '<img src=x onerror="window.__xss=1">首店<script>window.__xss=2</script>'
    page.get_by_label("编号").fill("X1")
    page.get_by_label("政策名称").fill(markup)
    page.get_by_label("实施主体").fill("区商务局")
    page.get_by_label("优惠内容").fill("奖励")
    page.get_by_label("其他标签").fill("层级")  # no colon: refused, shown beside the field
    page.get_by_role("button", name="保存为草稿").click()
    expect(page.locator("#e-other_tags")).to_contain_text("缺少冒号")
    expect(page.get_by_label("政策名称")).to_have_value(markup)
    screenshot(page, f"admin-form-error-{size}.png")
    page.get_by_label("其他标签").fill("层级:区级")
    page.get_by_role("button", name="保存为草稿").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(markup)
    page.goto(url + "/admin/policies?q=X1")
    expect(page.locator("table.list")).to_contain_text(markup)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.locator("main img, main script").count() == 0

    for path, shot in (("/admin/policies", "list"), ("/admin/import", "import"), ("/admin/lexicon", "lexicon")):
        page.goto(url + path)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"], path
        screenshot(page, f"admin-{shot}-{size}.png", full=shot != "list")
    context.close()


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_examples_and_unanswered_pages_in_the_browser(
    browser: Browser, live: tuple[str, FastAPI], settings: Settings, viewport: ViewportSize, suffix: str
) -> None:
    from datetime import UTC, datetime

    from bot.platform import db
    from policies import unanswered

    url, _ = live
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            for text in ("开民办幼儿园有办园补贴吗", "开民办幼儿园有办园补贴吗", "停车场建充电桩有补贴吗"):
                unanswered.record(session=session, text=text, now=datetime.now(UTC))
    finally:
        engine.dispose()
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(url + "/admin/examples")
        sign_in_with_keyboard(page)
        expect(page.get_by_role("heading", name="识别样例")).to_be_visible()
        expect(page.locator("#matching-state")).to_contain_text("语义识别")
        expect(page.get_by_role("link", name=re.compile(r"初始样例（\d+）"))).to_be_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"admin-examples-{suffix}.png", full=False)
        page.goto(url + "/admin/unanswered")
        expect(page.get_by_role("heading", name="未答问题")).to_be_visible()
        expect(page.locator("tbody tr").first).to_contain_text("开民办幼儿园有办园补贴吗")
        expect(page.locator("tbody tr").first).to_contain_text("2")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"admin-unanswered-{suffix}.png")
    finally:
        context.close()
