"""Admins correct the working calendar; years the holiday library does not know are flagged."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from arrears.accounts.models import Role
from arrears.core.models import CalendarDay, Event
from arrears.core.selectors import calendar_years_needing_holidays
from arrears.core.services import calendar_day_set, calendar_fill
from arrears.delinquency.models import DirtyAccount
from arrears.tests.factories import AccountFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar_2026_2027() -> None:
    # A transactional test's flush may have emptied the migration-seeded calendar.
    calendar_fill(first_year=2026, last_year=2027)


def test_making_a_holiday_a_working_day_relinks_and_queues_shifting_accounts(
    calendar_2026_2027: None,
) -> None:
    shifting = AccountFactory(product=ProductFactory(code="SHIFT", due_date_shift="next_working_day"))
    AccountFactory(product=ProductFactory(code="PLAIN"))
    DirtyAccount.objects.all().delete()
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)

    day = calendar_day_set(day=dt.date(2026, 10, 5), is_working=True, name="", actor=admin)

    assert (day.is_working, day.source, day.next_working_day) == (True, "admin", dt.date(2026, 10, 5))
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 1)).next_working_day == dt.date(2026, 10, 5)
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 6)).next_working_day == dt.date(2026, 10, 8)
    assert list(DirtyAccount.objects.values_list("account_id", flat=True).distinct()) == [shifting.pk]
    event = Event.objects.get(kind="calendar.day_changed")
    assert (event.actor, event.data["before"]["is_working"], event.data["after"]["is_working"]) == (
        admin,
        False,
        True,
    )
    # Refilling from the library keeps the admin's correction.
    calendar_fill(first_year=2026, last_year=2026)
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 5)).is_working is True


def test_the_admin_page_edits_a_day_and_warns_about_unknown_years(
    client: Client, calendar_2026_2027: None
) -> None:
    client.force_login(UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True))

    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        page = client.get("/admin/core/calendarday/")
        assert page.status_code == 200
        assert "节假日库没有 2027 年的数据" in page.content.decode()

        response = client.post("/admin/core/calendarday/2027-01-01/change/", {"name": "元旦"})

    assert response.status_code == 302, response.content.decode()[:300]
    assert response["Location"] == "/admin/core/calendarday/", response["Location"]
    new_year = CalendarDay.objects.get(day=dt.date(2027, 1, 1))
    assert (new_year.is_working, new_year.name, new_year.source, new_year.next_working_day) == (
        False,
        "元旦",
        "admin",
        dt.date(2027, 1, 4),
    )
    assert calendar_years_needing_holidays(today=dt.date(2026, 11, 23)) == []  # an admin has started on 2027


def test_no_warning_when_the_library_knows_both_years(db: None) -> None:
    assert calendar_years_needing_holidays(today=dt.date(2025, 6, 1)) == []


def test_a_collector_cannot_reach_the_calendar_admin(client: Client, calendar_2026_2027: None) -> None:
    client.force_login(UserFactory(username="alice", role=Role.COLLECTOR))

    response = client.post("/admin/core/calendarday/2026-10-05/change/", {"is_working": "on", "name": ""})

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 5)).is_working is False
