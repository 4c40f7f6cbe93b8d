"""Browser sessions of people signing in to the console and admin pages (one context each), with screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.support.browser import ARTIFACTS, DESKTOP

WAIT_MS = 15_000


class People:
    """The browser contexts of one test; remembers script errors and requests to other origins."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []
        self.strangers: list[str] = []

    def open(self, viewport: ViewportSize = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "request", lambda request: None if request.url.startswith(self.url) else self.strangers.append(request.url)
        )
        return page

    def signed_in(self, who: tuple[str, str], path: str, viewport: ViewportSize = DESKTOP) -> Page:
        """A browser signed in as `who` through the login form, then on `path`."""
        page = self.open(viewport)
        page.goto(self.url + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        page.get_by_label("用户名").fill(who[0])
        page.get_by_label("密码").fill(who[1])
        page.get_by_role("button", name="登录").click()
        expect(page).not_to_have_url(re.compile(r"/login"), timeout=WAIT_MS)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.strangers == [], f"fetched from elsewhere: {self.strangers}"


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
