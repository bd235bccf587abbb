"""The case page's messages panel in a real browser: it loads with htmx, a collector queues an
SMS from an approved template (the new row appears), and a point of the wrong kind is refused on
the field with nothing written — on a phone-sized screen, with no console or CSP errors.

Debian's Chromium through Playwright, as in arrears/core/tests/test_browser.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import expect

from arrears.comms.models import Message, MessageState
from arrears.comms.tests.case_message_helpers import SHANGHAI, setup
from arrears.core.tests.test_browser import chromium, log_in
from arrears.delinquency.tests.books import ensure_calendar

MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
SCREENSHOT = "/tmp/arrears-case-messages.png"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_collector_queues_a_message_from_the_case_page(
    transactional_db, action_codes, book, live_server, settings
):
    settings.SESSION_COOKIE_AGE = 24 * 3600
    ensure_calendar()
    points = setup(book)
    case = book.case_alice

    with time_machine.travel(MORNING, tick=True), chromium() as browser:
        page, problems = log_in(browser, live_server.url, "alice", width=390)
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        panel = page.get_by_test_id("work-messages")
        expect(panel.get_by_test_id("no-messages")).to_be_visible()

        # The wrong kind: an SMS to an email address is refused on the field.
        form = panel.get_by_test_id("message-form")
        form.locator("#id_template").select_option(str(points.sms.pk))
        form.locator("#id_contact_point").select_option(str(points.email.pk))
        form.get_by_test_id("message-submit").click()
        expect(page.get_by_test_id("error-contact_point")).to_have_text("短信只能发往手机。")
        assert Message.objects.count() == 0

        form = page.get_by_test_id("message-form")
        form.locator("#id_contact_point").select_option(str(points.mobile.pk))
        form.locator("#id_scheduled_at").fill("2026-11-24T14:00")
        form.get_by_test_id("message-submit").click()
        expect(page.get_by_test_id("message-queued")).to_contain_text("计划 2026-11-24 14:00 发送")
        message = Message.objects.get()
        assert (message.contact_point_id, message.state, message.created_by_id) == (
            points.mobile.pk,
            MessageState.QUEUED,
            book.alice.pk,
        )
        row = page.get_by_test_id(f"message-{message.pk}")
        expect(row.get_by_test_id("message-state")).to_have_text("排队中")
        expect(row.get_by_test_id("message-template")).to_have_text("COLLECT_D3 v1")
        page.screenshot(path=SCREENSHOT, full_page=True)
        assert problems == []
