"""The "show" action: a purpose, a role that needs the value, an object in scope; one entry each."""

from __future__ import annotations

import pytest

from arrears.accounts.models import Role
from arrears.audit.models import AuditAction, AuditEntry
from arrears.conftest import Book
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
ID_NUMBER = "110105198803141237"


def _persona(book: Book, name: str):
    extra = {
        "qa": {"role": Role.QA},
        "carla": {"role": Role.COMPLIANCE_OFFICER},
        "viewer": {"role": Role.CREDITOR_VIEWER, "creditor_code": "DEMOBANK"},
        "fiona": {"role": Role.FIELD_COLLECTOR},
    }
    if name in extra:
        return UserFactory(username=name, **extra[name])
    return getattr(book, name)


def _phone_of_alices_customer(book: Book):
    return ContactPointFactory(customer=book.case_alice.customer, value=PHONE)


def _reveals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.READ_UNMASKED))


@pytest.mark.parametrize("persona", ["alice", "tina", "sam", "root", "carla"])
def test_allowed_role_sees_the_number_and_one_entry_is_written(client, book: Book, persona):
    point = _phone_of_alices_customer(book)
    user = _persona(book, persona)
    client.force_login(user)

    response = client.post(
        f"/reveal/contact-points/{point.pk}/",
        {"purpose": "verify_identity", "detail": ""},
        REMOTE_ADDR="10.1.2.3",
    )

    assert response.status_code == 200
    assert f'<span data-testid="revealed-value">{PHONE}</span>' in response.content.decode()
    [entry] = _reveals()
    assert (entry.actor, entry.actor_name, entry.object_type, entry.object_id) == (
        user,
        user.username,
        "contact_point",
        str(point.pk),
    )
    assert entry.purpose == "核实身份"
    assert entry.ip == "10.1.2.3"
    assert entry.summary == f"查看联系方式明文：客户 {point.customer.customer_no}（手机）"
    # The view's own entry is the only one for this request: no extra state-change entry.
    assert AuditEntry.objects.filter(action=AuditAction.STATE_CHANGE).count() == 0


def test_field_collector_with_the_case_may_reveal_the_id_number(client, book: Book):
    fiona = _persona(book, "fiona")
    book.case_alice.assigned_collector = fiona
    book.case_alice.save()
    client.force_login(fiona)

    response = client.post(
        f"/reveal/customers/{book.case_alice.customer_id}/id-number/",
        {"purpose": "other", "detail": "上门前核对地址"},
    )

    assert f'<span data-testid="revealed-value">{ID_NUMBER}</span>' in response.content.decode()
    [entry] = _reveals()
    assert (entry.object_type, entry.object_id, entry.purpose) == (
        "customer",
        str(book.case_alice.customer_id),
        "其他：上门前核对地址",
    )


@pytest.mark.parametrize("persona", ["qa", "agnes", "viewer"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_roles_without_the_need_get_403_and_nothing_is_logged(client, book: Book, persona, method):
    # agnes's own case: the refusal is about the role, not the scope.
    point = ContactPointFactory(customer=book.case_agency.customer, value=PHONE)
    client.force_login(_persona(book, persona))
    before = AuditEntry.objects.count()

    response = getattr(client, method)(f"/reveal/contact-points/{point.pk}/", {"purpose": "verify_identity"})

    assert response.status_code == 403
    assert PHONE not in response.content.decode()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    "url", ["/reveal/contact-points/{point}/", "/reveal/customers/{customer}/id-number/"]
)
def test_out_of_scope_is_404_and_nothing_is_logged(client, book: Book, url):
    point = _phone_of_alices_customer(book)
    client.force_login(book.bob)
    before = AuditEntry.objects.count()

    response = client.post(
        url.format(point=point.pk, customer=point.customer_id), {"purpose": "verify_identity"}
    )

    assert response.status_code == 404
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [({"purpose": ""}, "purpose"), ({"purpose": "other", "detail": "  "}, "detail")],
)
def test_missing_purpose_shows_the_form_again_and_nothing_is_shown_or_logged(client, book: Book, data, field):
    point = _phone_of_alices_customer(book)
    client.force_login(book.alice)
    before = AuditEntry.objects.count()

    response = client.post(f"/reveal/contact-points/{point.pk}/", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="reveal-form"' in html
    assert response.context["form"].errors[field]
    assert PHONE not in html
    assert AuditEntry.objects.count() == before


def test_get_offers_the_purpose_form_and_logs_nothing(client, book: Book):
    point = _phone_of_alices_customer(book)
    client.force_login(book.alice)
    before = AuditEntry.objects.count()

    html = client.get(f"/reveal/contact-points/{point.pk}/").content.decode()

    assert f'hx-post="/reveal/contact-points/{point.pk}/"' in html
    for label in ("核实身份", "外访", "客户投诉处理", "其他"):
        assert label in html
    assert PHONE not in html
    assert AuditEntry.objects.count() == before


def test_pages_offer_show_only_to_roles_that_may_use_it(client, book: Book):
    point = _phone_of_alices_customer(book)
    qa = _persona(book, "qa")

    client.force_login(book.alice)
    account_html = client.get(f"/accounts/{book.case_alice.account_id}/").content.decode()
    case_html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()
    client.force_login(qa)
    qa_html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    for html in (account_html, case_html):
        assert f'hx-get="/reveal/contact-points/{point.pk}/"' in html
        assert f'hx-get="/reveal/customers/{point.customer_id}/id-number/"' in html
        assert PHONE not in html
        assert ID_NUMBER not in html
    assert "/reveal/" not in qa_html
