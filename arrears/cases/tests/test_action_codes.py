"""Admins add action codes; collectors can then log them; defaults cannot be deleted."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from arrears.cases.models import ActionCode, Activity
from arrears.cases.services import activity_log
from arrears.conftest import Book
from arrears.tests.factories import ContactPointFactory

SH = ZoneInfo("Asia/Shanghai")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


def test_defaults_are_the_domain_table() -> None:
    assert list(ActionCode.objects.values_list("code", flat=True)) == [
        "PTP", "PTP2", "BP", "KP", "RPC", "TPC", "NA", "BUSY", "OFF", "EMPTY", "WN", "RTP",
        "DISPUTE", "COMPLAINT", "HARDSHIP", "SKIP", "FOUND1", "DECEASED", "JAIL", "PAID", "SENT",
    ]  # fmt: skip
    assert set(ActionCode.objects.filter(system_only=True).values_list("code", flat=True)) == {
        "BP",
        "KP",
        "SENT",
    }


def test_an_admin_adds_a_code_that_collectors_can_log(client: Client, book: Book) -> None:
    client.force_login(book.root)
    response = client.post(
        "/admin/cases/actioncode/add/",
        {
            "code": "LM",
            "label": "留言",
            "label_en": "Left message",
            "category": "contact",
            "active": "on",
            "sort_order": 300,
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/cases/actioncode/1/delete/").status_code in (403, 404)
    point = ContactPointFactory(customer=book.case_alice.customer)
    logged = activity_log(
        case=book.case_alice,
        actor=book.alice,
        channel="call",
        contact_point=point,
        direction="outbound",
        started_at=dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH),
        connected=False,
        right_party=False,
        action_code="lm",
        now=dt.datetime(2026, 11, 24, 11, 0, tzinfo=SH),
    )
    assert Activity.objects.get().action_code_id == logged.action_code_id == "LM"


def test_a_collector_cannot_reach_the_code_admin(client: Client, book: Book) -> None:
    client.force_login(book.alice)
    assert client.get("/admin/cases/actioncode/").status_code == 302
    assert not ActionCode.objects.filter(code="LM").exists()
