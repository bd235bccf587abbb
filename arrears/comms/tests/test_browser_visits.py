"""A field visit in a real browser: the case's collector plans it from the case page (the
guard refuses one visitor, then allows two), a field collector finds it in "my visits" on a
phone, uploads an executable renamed .jpg (refused, nothing stored) and a photo, and records
the outcome after the visit.

Debian's Chromium through Playwright, as in arrears/core/tests/test_browser.py; the clock is
moved with time-machine, which the live server's thread sees too.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from arrears.accounts.models import Role
from arrears.cases.models import Activity
from arrears.comms.models import Visit, VisitAttachment, VisitState
from arrears.core.tests.test_browser import chromium, log_in
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, a working day.
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
AFTER_THE_VISIT = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)
SCREENSHOT = "/tmp/arrears-field-visit.png"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_field_visit_planned_visited_and_recorded(
    transactional_db, action_codes, book, live_server, settings, tmp_path
):
    settings.SESSION_COOKIE_AGE = 24 * 3600
    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_calendar()
    fiona = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR, first_name="菲")
    felix = UserFactory(username="felix", role=Role.FIELD_COLLECTOR, first_name="费")
    case = book.case_alice
    case.bucket_code, case.bucket_group = "M1-1", "M1"
    case.save()
    home = ContactPointFactory(
        customer=case.customer, kind="address", owner_role="self", value="北京市海淀区中关村大街1号"
    )

    with time_machine.travel(MORNING, tick=True) as clock, chromium() as browser:
        # The collector plans the visit from the case page.
        page, problems = log_in(browser, live_server.url, "alice")
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        page.get_by_test_id("plan-visit-link").click()
        expect(page).to_have_url(f"{live_server.url}/comms/visits/plan/{case.pk}/")
        form = page.get_by_test_id("plan-form")
        form.locator("#id_address").select_option(str(home.pk))
        form.locator("#id_planned_at").fill("2026-11-24T14:00")
        form.locator("#id_purpose").fill("面谈还款计划")
        form.locator("#id_recording_device").fill("REC-007")
        form.locator("#id_visitors").select_option([str(fiona.pk)])
        page.get_by_test_id("plan-submit").click()
        expect(page.get_by_test_id("plan-refusal")).to_contain_text("外访至少 2 人，本次 1 人")
        assert Visit.objects.count() == 0

        form.locator("#id_visitors").select_option([str(fiona.pk), str(felix.pk)])
        page.get_by_test_id("plan-submit").click()
        expect(page).to_have_url(re.compile(r"/comms/visits/\d+/$"))
        visit = Visit.objects.get()
        expect(page).to_have_url(f"{live_server.url}/comms/visits/{visit.pk}/")
        expect(page.get_by_test_id("visit-visitors")).to_have_text("费、菲")  # by username
        assert problems == []
        page.close()

        # The field collector finds it in her day, on a phone.
        page, problems = log_in(browser, live_server.url, "fiona", width=390)
        page.get_by_label("展开菜单").click()
        page.get_by_role("link", name="我的外访").click()
        expect(page).to_have_url(f"{live_server.url}/comms/visits/today/")
        row = page.get_by_test_id("visit-row")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("visit-address")).to_have_text("北京市海淀区****")
        row.click()
        expect(page).to_have_url(f"{live_server.url}/comms/visits/{visit.pk}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # An executable renamed photo.jpg is refused, and nothing is stored.
        page.evaluate("window.stillTheSamePage = true")
        upload = page.get_by_test_id("attachment-form")
        upload.locator("input[type=file]").set_input_files(
            {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": EXE_BYTES}
        )
        page.get_by_test_id("attachment-submit").click()
        expect(page.get_by_test_id("attachment-error")).to_have_text(
            "文件 photo.jpg 是可执行文件或压缩包（Windows），不是照片或录音，已拒绝。"
        )
        assert VisitAttachment.objects.count() == 0
        assert not settings.MEDIA_ROOT.exists() or not any(
            p.is_file() for p in settings.MEDIA_ROOT.rglob("*")
        )

        # A photo goes in, without a page reload.
        page.get_by_test_id("attachment-form").locator("input[type=file]").set_input_files(
            {"name": "门口.jpg", "mimeType": "image/jpeg", "buffer": JPEG_BYTES}
        )
        page.get_by_test_id("attachment-submit").click()
        expect(page.get_by_test_id("attachment-added")).to_have_text("已上传：门口.jpg")
        expect(page.get_by_test_id("attachment-link")).to_have_text("门口.jpg")
        assert page.evaluate("window.stillTheSamePage") is True

        # After the visit, she records it.
        clock.move_to(AFTER_THE_VISIT)
        page.reload()
        record = page.get_by_test_id("record-form")
        record.locator("#id_started_at").fill("2026-11-24T14:05")
        record.locator("#id_action_code").select_option("RPC")
        record.locator("#id_connected").check()
        record.locator("#id_right_party").check()
        record.locator("#id_outcome").fill("见到本人，同意月底前还款")
        record.locator("#id_recording_ref").fill("REC-007-0001")
        page.get_by_test_id("record-submit").click()
        expect(page.get_by_test_id("visit-state")).to_have_text("已完成")
        expect(page.get_by_test_id("visit-recording-ref")).to_have_text("REC-007-0001")
        activity = Activity.objects.get()
        assert (activity.channel, activity.actor_id, activity.recording_ref) == (
            "visit",
            fiona.pk,
            "REC-007-0001",
        )
        assert Visit.objects.get().state == VisitState.DONE
        page.screenshot(path=SCREENSHOT, full_page=True)
        assert problems == []
