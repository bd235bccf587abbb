"""A collector's day in a real browser (issue #4, "Done when"): log in, take the next case
from the queue, try a call at 21:30 (blocked, the reason shown, nothing logged), call again
at 10:00 the next morning (logged as a PTP with amount and date, without a page reload),
and find the promise in the queue.

Debian's Chromium through Playwright, as in arrears/core/tests/test_browser.py; the clock is
moved with time-machine, which the live server's thread sees too. A phone-sized window.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from arrears.cases.models import Activity, CaseStatus, Promise
from arrears.core.tests.test_browser import PASSWORD, chromium, watch_problems
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, 21:35 in Shanghai; the next morning is a working Wednesday.
EVENING = dt.datetime(2026, 11, 24, 21, 35, tzinfo=SHANGHAI)
NEXT_MORNING = dt.datetime(2026, 11, 25, 10, 5, tzinfo=SHANGHAI)
SCREENSHOT = "/tmp/arrears-collector-day.png"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_collectors_day(transactional_db, action_codes, book, live_server, settings):
    # The day spans a night: keep the session across the clock jump (idle timeout is 30 min).
    settings.SESSION_COOKIE_AGE = 24 * 3600
    ensure_calendar()
    case = book.case_alice
    case.bucket_code, case.bucket_group, case.opened_on = "M1-1", "M1", dt.date(2026, 11, 20)
    case.status = CaseStatus.NEW
    case.save()
    phone = ContactPointFactory(customer=case.customer, kind="mobile", owner_role="self", value="13812345678")

    with time_machine.travel(EVENING, tick=True) as clock, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        problems = watch_problems(page)

        # Log in, open the work queue from the menu, and take the next case.
        page.goto(f"{live_server.url}/")
        page.get_by_label("用户名").fill("alice")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_label("展开菜单").click()
        page.get_by_role("link", name="工作队列").click()
        expect(page).to_have_url(f"{live_server.url}/cases/queue/")
        page.get_by_test_id("next-case").click()
        expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
        expect(page.get_by_test_id("case-title")).to_have_text(f"案件 #{case.pk}")

        # The phone's live status already says no, and why.
        point = page.get_by_test_id(f"point-{phone.pk}")
        expect(point.get_by_test_id("status")).to_have_text("暂不可拨打")
        expect(point.get_by_test_id("status-reasons")).to_contain_text("不在联系时段 08:00–21:00 内")
        expect(point.get_by_test_id("status-next")).to_have_text(
            "最早可联系：2026-11-25 08:00（客户当地时间）"
        )
        # Nothing on the page is wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # A call at 21:30 is refused with the reason; nothing is logged.
        page.evaluate("window.stillTheSamePage = true")
        _fill_ptp(page, phone_id=phone.pk, at="2026-11-24T21:30", amount="500", due="2026-11-25T18:00")
        page.get_by_test_id("log-submit").click()
        refusal = page.get_by_test_id("refusal")
        expect(refusal).to_contain_text("合规拦截：未记录")
        expect(refusal.get_by_test_id("refusal-reasons")).to_contain_text(
            "当地时间 21:30 CST 不在联系时段 08:00–21:00 内"
        )
        expect(refusal.get_by_test_id("refusal-next")).to_have_text(
            "最早可联系：2026-11-25 08:00（客户当地时间）"
        )
        assert Activity.objects.count() == 0
        assert Promise.objects.count() == 0
        expect(page.get_by_test_id("no-promises")).to_be_visible()

        # The next morning at 10:00 the call goes through and is logged as a PTP.
        clock.move_to(NEXT_MORNING)
        page.get_by_test_id("refresh-statuses").click()
        expect(point.get_by_test_id("status")).to_have_text("可以拨打")
        _fill_ptp(page, phone_id=phone.pk, at="2026-11-25T10:00", amount="1234.56", due="2026-11-25T18:00")
        page.get_by_label("备注").fill("客户答应今天下午六点前还款")
        page.get_by_test_id("log-submit").click()
        expect(page.get_by_test_id("logged")).to_have_text("已记录：PTP 承诺还款，2026-11-25 10:00")
        promises = page.get_by_test_id("work-promises")
        expect(promises.get_by_test_id("promise-amount")).to_have_text("1,234.56")
        expect(promises).to_contain_text("到期 2026-11-25 18:00")
        expect(page.get_by_test_id("work-tasks")).to_contain_text("承诺跟进")
        expect(page.get_by_test_id("work-history").locator(".work-activity")).to_have_count(1)
        # Logged without a page reload: the page's own state survived.
        assert page.evaluate("window.stillTheSamePage") is True

        activity = Activity.objects.get()
        assert (activity.case_id, activity.action_code_id, activity.contact_point_id) == (
            case.pk,
            "PTP",
            phone.pk,
        )
        assert activity.started_at == dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
        promise = Promise.objects.get()
        assert (promise.kind, promise.amount_fen) == ("PTP", 123456)
        assert promise.due_at == dt.datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
        page.screenshot(path=SCREENSHOT, full_page=True)

        # The history searches as one types (notes and action codes).
        history = page.get_by_test_id("work-history")
        expect(history).to_contain_text("联系被拦截")  # the refused attempt of last night
        page.get_by_test_id("history-search").fill("六点")
        expect(history.locator(".work-activity")).to_have_count(1)
        expect(history).not_to_contain_text("联系被拦截")
        page.get_by_test_id("history-search").fill("没有这句话")
        expect(history.get_by_test_id("no-history")).to_have_text("没有匹配的记录")

        # Back in the queue, the case says its promise falls due today.
        page.goto(f"{live_server.url}/cases/queue/")
        row = page.locator(f'[data-testid="queue-row"][data-case="{case.pk}"]')
        expect(row.locator('[data-reason="promise_due"]')).to_have_text("承诺今日到期 18:00")

        assert problems == []


def _fill_ptp(page: Page, *, phone_id: int, at: str, amount: str, due: str) -> None:
    form = page.get_by_test_id("log-form")
    form.locator("#id_contact_point").select_option(str(phone_id))
    form.locator("#id_channel").select_option("call")
    form.locator("#id_direction").select_option("outbound")
    form.locator("#id_started_at").fill(at)
    form.locator("#id_connected").check()
    form.locator("#id_right_party").check()
    form.locator("#id_action_code").select_option("PTP")
    # The promise fields appear for a promise code (workspace.js).
    expect(form.locator("#id_promise_amount")).to_be_visible()
    form.locator("#id_promise_amount").fill(amount)
    form.locator("#id_promise_due_at").fill(due)
