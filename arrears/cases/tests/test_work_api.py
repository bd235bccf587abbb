"""The work API contract (issue #4 §8): activities (201 or 409 with the decision), promises,
holds, contact-point and customer changes — scoped, validated, nothing written on refusal."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from arrears.accounts.models import Role
from arrears.cases.models import Activity, CaseEvent, CaseHold, CaseStatus, Promise
from arrears.cases.tests.test_api import bearer
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.tests.factories import ContactPointFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SH)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mobile(book: Book):
    book.case_alice.bucket_group = "M1"
    book.case_alice.save()
    return ContactPointFactory(customer=book.case_alice.customer, kind="mobile", owner_role="self")


def post(
    client: Client, url: str, body: dict[str, Any], headers: dict[str, str], method: str = "post"
) -> Any:
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", headers=headers
    )


def activity(point, at: str, code: str = "RPC", **extra: Any) -> dict[str, Any]:
    body = {
        "channel": "call",
        "contact_point_id": point.pk,
        "direction": "outbound",
        "started_at": at,
        "connected": True,
        "right_party": True,
        "action_code": code,
    }
    body.update(extra)
    return body


def test_an_allowed_call_is_201_and_a_ptp_makes_the_promise(client: Client, book: Book, mobile) -> None:
    headers = bearer(book.alice, "dialer")
    url = f"/api/v1/cases/{book.case_alice.pk}/activities"
    response = post(
        client,
        url,
        activity(
            mobile,
            "2026-11-24T10:00:00+08:00",
            code="PTP",
            notes="本人承诺明天还",
            promise_amount_fen=120000,
            promise_due_at="2026-11-25T18:00:00+08:00",
        ),
        headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    promise = Promise.objects.get()
    assert body["action_code"] == "PTP"
    assert body["promise_id"] == promise.pk
    assert body["decision_id"] == Activity.objects.get().decision_id
    assert (promise.kind, promise.amount_fen) == ("PTP", 120000)
    listed = client.get(url + "?q=明天", headers=headers).json()
    assert [row["id"] for row in listed] == [body["id"]]


def test_a_denied_call_is_409_with_the_decision_and_nothing_is_logged(
    client: Client, book: Book, mobile
) -> None:
    response = post(
        client,
        f"/api/v1/cases/{book.case_alice.pk}/activities",
        activity(mobile, "2026-11-23T21:30:00+08:00"),
        bearer(book.alice, "dialer"),
    )
    assert response.status_code == 409
    decision = response.json()["decision"]
    assert decision["allowed"] is False
    assert [v["rule"] for v in decision["violations"]] == ["H1"]
    assert decision["violations"][0]["message"] == "当地时间 21:30 CST 不在联系时段 08:00–21:00 内"
    assert decision["next_allowed_at"] == "2026-11-24T08:00:00+08:00"
    assert Decision.objects.get().pk == decision["decision_id"]
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"started_at": "2026-11-24T10:00:00"}, "started_at"),  # naive
        (
            {"code": "PTP", "promise_amount_fen": 100, "promise_due_at": "2026-11-23T10:00:00+08:00"},
            "promise_due_at",
        ),
        ({"code": "PTP"}, "promise_amount_fen"),
        ({"code": "BP"}, "action_code"),
    ],
)
def test_bad_activities_are_422_naming_the_field(client: Client, book: Book, mobile, change, field) -> None:
    change = dict(change)
    at = change.pop("started_at", "2026-11-24T10:00:00+08:00")
    code = change.pop("code", "RPC")
    response = post(
        client,
        f"/api/v1/cases/{book.case_alice.pk}/activities",
        activity(mobile, at, code=code, **change),
        bearer(book.alice, "dialer"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert (Activity.objects.count(), Promise.objects.count()) == (0, 0)


def test_other_scopes_get_404_and_read_only_roles_403(client: Client, book: Book, mobile) -> None:
    body = activity(mobile, "2026-11-24T10:00:00+08:00")
    url = f"/api/v1/cases/{book.case_alice.pk}/activities"
    assert post(client, url, body, bearer(book.bob, "bob")).status_code == 404
    qa = UserFactory(username="quinn", role=Role.QA)
    assert post(client, url, body, bearer(qa, "qa")).status_code == 403
    assert post(client, url, body, bearer(book.tina, "tina")).status_code == 201
    assert Activity.objects.count() == 1


def test_ids_no_row_can_have_are_404_and_422(client: Client, book: Book, mobile) -> None:
    # Past bigint: the scope's query cannot even be built (the hand-written lookup must say 404).
    huge = 2**70
    body = activity(mobile, "2026-11-24T10:00:00+08:00")
    alice = bearer(book.alice, "alice")

    assert post(client, f"/api/v1/cases/{huge}/activities", body, alice).status_code == 404
    assert client.get(f"/api/v1/cases/{huge}/activities", headers=alice).status_code == 404
    url = f"/api/v1/cases/{book.case_alice.pk}/activities"
    response = post(client, url, {**body, "contact_point_id": huge}, alice)
    assert response.status_code == 422
    assert response.json()["field"] == "contact_point_id"
    assert Activity.objects.count() == 0


def test_hold_place_and_release(client: Client, book: Book, mobile) -> None:
    headers = bearer(book.alice, "alice")
    url = f"/api/v1/cases/{book.case_alice.pk}/holds"
    assert post(client, url, {"kind": "dispute", "reason": ""}, headers).status_code == 422
    placed = post(client, url, {"kind": "dispute", "reason": "客户否认借款"}, headers)
    assert placed.status_code == 201
    hold_id = placed.json()["id"]
    book.case_alice.refresh_from_db()
    assert book.case_alice.status == CaseStatus.ON_HOLD
    denied = post(
        client,
        f"/api/v1/cases/{book.case_alice.pk}/activities",
        activity(mobile, "2026-11-24T10:00:00+08:00"),
        headers,
    )
    assert [v["rule"] for v in denied.json()["decision"]["violations"]] == ["H6"]
    released = post(client, f"{url}/{hold_id}", {"note": "已核实"}, headers, method="delete")
    assert released.status_code == 200
    assert released.json()["released_by"] == "alice"
    assert CaseHold.objects.get().released_at is not None
    assert post(client, f"{url}/{hold_id}", {}, headers, method="delete").status_code == 422


def test_contact_point_and_customer_patches(client: Client, book: Book, mobile) -> None:
    headers = bearer(book.alice, "alice")
    point_url = f"/api/v1/contact-points/{mobile.pk}"
    assert post(client, point_url, {"do_not_contact": True}, headers, method="patch").status_code == 422
    changed = post(client, point_url, {"do_not_contact": True, "reason": "本人要求"}, headers, method="patch")
    assert changed.json() == {
        "id": mobile.pk,
        "do_not_contact": True,
        "do_not_contact_reason": "本人要求",
        "valid": True,
    }
    assert (
        post(client, point_url, {"valid": False}, bearer(book.bob, "bob"), method="patch").status_code == 404
    )

    customer_url = f"/api/v1/customers/{book.case_alice.customer_id}"
    bad = post(client, customer_url, {"timezone": "Nowhere"}, headers, method="patch")
    assert (bad.status_code, bad.json()["field"]) == (422, "timezone")
    ok = post(
        client,
        customer_url,
        {"protected_reason": "pregnancy", "timezone": "Asia/Urumqi"},
        headers,
        method="patch",
    )
    assert ok.json() == {
        "id": book.case_alice.customer_id,
        "protected_reason": "pregnancy",
        "timezone": "Asia/Urumqi",
        "cease_requested": False,
        "attorney_represented": False,
        "employer_prohibits_contact": False,
    }
    assert CaseEvent.objects.filter(case=book.case_alice, kind="customer_changed").count() == 1


def test_promise_endpoint(client: Client, book: Book) -> None:
    book.case_alice.bucket_group = "M2"
    book.case_alice.save()
    url = f"/api/v1/cases/{book.case_alice.pk}/promises"
    headers = bearer(book.alice, "alice")
    made = post(client, url, {"amount_fen": 5000, "due_at": "2026-12-10T12:00:00+08:00"}, headers)
    assert made.status_code == 201
    assert (made.json()["kind"], made.json()["status"]) == ("PTP", "open")
    past = post(client, url, {"amount_fen": 5000, "due_at": "2026-11-20T12:00:00+08:00"}, headers)
    assert past.status_code == 422
    assert [row["id"] for row in client.get(url, headers=headers).json()] == [made.json()["id"]]


def test_reg_f_stops_set_through_the_api_stop_calls_under_us_regf(client: Client, book: Book, mobile) -> None:
    from arrears.compliance.services import creditor_packs_set

    creditor_packs_set(creditor=book.case_alice.account.creditor, pack_ids=["us-regf"], actor=book.sam)
    book.case_alice.customer.time_zone = "America/New_York"
    book.case_alice.customer.save()
    work = ContactPointFactory(customer=book.case_alice.customer, kind="work", owner_role="self")
    headers = bearer(book.alice, "alice")
    url = f"/api/v1/cases/{book.case_alice.pk}/activities"
    unanswered = {"code": "NA", "connected": False, "right_party": False}
    customer_url = f"/api/v1/customers/{book.case_alice.customer_id}"

    changed = post(client, customer_url, {"employer_prohibits_contact": True}, headers, method="patch")
    assert changed.json()["employer_prohibits_contact"] is True
    at_work = post(client, url, activity(work, "2026-11-23T10:00:00-05:00", **unanswered), headers)
    assert [v["rule"] for v in at_work.json()["decision"]["violations"]] == ["U4"]
    on_mobile = post(client, url, activity(mobile, "2026-11-23T10:00:00-05:00", **unanswered), headers)
    assert on_mobile.status_code == 201

    post(client, customer_url, {"cease_requested": True}, headers, method="patch")
    ceased = post(client, url, activity(mobile, "2026-11-23T11:00:00-05:00", **unanswered), headers)
    assert ceased.status_code == 409
    assert ceased.json()["decision"]["violations"][0]["reason"] == "cease_requested"
    assert Activity.objects.count() == 1
