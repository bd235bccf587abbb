"""One walk through the UI in a real browser: Debian's Chromium driven by Playwright.

Never `playwright install`: the test uses /usr/bin/chromium and fails (does not skip) when
it cannot start, so a broken browser set-up is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

# The `book` personas' password (arrears/conftest.py). The shared kernel imports no app, not
# even in tests (import-linter), so the personas come only through the fixture.
PASSWORD = "pass-Word-123"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = "/tmp/arrears-account.png"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium. Started inside the test body, so a browser that cannot start makes
    the test FAIL (a fixture error or a skip would be easier to overlook)."""
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def watch_problems(page: Page) -> list[str]:
    """Console errors (a CSP violation is one) and failed responses, except the favicon probe;
    the list fills as the page is used and a test asserts it stays empty."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not re.search(r"/favicon\.ico$", response.url)
            else None
        ),
    )
    return problems


def log_in(browser: Browser, base_url: str, username: str, *, width: int = 1280) -> tuple[Page, list[str]]:
    """A new page logged in through the form as one of the `book` personas, and its problems."""
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
    problems = watch_problems(page)
    page.goto(f"{base_url}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page, problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_supervisor_logs_in_and_opens_an_account(transactional_db, book, live_server):
    # The live server runs in another thread, so the data must be committed: transactional_db
    # comes before book. serialized_rollback restores the migrations' reference rows (the
    # default bucket ladder) after this test truncates the tables.
    with chromium() as browser:
        _walk_to_account(browser, book, live_server.url)


def _walk_to_account(browser: Browser, book, base_url: str) -> None:
    account = book.case_alice.account
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    console_errors: list[str] = []
    failed_responses: list[str] = []
    page.on(
        "console", lambda message: console_errors.append(message.text) if message.type == "error" else None
    )
    page.on(
        "response",
        lambda response: (
            failed_responses.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )

    # Log in through the form.
    page.goto(f"{base_url}/accounts/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/accounts/$"))
    page.get_by_label("用户名").fill("sam")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    # Back on the account list the login was for; go home and click through again.
    expect(page).to_have_url(f"{base_url}/accounts/")
    page.get_by_role("link", name="首页").click()
    expect(page.get_by_test_id("count-accounts")).to_have_text("4")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="账户").click()
    expect(page).to_have_url(f"{base_url}/accounts/")
    table = page.get_by_test_id("account-table")
    expect(table.get_by_role("link", name="A-ALICE")).to_be_visible()

    # Open A-ALICE.
    table.get_by_role("link", name="A-ALICE").click()
    expect(page).to_have_url(f"{base_url}/accounts/{account.pk}/")
    expect(page.get_by_test_id("account-no")).to_have_text("A-ALICE")
    expect(page.get_by_test_id("customer-name")).to_have_text("张三")
    expect(page.get_by_test_id("customer-id-number")).to_have_text("110105********1237")

    # Bootstrap's stylesheet is applied (the navbar is dark) and htmx loaded from our own static files.
    navbar_background = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert navbar_background == "rgb(33, 37, 41)"
    assert page.evaluate("typeof window.htmx") == "object"
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert failed_responses == []
    # The browser's own favicon probe 404s (there is none yet); anything else is a real error.
    assert [text for text in console_errors if not text.startswith("Failed to load resource")] == []
