"""Compliance pages: the packs with their parameter versions, and the decision log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from arrears.accounts.models import Role, User
from arrears.compliance.models import Decision, PolicyPackVersion
from arrears.compliance.packs import CN_HOUSE, US_REGF, params_as_json
from arrears.core.models import Event
from arrears.tests.factories import UserFactory

from .test_guard_edges import SHANGHAI, ask, at, make_debtor, seeded  # noqa: F401 (seeded: an autouse fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db: None) -> dict[str, User]:
    return {
        "admin": UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True),
        "compliance": UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER),
        "supervisor": UserFactory(username="sam", role=Role.SUPERVISOR),
        "collector": UserFactory(username="alice", role=Role.COLLECTOR),
        "qa": UserFactory(username="quinn", role=Role.QA),
    }


def form_data(params: dict[str, Any], **changes: str) -> dict[str, str]:
    """The parameter form as a browser posts it: word lists one a line."""
    data = {key: "\n".join(value) if isinstance(value, list) else str(value) for key, value in params.items()}
    return {**data, **changes}


# --- who may see what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "packs", "decisions"),
    [
        ("admin", 200, 200),
        ("compliance", 200, 200),
        ("supervisor", 403, 200),
        ("collector", 403, 403),
        ("qa", 403, 403),
    ],
)
def test_pages_by_role(client: Client, people: dict[str, User], who: str, packs: int, decisions: int) -> None:
    client.force_login(people[who])

    assert client.get("/compliance/packs/").status_code == packs
    assert client.get("/compliance/packs/cn-house/").status_code == packs
    assert client.get("/compliance/decisions/").status_code == decisions
    home = client.get("/").content.decode()
    assert ('href="/compliance/packs/"' in home) is (packs == 200)
    assert ('href="/compliance/decisions/"' in home) is (decisions == 200)


def test_anonymous_is_sent_to_login(client: Client) -> None:
    for path in ("/compliance/packs/", "/compliance/packs/cn-house/", "/compliance/decisions/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_an_unknown_pack_is_404(client: Client, people: dict[str, User]) -> None:
    client.force_login(people["admin"])

    assert client.get("/compliance/packs/eu-gdpr/").status_code == 404


# --- packs -------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), tick=False)
def test_admins_are_warned_of_years_the_holiday_calendar_lacks(
    client: Client, people: dict[str, User]
) -> None:
    client.force_login(people["admin"])

    page = client.get("/compliance/packs/").content.decode()

    assert page.count('data-testid="calendar-warning"') == 1
    assert "节假日库没有 2027 年的数据" in page
    assert "/admin/core/calendarday/" in page


@time_machine.travel(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), tick=False)
def test_compliance_officers_see_the_packs_without_the_calendar_warning(
    client: Client, people: dict[str, User]
) -> None:
    client.force_login(people["compliance"])

    page = client.get("/compliance/packs/").content.decode()

    assert 'data-testid="calendar-warning"' not in page
    for pack_id in ("cn-house", "cn-industry-2026", "us-regf"):
        assert f'href="/compliance/packs/{pack_id}/"' in page
    assert "只读：只有管理员可以修改参数。" in page


def test_the_admin_edits_parameters_and_each_save_is_a_new_version(
    client: Client, people: dict[str, User]
) -> None:
    client.force_login(people["admin"])
    params = params_as_json(CN_HOUSE.params)

    response = client.post(
        "/compliance/packs/cn-house/",
        form_data(params, contact_window_start="09:00", prohibited_words="无赖、白痴\n骗子", note="seed 002"),
    )

    assert response.status_code == 302 and response["Location"] == "/compliance/packs/cn-house/"
    latest = PolicyPackVersion.objects.filter(pack="cn-house").order_by("-version").first()
    assert latest is not None
    assert (latest.version, latest.created_by, latest.note) == (2, people["admin"], "seed 002")
    assert latest.params == {
        **params,
        "contact_window_start": "09:00",
        "prohibited_words": ["无赖", "白痴", "骗子"],
    }
    event = Event.objects.get(kind="compliance.pack_updated")
    assert event.data["changed"] == ["contact_window_start", "prohibited_words"]

    page = client.get("/compliance/packs/cn-house/").content.decode()
    assert "已保存为第 2 版。" in page
    assert "联系时段开始</span>：<del" in page
    assert '<del class="text-body-secondary">08:00</del> → 09:00' in page
    assert "root" in page and "seed 002" in page


def test_bad_values_are_refused_field_by_field_and_nothing_is_written(
    client: Client, people: dict[str, User]
) -> None:
    client.force_login(people["admin"])
    params = params_as_json(CN_HOUSE.params)

    response = client.post(
        "/compliance/packs/cn-house/",
        form_data(
            params,
            contact_window_start="9点",
            max_connected_calls_per_case_day="三",
            min_visitors="-1",
            prohibited_words=" \n、",
        ),
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="pack-errors"' in page
    assert 'data-testid="error-max_connected_calls_per_case_day"' in page
    # The form's own parsing catches a word that is no number; the service judges the rest.
    assert PolicyPackVersion.objects.filter(pack="cn-house").count() == 1

    typed = client.post(
        "/compliance/packs/cn-house/",
        form_data(params, contact_window_start="9点", min_visitors="-1", prohibited_words=" \n、"),
    )
    page = typed.content.decode()
    assert typed.status_code == 422
    assert 'data-testid="error-contact_window_start">须为 HH:MM 格式的时间<' in page
    assert 'data-testid="error-min_visitors">须为不小于 0 的整数<' in page
    assert 'data-testid="error-prohibited_words">须为至少一个非空词语的列表<' in page
    assert PolicyPackVersion.objects.filter(pack="cn-house").count() == 1
    assert not Event.objects.filter(kind="compliance.pack_updated").exists()


def test_compliance_officers_read_but_cannot_save(client: Client, people: dict[str, User]) -> None:
    client.force_login(people["compliance"])

    page = client.get("/compliance/packs/us-regf/").content.decode()
    refused = client.post(
        "/compliance/packs/us-regf/", form_data(params_as_json(US_REGF.params), conversation_quiet_days="3")
    )

    assert 'data-testid="read-only"' in page
    assert "保存为新版本" not in page
    assert 'name="conversation_quiet_days" value="7"' in page and "disabled" in page
    assert refused.status_code == 403
    assert PolicyPackVersion.objects.filter(pack="us-regf").count() == 1


# --- the decision log --------------------------------------------------------------------------


@pytest.fixture
def decisions(db: None) -> dict[str, Decision]:
    debtor = make_debtor()
    other = make_debtor(account_no="A-SECOND")
    with time_machine.travel(dt.datetime(2026, 3, 9, 2, tzinfo=dt.UTC), tick=False):
        early = ask(debtor, at(2026, 3, 9, 7))
    with time_machine.travel(dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC), tick=False):
        fine = ask(debtor, at(2026, 3, 10, 10))
        insult = ask(other, at(2026, 3, 10, 10), notes="客户说我们是白痴")
    return {"early": early, "fine": fine, "insult": insult}


def shown(page: str, decisions: dict[str, Decision]) -> set[str]:
    return {label for label, decision in decisions.items() if f'data-testid="decision-{decision.pk}"' in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"early", "fine", "insult"}),
        ("outcome=allowed", {"fine"}),
        ("outcome=denied", {"early", "insult"}),
        ("rule=H1", {"early"}),
        ("rule=H12", {"insult"}),
        ("rule=H3", set()),
        ("date_from=2026-03-10", {"fine", "insult"}),
        ("date_to=2026-03-09", {"early"}),
        ("date_from=2026-03-09&date_to=2026-03-09&outcome=denied", {"early"}),
    ],
)
def test_the_decision_log_filters(
    client: Client, people: dict[str, User], decisions: dict[str, Decision], query: str, expected: set[str]
) -> None:
    client.force_login(people["compliance"])

    page = client.get(f"/compliance/decisions/?{query}").content.decode()

    assert shown(page, decisions) == expected


def test_the_decision_log_filters_by_case_and_links_to_it(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["supervisor"])
    case_id = decisions["insult"].case_id

    page = client.get(f"/compliance/decisions/?case={case_id}").content.decode()

    assert shown(page, decisions) == {"insult"}
    assert f'href="/cases/{case_id}/"' in page
    assert "包含禁用语：白痴" in page and "[白痴]" in page
    assert "2026-03-10 10:00:00 +0800" in page


def test_the_decision_log_shows_the_next_allowed_time_and_reasons(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["admin"])

    page = client.get("/compliance/decisions/?rule=C1").content.decode()

    assert shown(page, decisions) == {"early"}
    assert "2026-03-09 08:00:00 +0800" in page
    assert "当地时间 07:00 CST 不在联系时段 08:00–21:00 内" in page


def test_a_bad_filter_shows_its_error_and_no_rows(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["admin"])

    page = client.get("/compliance/decisions/?date_from=2026-03-10&date_to=2026-03-09").content.decode()

    assert shown(page, decisions) == set()
    assert "开始日期不能晚于结束日期" in page


def test_the_decision_log_pages_by_id(
    client: Client, people: dict[str, User], decisions: dict[str, Decision], monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.compliance import views

    monkeypatch.setattr(views, "DECISION_PAGE_SIZE", 2)
    client.force_login(people["admin"])

    first = client.get("/compliance/decisions/?outcome=").content.decode()
    second = client.get(f"/compliance/decisions/?before={decisions['fine'].pk}").content.decode()

    assert shown(first, decisions) == {"fine", "insult"}
    assert f'href="/compliance/decisions/?before={decisions["fine"].pk}"' in first
    assert shown(second, decisions) == {"early"}
    assert 'data-testid="decisions-next"' not in second


def test_the_decision_log_query_count_does_not_grow_with_rows(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["admin"])
    client.get("/compliance/decisions/")  # the first request of a session also checks for a second factor
    with CaptureQueriesContext(connection) as few:
        client.get("/compliance/decisions/")
    debtor = make_debtor(account_no="A-MANY")
    for hour in range(8, 20):
        ask(debtor, dt.datetime(2026, 3, 11, hour, tzinfo=SHANGHAI), asked_by=people["admin"])

    with CaptureQueriesContext(connection) as many:
        client.get("/compliance/decisions/")

    assert len(many.captured_queries) == len(few.captured_queries)
    # One query for the page of decisions, their askers joined.
    assert sum("compliance_decision" in query["sql"] for query in many.captured_queries) == 1


def test_the_pages_have_no_inline_script_handler_or_style(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    from arrears.accounts.tests.test_security import INLINE_HANDLER, INLINE_SCRIPT, STYLE_ATTRIBUTE

    client.force_login(people["admin"])
    for path in ("/compliance/packs/", "/compliance/packs/cn-house/", "/compliance/decisions/"):
        html = client.get(path).content.decode()
        assert INLINE_SCRIPT.findall(html) == [], path
        assert INLINE_HANDLER.findall(html) == [], path
        assert STYLE_ATTRIBUTE.findall(html) == [], path


def test_the_admin_shows_the_guards_tables_read_only(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["admin"])

    for path in (
        "/admin/compliance/decision/",
        "/admin/compliance/policypackversion/",
        "/admin/compliance/creditorpolicypack/",
    ):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/compliance/decision/{decisions['early'].pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get("/admin/compliance/decision/add/").status_code == 403
    assert (
        client.post(
            f"/admin/compliance/decision/{decisions['early'].pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Decision.objects.count() == 3


def test_the_pages_in_english(
    client: Client, people: dict[str, User], decisions: dict[str, Decision]
) -> None:
    client.force_login(people["admin"])
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}

    packs = client.get("/compliance/packs/", **english).content.decode()
    detail = client.get("/compliance/packs/cn-house/", **english).content.decode()
    log = client.get("/compliance/decisions/?rule=H12", **english).content.decode()

    assert "Policy packs" in packs and "House rules (seed documents)" in packs
    assert "Contact window opens" in detail and "Save as a new version" in detail
    assert "Prohibited language: 白痴" in log and "Compliance decision log" in log
