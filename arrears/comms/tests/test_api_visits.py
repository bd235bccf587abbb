"""The visits API: plan (409 with the decision when refused), read, record, cancel, attach."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from arrears.accounts.models import Role
from arrears.accounts.services import token_create
from arrears.cases.models import Activity
from arrears.comms.models import Visit, VisitAttachment, VisitState
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes", "calendar")]

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200
EXE_BYTES = b"MZ\x90\x00" + b"\x00" * 200


@pytest.fixture
def calendar(db: None) -> None:
    ensure_calendar()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def crew(book: Book):
    return (
        UserFactory(username="fiona", role=Role.FIELD_COLLECTOR),
        UserFactory(username="felix", role=Role.FIELD_COLLECTOR),
    )


@pytest.fixture
def home(book: Book):
    return ContactPointFactory(
        customer=book.case_alice.customer,
        kind="address",
        owner_role="self",
        value="北京市海淀区中关村大街1号",
    )


_TOKEN_NAMES = itertools.count()


def api(user) -> Client:
    _, secret = token_create(name=f"t-{user.username}-{next(_TOKEN_NAMES)}", user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def plan_body(book: Book, home, visitors, at="2026-11-24T14:00:00+08:00"):
    return {
        "case_id": book.case_alice.pk,
        "address_id": home.pk,
        "planned_at": at,
        "purpose": "面谈还款计划",
        "visitor_ids": [person.pk for person in visitors],
        "recording_device": "REC-007",
    }


def test_plan_record_and_read_a_visit(book: Book, crew, home, clock) -> None:
    fiona, _felix = crew
    created = api(book.alice).post(
        "/api/v1/visits", plan_body(book, home, crew), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["visitors"], body["address_masked"], body["customer_name"]) == (
        "planned",
        ["felix", "fiona"],
        "北京市海淀区****",
        book.case_alice.customer.name,
    )
    visit_id = body["id"]
    today = api(fiona).get("/api/v1/visits/today").json()
    assert [item["id"] for item in today] == [visit_id]
    assert api(fiona).get("/api/v1/visits/today?day=2026-11-25").json() == []

    clock.move_to(NOW.replace(hour=16))
    recorded = api(fiona).post(
        f"/api/v1/visits/{visit_id}/record",
        {
            "started_at": "2026-11-24T14:05:00+08:00",
            "action_code": "RPC",
            "outcome": "见到本人",
            "recording_ref": "REC-007-0001",
            "connected": True,
            "right_party": True,
        },
        content_type="application/json",
    )
    assert recorded.status_code == 200, recorded.content
    assert recorded.json()["state"] == "done"
    activity = Activity.objects.get()
    assert (recorded.json()["activity_id"], activity.channel, activity.recording_ref) == (
        activity.pk,
        "visit",
        "REC-007-0001",
    )


def test_one_visitor_is_a_409_with_the_stored_decision(book: Book, crew, home) -> None:
    response = api(book.alice).post(
        "/api/v1/visits", plan_body(book, home, crew[:1]), content_type="application/json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "denied"
    assert {item["rule"] for item in body["decision"]["violations"]} == {"H14", "C6"}
    assert body["decision"]["decision_id"] == Decision.objects.get().pk
    assert Visit.objects.count() == 0


def test_bad_plans_are_422(book: Book, crew, home) -> None:
    client = api(book.alice)
    for changes, field in (
        ({"visitor_ids": [crew[0].pk, 999999]}, "visitor_ids"),
        ({"address_id": 999999}, "address_id"),
        ({"planned_at": "2026-11-23T10:00:00+08:00"}, "planned_at"),
        ({"planned_at": "2027-11-23T10:00:00+08:00"}, "planned_at"),
        ({"visitor_ids": [crew[0].pk, book.agnes.pk]}, "visitors"),
    ):
        response = client.post(
            "/api/v1/visits", {**plan_body(book, home, crew), **changes}, content_type="application/json"
        )
        assert (response.status_code, response.json().get("field")) == (422, field), changes
    assert (Visit.objects.count(), Decision.objects.count()) == (0, 0)


def test_scope_and_roles(book: Book, crew, home) -> None:
    assert (
        api(book.bob)
        .post("/api/v1/visits", plan_body(book, home, crew), content_type="application/json")
        .status_code
        == 404
    )
    qa = UserFactory(username="quinn", role=Role.QA)
    assert (
        api(qa)
        .post("/api/v1/visits", plan_body(book, home, crew), content_type="application/json")
        .status_code
        == 403
    )
    visit_id = (
        api(book.alice)
        .post("/api/v1/visits", plan_body(book, home, crew), content_type="application/json")
        .json()["id"]
    )
    assert api(book.bob).get(f"/api/v1/visits/{visit_id}").status_code == 404
    assert (
        api(book.bob)
        .post(f"/api/v1/visits/{visit_id}/cancel", {"reason": "x"}, content_type="application/json")
        .status_code
        == 404
    )
    # The case's collector reads it but does not record it.
    assert api(book.alice).get(f"/api/v1/visits/{visit_id}").status_code == 200
    record = {
        "started_at": "2026-11-24T08:55:00+08:00",
        "action_code": "RPC",
        "outcome": "x",
        "recording_ref": "R",
        "connected": True,
        "right_party": True,
    }
    assert (
        api(book.alice)
        .post(f"/api/v1/visits/{visit_id}/record", record, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        api(book.bob)
        .post(f"/api/v1/visits/{visit_id}/record", record, content_type="application/json")
        .status_code
        == 404
    )


def test_attachments_through_the_api(book: Book, crew, home, settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    visit_id = (
        api(book.alice)
        .post("/api/v1/visits", plan_body(book, home, crew), content_type="application/json")
        .json()["id"]
    )
    client = api(crew[0])
    refused = client.post(
        f"/api/v1/visits/{visit_id}/attachments", {"file": SimpleUploadedFile("photo.jpg", EXE_BYTES)}
    )
    assert refused.status_code == 422
    assert (
        refused.json()["detail"] == "文件 photo.jpg 是可执行文件或压缩包（Windows），不是照片或录音，已拒绝。"
    )
    assert not settings.MEDIA_ROOT.exists() or not any(
        path.is_file() for path in settings.MEDIA_ROOT.rglob("*")
    )
    added = client.post(
        f"/api/v1/visits/{visit_id}/attachments", {"file": SimpleUploadedFile("a.jpg", JPEG_BYTES)}
    )
    assert added.status_code == 201
    assert (added.json()["content_type"], added.json()["kind"]) == ("image/jpeg", "photo")
    assert VisitAttachment.objects.count() == 1
    assert (
        api(book.bob)
        .post(f"/api/v1/visits/{visit_id}/attachments", {"file": SimpleUploadedFile("a.jpg", JPEG_BYTES)})
        .status_code
        == 404
    )
    cancelled = api(book.alice).post(
        f"/api/v1/visits/{visit_id}/cancel", {"reason": "改期"}, content_type="application/json"
    )
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, VisitState.CANCELLED)
