"""The visit pages: a visitor's day, planning, the visit record with its attachments — and
who sees what (out of scope is 404 on every page)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from arrears.accounts.models import Role
from arrears.audit.models import AuditAction, AuditEntry
from arrears.cases.models import Activity
from arrears.comms.models import Visit, VisitAttachment, VisitState
from arrears.comms.visits import visit_attachment_add, visit_plan
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes", "calendar")]

SH = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, a working day, 09:00 in Shanghai.
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
HTMX = {"HTTP_HX_REQUEST": "true"}
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.deactivate()


@pytest.fixture
def calendar(db: None) -> None:
    ensure_calendar()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def crew(book: Book):
    fiona = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR, first_name="菲", last_name="欧")
    felix = UserFactory(username="felix", role=Role.FIELD_COLLECTOR)
    return fiona, felix


@pytest.fixture
def home(book: Book):
    case = book.case_alice
    case.bucket_code, case.bucket_group = "M1-1", "M1"
    case.save(update_fields=["bucket_code", "bucket_group"])
    return ContactPointFactory(
        customer=case.customer, kind="address", owner_role="self", value="北京市海淀区中关村大街1号"
    )


@pytest.fixture
def visit(book: Book, crew, home) -> Visit:
    return visit_plan(
        case=book.case_alice,
        address=home,
        planned_at=NOW.replace(hour=14),
        purpose="面谈还款计划",
        visitors=list(crew),
        recording_device="REC-007",
        actor=book.alice,
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_visitors_day_lists_their_visits_in_time_order(book: Book, crew, home, visit: Visit) -> None:
    fiona, felix = crew
    early = visit_plan(
        case=book.case_alice,
        address=home,
        planned_at=NOW.replace(hour=10),
        purpose="复访",
        visitors=[fiona, book.tina],
        recording_device="REC-008",
        actor=book.alice,
    )
    client = client_for(fiona)
    page = client.get("/comms/visits/today/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="visit-row"') == 2
    assert html.index(f'data-visit="{early.pk}"') < html.index(f'data-visit="{visit.pk}"')
    assert "北京市海淀区****" in html and "中关村" not in html
    assert book.case_alice.customer.name in html
    # felix goes on one of them; another day has none.
    assert (
        client_for(felix).get("/comms/visits/today/").content.decode().count('data-testid="visit-row"') == 1
    )
    other_day = client.get("/comms/visits/today/?day=2026-11-25", **HTMX)
    assert other_day.status_code == 200
    body = other_day.content.decode()
    assert 'data-testid="visit-day-empty"' in body and "<html" not in body


def test_the_menu_offers_my_visits_to_field_staff(book: Book, crew) -> None:
    fiona, _felix = crew
    assert 'href="/comms/visits/today/"' in client_for(fiona).get("/").content.decode()
    assert 'href="/comms/visits/today/"' not in client_for(book.agnes).get("/").content.decode()


def test_the_case_page_links_to_planning_a_visit(book: Book, home) -> None:
    html = client_for(book.alice).get(f"/cases/{book.case_alice.pk}/").content.decode()
    assert f'href="/comms/visits/plan/{book.case_alice.pk}/"' in html


def test_planning_a_visit_with_two_visitors_redirects_to_the_visit(book: Book, crew, home) -> None:
    fiona, felix = crew
    client = client_for(book.alice)
    form = client.get(f"/comms/visits/plan/{book.case_alice.pk}/")
    assert form.status_code == 200
    html = form.content.decode()
    assert f'value="{home.pk}"' in html and "北京市海淀区****" in html
    assert f'value="{fiona.pk}"' in html and f'value="{book.agnes.pk}"' not in html
    response = client.post(
        f"/comms/visits/plan/{book.case_alice.pk}/",
        {
            "address": home.pk,
            "planned_at": "2026-11-24T15:00",
            "purpose": "面谈还款计划",
            "visitors": [fiona.pk, felix.pk],
            "recording_device": "REC-007",
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/comms/visits/{visit.pk}/"
    assert visit.planned_at == NOW.replace(hour=15)
    assert set(visit.visitors.all()) == {fiona, felix}


def test_a_refused_plan_shows_the_guards_reasons(book: Book, crew, home) -> None:
    fiona, _felix = crew
    response = client_for(book.alice).post(
        f"/comms/visits/plan/{book.case_alice.pk}/",
        {
            "address": home.pk,
            "planned_at": "2026-11-24T22:00",
            "purpose": "面谈",
            "visitors": [fiona.pk],
            "recording_device": "REC-007",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="plan-refusal"' in html
    assert "外访至少 2 人，本次 1 人" in html
    assert "不在联系时段 08:00–21:00 内" in html
    assert "最早可外访" not in html  # too few visitors does not lift by itself
    assert Visit.objects.count() == 0
    assert Decision.objects.filter(allowed=False).count() == 1


def test_planning_form_errors_show_next_to_their_fields(book: Book, crew, home) -> None:
    response = client_for(book.alice).post(
        f"/comms/visits/plan/{book.case_alice.pk}/",
        {
            "address": home.pk,
            "planned_at": "2026-11-23T10:00",
            "purpose": "x",
            "visitors": [crew[0].pk, crew[1].pk],
        },
    )
    html = response.content.decode()
    assert 'data-testid="error-recording_device"' in html
    response = client_for(book.alice).post(
        f"/comms/visits/plan/{book.case_alice.pk}/",
        {
            "address": home.pk,
            "planned_at": "2026-11-23T10:00",
            "purpose": "x",
            "visitors": [crew[0].pk, crew[1].pk],
            "recording_device": "REC",
        },
    )
    assert 'data-testid="error-planned_at"' in response.content.decode()
    assert (Visit.objects.count(), Decision.objects.count()) == (0, 0)


def test_read_only_roles_see_no_plan_form_and_may_not_post(book: Book, crew, home) -> None:
    qa = UserFactory(username="quinn", role=Role.QA)
    client = client_for(qa)
    page = client.get(f"/comms/visits/plan/{book.case_alice.pk}/")
    assert page.status_code == 200 and 'data-testid="read-only"' in page.content.decode()
    assert client.post(f"/comms/visits/plan/{book.case_alice.pk}/", {}).status_code == 403


def test_the_visit_page_shows_the_plan_and_a_visitor_records_it(
    book: Book, crew, visit: Visit, clock
) -> None:
    fiona, _felix = crew
    clock.move_to(NOW.replace(hour=16))
    # fiona is not the case's collector, but goes on the visit: she opens it.
    client = client_for(fiona)
    page = client.get(f"/comms/visits/{visit.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "面谈还款计划" in html and "北京市海淀区****" in html and 'data-testid="record-form"' in html
    assert "2026-11-24 14:00" in html
    response = client.post(
        f"/comms/visits/{visit.pk}/record/",
        {
            "started_at": "2026-11-24T14:05",
            "action_code": "RPC",
            "connected": "on",
            "right_party": "on",
            "outcome": "见到本人，同意月底前还款",
            "notes": "",
            "recording_ref": "REC-007-0001",
        },
        **HTMX,
    )
    assert response.status_code == 200 and response["HX-Redirect"] == f"/comms/visits/{visit.pk}/"
    activity = Activity.objects.get()
    assert (activity.channel, activity.recording_ref, activity.actor) == ("visit", "REC-007-0001", fiona)
    assert Visit.objects.get().state == VisitState.DONE
    done = client.get(f"/comms/visits/{visit.pk}/").content.decode()
    assert 'data-testid="visit-outcome"' in done and 'data-testid="record-form"' not in done


def test_a_refused_record_shows_the_reasons_and_keeps_the_visit_planned(
    book: Book, crew, visit: Visit, clock
) -> None:
    fiona, _felix = crew
    clock.move_to(NOW.replace(hour=21, minute=40))
    response = client_for(fiona).post(
        f"/comms/visits/{visit.pk}/record/",
        {
            "started_at": "2026-11-24T21:30",
            "action_code": "RPC",
            "connected": "on",
            "outcome": "见到本人",
            "recording_ref": "REC-007-0001",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="record-refusal"' in html and "<html" not in html
    assert "不在联系时段" in html
    assert (Activity.objects.count(), Visit.objects.get().state) == (0, VisitState.PLANNED)


def test_the_case_collector_sees_the_visit_but_does_not_record_it(book: Book, visit: Visit) -> None:
    client = client_for(book.alice)
    html = client.get(f"/comms/visits/{visit.pk}/").content.decode()
    assert 'data-testid="record-form"' not in html and 'data-testid="attachment-form"' in html
    assert client.post(f"/comms/visits/{visit.pk}/record/", {}).status_code == 403


def test_an_executable_upload_shows_the_error_and_stores_nothing(
    book: Book, crew, visit: Visit, media: Path
) -> None:
    fiona, _felix = crew
    client = client_for(fiona)
    response = client.post(
        f"/comms/visits/{visit.pk}/attachments/",
        {"file": SimpleUploadedFile("photo.jpg", EXE_BYTES, content_type="image/jpeg")},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="attachment-error"' in html
    assert "文件 photo.jpg 是可执行文件或压缩包（Windows），不是照片或录音，已拒绝。" in html
    assert VisitAttachment.objects.count() == 0
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_an_upload_is_listed_and_downloads_through_the_checked_view(
    book: Book, crew, visit: Visit, media: Path
) -> None:
    fiona, _felix = crew
    client = client_for(fiona)
    response = client.post(
        f"/comms/visits/{visit.pk}/attachments/", {"file": SimpleUploadedFile("门口.jpg", JPEG_BYTES)}, **HTMX
    )
    html = response.content.decode()
    attachment = VisitAttachment.objects.get()
    assert 'data-testid="attachment-added"' in html and "门口.jpg" in html
    assert f'href="/comms/visits/attachments/{attachment.pk}/"' in html
    download = client.get(f"/comms/visits/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == JPEG_BYTES
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    # Without htmx, the upload redirects back to the page.
    plain = client.post(
        f"/comms/visits/{visit.pk}/attachments/", {"file": SimpleUploadedFile("b.jpg", JPEG_BYTES)}
    )
    assert plain.status_code == 302 and plain["Location"].endswith("#visit-attachments")


def test_cancelling_from_the_page(book: Book, visit: Visit) -> None:
    client = client_for(book.alice)
    response = client.post(f"/comms/visits/{visit.pk}/cancel/", {"reason": "客户改约"})
    assert response.status_code == 302
    assert Visit.objects.get().state == VisitState.CANCELLED
    assert 'data-testid="cancel-form"' not in client.get(f"/comms/visits/{visit.pk}/").content.decode()


def test_out_of_scope_users_get_404_on_every_page(book: Book, crew, visit: Visit, media: Path) -> None:
    attachment = visit_attachment_add(
        visit=visit, uploaded_file=SimpleUploadedFile("a.jpg", JPEG_BYTES), actor=crew[0]
    )
    outsider_field = UserFactory(username="otto", role=Role.FIELD_COLLECTOR)
    for outsider in (book.bob, book.agnes, outsider_field):
        client = client_for(outsider)
        for method, url in (
            ("get", f"/comms/visits/plan/{book.case_alice.pk}/"),
            ("post", f"/comms/visits/plan/{book.case_alice.pk}/"),
            ("get", f"/comms/visits/{visit.pk}/"),
            ("post", f"/comms/visits/{visit.pk}/record/"),
            ("post", f"/comms/visits/{visit.pk}/cancel/"),
            ("post", f"/comms/visits/{visit.pk}/attachments/"),
            ("get", f"/comms/visits/attachments/{attachment.pk}/"),
            ("get", "/comms/visits/plan/999999/"),
            ("get", "/comms/visits/999999/"),
        ):
            assert getattr(client, method)(url).status_code == 404, (outsider.username, method, url)
        # Their day lists none of it.
        assert 'data-testid="visit-row"' not in client.get("/comms/visits/today/").content.decode()
    assert (Visit.objects.get().state, VisitAttachment.objects.count()) == (VisitState.PLANNED, 1)


def test_anonymous_users_are_sent_to_log_in(visit: Visit) -> None:
    response = Client().get(f"/comms/visits/{visit.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_visitor_outside_the_cases_scope_reveals_the_address_with_a_purpose(
    book: Book, crew, visit: Visit
) -> None:
    fiona, _felix = crew
    client = client_for(fiona)
    url = f"/comms/visits/{visit.pk}/address/"
    assert 'data-testid="reveal-form"' in client.get(url).content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.READ_UNMASKED).count() == 0
    shown = client.post(url, {"purpose": "field_visit"}).content.decode()
    assert "北京市海淀区中关村大街1号" in shown
    entry = AuditEntry.objects.get(action=AuditAction.READ_UNMASKED)
    assert (entry.actor, entry.object_type, entry.object_id, entry.purpose) == (
        fiona,
        "contact_point",
        str(visit.address_id),
        "外访",
    )
    assert (
        entry.summary == f"查看外访地址明文：客户 {book.case_alice.customer.customer_no}（外访 #{visit.pk}）"
    )
    # Out of scope: 404; a role that never unmasks: 403 before anything is looked up.
    assert client_for(book.bob).post(url, {"purpose": "field_visit"}).status_code == 404
    assert client_for(book.agnes).post(url, {"purpose": "field_visit"}).status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.READ_UNMASKED).count() == 1
