"""The compliance API: the check, a case's decisions, the packs and a creditor's choice of packs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from arrears.accounts.models import Role
from arrears.compliance.models import CreditorPolicyPack, Decision, PolicyPackVersion
from arrears.compliance.packs import CN_HOUSE, params_as_json
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

from .test_guard_edges import SHANGHAI, at, log, seeded  # noqa: F401 (seeded: an autouse fixture)

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", **headers)


def put(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.put(path, body, content_type="application/json")


@pytest.fixture
def mobile(book: Book) -> Any:
    return ContactPointFactory(
        customer=book.case_alice.customer, kind="mobile", owner_role="self", value="13800000001"
    )


def check(client: Client, book: Book, mobile: Any, **changes: Any) -> Any:
    body = {
        "case_id": book.case_alice.pk,
        "channel": "call",
        "contact_point_id": mobile.pk,
        "at": "2026-03-10T10:00:00+08:00",
        **changes,
    }
    return post(client, "/api/v1/compliance/check", body)


# --- check -------------------------------------------------------------------------------------


def test_an_allowed_call_is_answered_and_stored(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile)

    assert response.status_code == 200
    stored = Decision.objects.get()
    assert response.json() == {
        "allowed": True,
        "violations": [],
        "warnings": [],
        "next_allowed_at": None,
        "decision_id": stored.pk,
    }
    assert (stored.purpose, stored.asked_by, stored.case_id, stored.contact_point_id) == (
        "check",
        book.alice,
        book.case_alice.pk,
        mobile.pk,
    )


def test_a_denied_call_names_rule_pack_message_and_next_time(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile, at="2026-03-10T21:30:00+08:00")

    body = response.json()
    assert response.status_code == 200
    assert body["allowed"] is False
    assert body["next_allowed_at"] == "2026-03-11T08:00:00+08:00"
    assert body["violations"] == [
        {
            "rule": "H1",
            "pack": "cn-house",
            "pack_version": 1,
            "reason": "outside_contact_window",
            "message": "当地时间 21:30 CST 不在联系时段 08:00–21:00 内",
            "message_key": "compliance.H1.outside_contact_window",
            "parameters": {"window_start": "08:00", "window_end": "21:00", "local_times": "21:30 CST"},
            "allowed_from": "2026-03-11T08:00:00+08:00",
            "findings": [],
        }
    ]


def test_text_is_screened_with_the_words_and_positions(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile, text="我们会去法院抓你")

    body = response.json()
    assert [(item["rule"], item["reason"]) for item in body["violations"]] == [
        ("H12", "prohibited_language"),
        ("C5", "authority_name_used"),
    ]
    assert body["violations"][0]["findings"] == [
        {"field": "message", "word": "法院", "start": 4, "end": 6},
        {"field": "message", "word": "抓你", "start": 6, "end": 8},
    ]
    assert body["violations"][0]["message"] == "包含禁用语：法院、抓你"
    assert body["next_allowed_at"] is None


def test_an_sms_is_refused_while_no_template_is_approved(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile, channel="sms", text="您好，请按时还款。", template_code="REMIND1")

    body = response.json()
    assert [(item["rule"], item["reason"]) for item in body["violations"]] == [
        ("H9", "sms_template_not_approved")
    ]
    assert body["violations"][0]["parameters"] == {"template_code": "REMIND1"}


def test_a_naive_time_is_422_and_nothing_is_stored(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile, at="2026-03-10T10:00:00")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "时间必须带时区偏移，例如 2026-03-10T10:00:00+08:00",
        "code": "naive_datetime",
    }
    assert Decision.objects.count() == 0


@time_machine.travel(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_the_time_defaults_to_now(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = post(
        client,
        "/api/v1/compliance/check",
        {"case_id": book.case_alice.pk, "channel": "call", "contact_point_id": mobile.pk},
    )

    assert response.json()["allowed"] is True
    assert Decision.objects.get().at == dt.datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)


def test_a_case_out_of_scope_is_404_and_nothing_is_stored(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.bob)

    response = check(client, book, mobile)

    assert response.status_code == 404
    assert Decision.objects.count() == 0


def test_a_contact_point_of_another_customer_is_404(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)
    stranger = ContactPointFactory(
        customer=book.case_bob.customer, kind="mobile", owner_role="self", value="13900000009"
    )

    response = check(client, book, mobile, contact_point_id=stranger.pk)

    assert response.status_code == 404
    assert Decision.objects.count() == 0


def test_a_bad_channel_is_422(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    assert check(client, book, mobile, channel="fax").status_code == 422
    assert Decision.objects.count() == 0


def test_a_visit_counts_the_named_field_staff(client: Client, book: Book, mobile: Any) -> None:
    fiona = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR)
    client.force_login(book.alice)

    alone = check(client, book, mobile, channel="visit", visitor_ids=["fiona"])
    two = check(client, book, mobile, channel="visit", visitor_ids=["fiona", book.alice.pk])
    unrecorded = check(
        client, book, mobile, channel="visit", visitor_ids=[fiona.pk, "alice"], recording_device=False
    )
    undeclared = check(client, book, mobile, channel="visit")

    assert [(v["rule"], v["reason"]) for v in alone.json()["violations"]] == [
        ("H14", "visit_too_few_staff"),
        ("C6", "visit_too_few_staff"),
    ]
    assert two.json()["allowed"] is True
    assert [(v["rule"], v["reason"]) for v in unrecorded.json()["violations"]] == [
        ("H14", "visit_not_recorded"),
        ("C6", "visit_not_recorded"),
    ]
    assert [(v["rule"], v["reason"]) for v in undeclared.json()["violations"]] == [
        ("H14", "visit_details_missing"),
        ("C6", "visit_details_missing"),
    ]


def test_a_visitor_who_is_not_field_staff_is_422(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)

    response = check(client, book, mobile, channel="visit", visitor_ids=["alice", "sam", "nobody"])

    assert response.status_code == 422
    assert response.json() == {"detail": "不是在职外访人员：sam、nobody", "code": "unknown_visitor"}
    assert Decision.objects.count() == 0


def test_the_check_works_with_a_bearer_token(client: Client, book: Book, mobile: Any) -> None:
    from arrears.accounts.services import token_create

    _, secret = token_create(name="dialer", user=book.alice)

    response = check(client.__class__(HTTP_AUTHORIZATION=f"Bearer {secret}"), book, mobile)

    assert response.status_code == 200
    assert Decision.objects.get().asked_by == book.alice


# --- decisions of a case -----------------------------------------------------------------------


def test_decisions_of_a_case_newest_first_with_keyset_pages(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)
    log(book.case_alice, mobile, at(2026, 3, 10, 9), connected=True)
    for hour in (10, 22, 11):
        check(client, book, mobile, at=f"2026-03-10T{hour}:00:00+08:00")
    ids = list(Decision.objects.order_by("-id").values_list("pk", flat=True))

    first = client.get(f"/api/v1/cases/{book.case_alice.pk}/decisions?limit=2").json()
    second = client.get(
        f"/api/v1/cases/{book.case_alice.pk}/decisions?limit=2&before_id={first['next_before_id']}"
    ).json()

    assert [item["decision_id"] for item in first["items"]] == ids[:2]
    assert first["next_before_id"] == ids[1]
    assert [item["decision_id"] for item in second["items"]] == ids[2:]
    assert second["next_before_id"] is None
    denied = first["items"][1]
    assert denied == {
        "allowed": False,
        "violations": denied["violations"],
        "warnings": [],
        "next_allowed_at": "2026-03-11T08:00:00+08:00",
        "decision_id": ids[1],
        "purpose": "check",
        "channel": "call",
        "at": "2026-03-10T22:00:00+08:00",
        "case_id": book.case_alice.pk,
        "contact_point_id": mobile.pk,
        "asked_by": "alice",
        "packs": [{"pack": "cn-house", "version": 1}, {"pack": "cn-industry-2026", "version": 1}],
        "created_at": denied["created_at"],
    }
    assert [(v["rule"], v["message"]) for v in denied["violations"]] == [
        ("H1", "当地时间 22:00 CST 不在联系时段 08:00–21:00 内"),
        ("C1", "当地时间 22:00 CST 处于休息时段（08:00 前或 22:00 后）"),
    ]


def test_decisions_of_a_case_out_of_scope_is_404(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.bob)

    assert client.get(f"/api/v1/cases/{book.case_alice.pk}/decisions").status_code == 404


def test_decisions_limit_is_bounded(client: Client, book: Book) -> None:
    client.force_login(book.alice)

    assert client.get(f"/api/v1/cases/{book.case_alice.pk}/decisions?limit=0").status_code == 422
    assert client.get(f"/api/v1/cases/{book.case_alice.pk}/decisions?limit=201").status_code == 422


# --- packs -------------------------------------------------------------------------------------


def test_packs_with_their_current_parameters(client: Client, book: Book) -> None:
    client.force_login(book.alice)

    body = client.get("/api/v1/compliance/packs").json()

    assert [pack["id"] for pack in body] == ["cn-house", "cn-industry-2026", "us-regf"]
    assert body[0]["version"] == 1
    assert body[0]["params"] == params_as_json(CN_HOUSE.params)
    assert body[0]["rules"] == [f"H{n}" for n in range(1, 17)]
    assert body[2]["rules"] == ["U1", "U2", "U3", "U4", "U5", "U8"]


def test_an_admin_writes_a_new_version_of_a_pack(client: Client, book: Book) -> None:
    client.force_login(book.root)
    params = {**params_as_json(CN_HOUSE.params), "contact_window_start": "09:00"}

    response = put(client, "/api/v1/compliance/packs/cn-house", {"params": params, "note": "seed 002"})

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["created_by"], response.json()["note"]) == (
        2,
        "root",
        "seed 002",
    )
    assert response.json()["params"]["contact_window_start"] == "09:00"
    assert list(PolicyPackVersion.objects.filter(pack="cn-house").values_list("version", flat=True)) == [2, 1]


def test_bad_pack_parameters_are_422_per_field_and_nothing_is_written(client: Client, book: Book) -> None:
    client.force_login(book.root)
    params = {
        **params_as_json(CN_HOUSE.params),
        "contact_window_start": "9am",
        "min_visitors": -1,
        "color": "red",
    }
    del params["prohibited_words"]

    response = put(client, "/api/v1/compliance/packs/cn-house", {"params": params})

    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "color", "code": "unknown", "message": "未知参数"},
        {"field": "contact_window_start", "code": "not_a_time", "message": "须为 HH:MM 格式的时间"},
        {"field": "prohibited_words", "code": "missing", "message": "缺少此参数"},
        {"field": "min_visitors", "code": "not_a_number", "message": "须为不小于 0 的整数"},
    ]
    assert PolicyPackVersion.objects.filter(pack="cn-house").count() == 1


@pytest.mark.parametrize("who", ["sam", "alice", "compliance"])
def test_only_admins_edit_pack_parameters(client: Client, book: Book, who: str) -> None:
    user = (
        UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER)
        if who == "compliance"
        else getattr(book, who)
    )
    client.force_login(user)

    response = put(client, "/api/v1/compliance/packs/cn-house", {"params": params_as_json(CN_HOUSE.params)})

    assert response.status_code == 403
    assert PolicyPackVersion.objects.filter(pack="cn-house").count() == 1


def test_an_unknown_pack_is_404(client: Client, book: Book) -> None:
    client.force_login(book.root)

    assert put(client, "/api/v1/compliance/packs/xx", {"params": {}}).status_code == 404


# --- a creditor's packs ------------------------------------------------------------------------


def test_a_creditor_without_a_choice_gets_the_default_packs(client: Client, book: Book) -> None:
    client.force_login(book.alice)

    response = client.get("/api/v1/creditors/demobank/policy-packs")

    assert response.json() == {"creditor": "DEMOBANK", "packs": ["cn-house", "cn-industry-2026"]}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMPLIANCE_OFFICER])
def test_admins_and_compliance_officers_choose_a_creditors_packs(
    client: Client, book: Book, role: Role
) -> None:
    user = UserFactory(username=f"chooser-{role}", role=role)
    client.force_login(user)

    response = put(client, "/api/v1/creditors/DEMOBANK/policy-packs", {"packs": ["us-regf", "cn-house"]})

    assert response.status_code == 200
    assert response.json() == {"creditor": "DEMOBANK", "packs": ["cn-house", "us-regf"]}
    assert client.get("/api/v1/creditors/DEMOBANK/policy-packs").json()["packs"] == ["cn-house", "us-regf"]
    event = Event.objects.get(kind="compliance.creditor_packs_set")
    assert (event.actor, event.data) == (user, {"before": [], "after": ["cn-house", "us-regf"]})


@pytest.mark.parametrize("who", ["sam", "alice", "tina", "agnes"])
def test_other_roles_may_not_choose_packs(client: Client, book: Book, who: str) -> None:
    client.force_login(getattr(book, who))

    response = put(client, "/api/v1/creditors/DEMOBANK/policy-packs", {"packs": ["us-regf"]})

    assert response.status_code == 403
    assert CreditorPolicyPack.objects.count() == 0


def test_unknown_or_no_packs_are_422(client: Client, book: Book) -> None:
    client.force_login(book.root)

    unknown = put(client, "/api/v1/creditors/DEMOBANK/policy-packs", {"packs": ["cn-house", "eu-gdpr"]})
    empty = put(client, "/api/v1/creditors/DEMOBANK/policy-packs", {"packs": []})

    assert unknown.status_code == 422
    assert unknown.json()["problems"] == [
        {"field": "packs", "code": "unknown_pack", "message": "未知的策略包"}
    ]
    assert empty.json()["problems"] == [{"field": "packs", "code": "empty", "message": "至少选择一个策略包"}]
    assert CreditorPolicyPack.objects.count() == 0


def test_an_unknown_creditor_is_404(client: Client, book: Book) -> None:
    client.force_login(book.root)

    assert client.get("/api/v1/creditors/NOPE/policy-packs").status_code == 404
    assert put(client, "/api/v1/creditors/NOPE/policy-packs", {"packs": ["cn-house"]}).status_code == 404


def test_the_check_uses_the_creditors_packs(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.root)
    put(client, "/api/v1/creditors/DEMOBANK/policy-packs", {"packs": ["us-regf"]})

    # 21:30 in Shanghai: refused by U3 alone, since cn-house no longer applies.
    response = check(client, book, mobile, at="2026-03-10T21:30:00+08:00")

    assert [(v["rule"], v["pack"]) for v in response.json()["violations"]] == [("U3", "us-regf")]


def test_the_api_is_in_the_openapi_spec(client: Client, book: Book) -> None:
    client.force_login(book.alice)

    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert {
        "/api/v1/compliance/check",
        "/api/v1/cases/{case_id}/decisions",
        "/api/v1/compliance/packs",
        "/api/v1/compliance/packs/{pack_id}",
        "/api/v1/creditors/{code}/policy-packs",
    } <= set(paths)


def test_reasons_and_errors_follow_the_request_language(client: Client, book: Book, mobile: Any) -> None:
    client.force_login(book.alice)
    body = {"case_id": book.case_alice.pk, "channel": "call", "contact_point_id": mobile.pk}

    late = post(
        client,
        "/api/v1/compliance/check",
        {**body, "at": "2026-03-10T21:30:00+08:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    naive = post(
        client, "/api/v1/compliance/check", {**body, "at": "2026-03-10T21:30:00"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert [item["message"] for item in late.json()["violations"]] == [
        "Local time 21:30 CST is outside the contact window 08:00–21:00"
    ]
    assert naive.json()["detail"] == "The time must carry a UTC offset, e.g. 2026-03-10T10:00:00+08:00"
