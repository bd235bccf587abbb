"""The letters pages: who may see, print and download batches; downloads are audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from arrears.audit.models import AuditAction, AuditEntry
from arrears.comms.letter_batches import letter_batch_print, letters_waiting_count
from arrears.comms.models import LetterBatch, Message
from arrears.comms.tests.letter_helpers import address_point, sent_letter

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
PAGE = "/comms/letters/"
PRINT = "/comms/letters/print/"


@pytest.fixture
def letters_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ARREARS_LETTERS_DIR = tmp_path / "letters"
    return tmp_path / "letters"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_urls_are_where_the_pages_link() -> None:
    assert reverse("comms_letters") == PAGE
    assert reverse("comms_letters_print") == PRINT
    assert reverse("comms_letters_download", args=[7, "pdf"]) == "/comms/letters/7/pdf/"


@pytest.mark.parametrize("persona", ["alice", "agnes"])
def test_collectors_and_agency_users_may_not_see_print_or_download(
    book: Any, letters_dir: Path, persona: str
) -> None:
    point = address_point(book.case_alice)
    sent_letter(book.case_alice, point=point)
    batch = letter_batch_print(actor=book.sam, now=NOW)
    assert batch is not None
    waiting = sent_letter(book.case_alice, point=point)
    client = _client(getattr(book, persona))
    audit_before = AuditEntry.objects.count()  # after the login, which is audited

    assert client.get(PAGE).status_code == 403
    assert client.post(PRINT).status_code == 403
    assert client.post(PRINT, HTTP_HX_REQUEST="true").status_code == 403
    assert client.get(f"/comms/letters/{batch.pk}/pdf/").status_code == 403
    assert client.get(f"/comms/letters/{batch.pk}/csv/").status_code == 403

    # Nothing happened: no new batch, the waiting letter still waits, nothing audited.
    assert LetterBatch.objects.count() == 1
    waiting.refresh_from_db()
    assert waiting.letter_batch is None
    assert letters_waiting_count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_anonymous_visitors_are_sent_to_the_login_page(book: Any, letters_dir: Path) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert Client().post(PRINT).status_code == 302
    assert LetterBatch.objects.count() == 0


def test_a_supervisor_sees_the_waiting_letters_and_the_batches(book: Any, letters_dir: Path) -> None:
    point = address_point(book.case_alice)
    sent_letter(book.case_alice, point=point)
    batch = letter_batch_print(actor=book.tina, now=NOW)
    assert batch is not None
    sent_letter(book.case_alice, point=point)
    sent_letter(book.case_alice, point=point)

    response = _client(book.sam).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 封信函等待打印" in html
    assert f"#{batch.pk}" in html
    assert f'href="/comms/letters/{batch.pk}/pdf/"' in html
    assert f'href="/comms/letters/{batch.pk}/csv/"' in html
    assert "tina" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert response.context["waiting"] == 2
    assert [b.pk for b in response.context["batches"]] == [batch.pk]


def test_printing_from_the_page_with_htmx_returns_the_panel(book: Any, letters_dir: Path) -> None:
    point = address_point(book.case_bob)
    letters = [sent_letter(book.case_bob, point=point) for _ in range(3)]

    response = _client(book.tina).post(PRINT, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.templates[0].name == "comms/letters_panel.html"
    batch = LetterBatch.objects.get()
    assert batch.created_by == book.tina
    assert batch.letters == 3
    html = response.content.decode()
    assert f"已打印信函批次 #{batch.pk}，共 3 封。" in html
    assert "0 封信函等待打印" in html
    assert set(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == {
        m.pk for m in letters
    }
    # The write is in the audit trail (the state-change middleware).
    entry = AuditEntry.objects.get(path=PRINT)
    assert entry.action == AuditAction.STATE_CHANGE
    assert entry.actor == book.tina


def test_printing_without_htmx_redirects_with_a_message(book: Any, letters_dir: Path) -> None:
    client = _client(book.root)

    response = client.post(PRINT, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "没有待打印的信函。" in response.content.decode()
    assert LetterBatch.objects.count() == 0

    sent_letter(book.case_alice)
    response = client.post(PRINT, follow=True)
    batch = LetterBatch.objects.get()
    assert f"已打印信函批次 #{batch.pk}，共 1 封。" in response.content.decode()


def test_printing_needs_a_post(book: Any, letters_dir: Path) -> None:
    sent_letter(book.case_alice)
    assert _client(book.sam).get(PRINT).status_code == 405
    assert LetterBatch.objects.count() == 0


def test_downloads_are_served_to_the_allowed_roles_and_audited(book: Any, letters_dir: Path) -> None:
    sent_letter(book.case_alice)
    batch = letter_batch_print(actor=book.sam, now=NOW)
    assert batch is not None

    response = _client(book.tina).get(f"/comms/letters/{batch.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="letters-{batch.pk}.pdf"'
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == book.tina
    assert entry.object_id == str(batch.pk)
    assert entry.summary == f"下载信函批次 #{batch.pk} PDF（1 封）"
    assert entry.path == f"/comms/letters/{batch.pk}/pdf/"

    response = _client(book.root).get(f"/comms/letters/{batch.pk}/csv/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff编号,收件人,邮编,地址,消息编号".encode())
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 2


def test_an_unknown_batch_or_file_kind_is_not_found(book: Any, letters_dir: Path) -> None:
    sent_letter(book.case_alice)
    batch = letter_batch_print(actor=book.sam, now=NOW)
    assert batch is not None
    client = _client(book.sam)

    assert client.get(f"/comms/letters/{batch.pk + 1}/pdf/").status_code == 404
    assert client.get(f"/comms/letters/{batch.pk}/xlsx/").status_code == 404
    (letters_dir / batch.pdf_path).unlink()
    assert client.get(f"/comms/letters/{batch.pk}/pdf/").status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_menu_links_the_page_for_the_roles_that_may_see_it(book: Any) -> None:
    link = 'href="/comms/letters/"'
    for persona in ("sam", "tina", "root"):
        assert link in _client(getattr(book, persona)).get("/").content.decode(), persona
    for persona in ("alice", "agnes"):
        assert link not in _client(getattr(book, persona)).get("/").content.decode(), persona
