"""The cadence pages: the timeline with its template warnings, the writes and their
refusals, who may do what, and the end-of-day expansion picking the changes up."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from arrears.accounts.models import Role, User
from arrears.comms import views_cadences
from arrears.comms.cadence_selectors import cadence_rows
from arrears.comms.models import Cadence, CadenceStep, Message, Template
from arrears.comms.services import cadences_expand, cadences_seed_defaults
from arrears.comms.tests.outbox_helpers import account_state, approved_template
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import AccountFactory, ContactPointFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 11, 24)  # a Tuesday: the day the messages go
NIGHT_BEFORE = D - dt.timedelta(days=1)


@pytest.fixture
def people(book: Book) -> dict[str, User]:
    return {
        "admin": book.root,
        "supervisor": book.sam,
        "compliance": UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER),
        "team_leader": book.tina,
        "collector": book.alice,
        "agency": book.agnes,
    }


@pytest.fixture
def cadences(book: Book) -> dict[str, Cadence]:
    """The default cadences; REMIND_T3, REMIND_T0 and COLLECT_D5 approved, COLLECT_D10 a
    template without an approved version, the other codes missing; an email template."""
    cadences_seed_defaults()
    for code, cls in (("REMIND_T3", "reminder"), ("REMIND_T0", "reminder"), ("COLLECT_D5", "collection")):
        approved_template(code, f"{code} ${{customer_name}} 回复TD退订", template_class=cls)
    approved_template("REMIND_T1", "明天到期 ${customer_name} 回复TD退订", template_class="reminder")
    approved_template("MAIL_D7", "请还款", channel="email", subject="通知")
    Template.objects.create(
        code="COLLECT_D10", language="zh-hans", name="D10", channel="sms", template_class="collection"
    )
    return {c.bucket_group: c for c in Cadence.objects.all()}


def _step(cadence: Cadence, **lookup: Any) -> CadenceStep:
    return CadenceStep.objects.get(cadence=cadence, **lookup)


def _nothing_written(steps_before: list[tuple[Any, ...]]) -> None:
    assert Event.objects.filter(kind__startswith="comms.cadence").count() == 0
    assert _steps() == steps_before


def _steps() -> list[tuple[Any, ...]]:
    return list(
        CadenceStep.objects.order_by("pk").values_list(
            "cadence__code", "kind", "anchor", "days", "channel", "template_code", "send_time"
        )
    )


def _errors(response: Any) -> dict[str, list[str]]:
    form = response.context["add_form"]
    return {name: list(errors) for name, errors in form.errors.items()}


ADD = {
    "kind": "message",
    "anchor": "due_date",
    "days": "1",
    "channel": "sms",
    "template_code": "REMIND_T1",
    "send_time": "09:30",
}


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_every_step_in_order_with_its_template_warning(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["compliance"])

    response = client.get("/comms/cadences/")

    assert response.status_code == 200
    shown = [
        (row.cadence.code, row.cadence.active, [(s.label, s.warning) for s in row.steps])
        for row in response.context["rows"]
    ]
    assert shown == [
        (
            "DEFAULT_M0",
            True,
            [
                ("还款提醒电话 从到期前 3 个工作日", ""),
                ("T-3 短信 REMIND_T3 10:00", ""),
                ("T0 短信 REMIND_T0 10:00", ""),
            ],
        ),
        (
            "DEFAULT_M1",
            True,
            [
                (
                    "逾期第 3 天 短信 COLLECT_D3 10:00",
                    "没有该渠道的简体中文模板 COLLECT_D3：此步骤不会发送任何消息。",
                ),
                ("逾期第 5 天 短信 COLLECT_D5 10:00", ""),
                (
                    "逾期第 10 天 短信 COLLECT_D10 10:00",
                    "模板 COLLECT_D10 没有已批准的版本：此步骤不会发送任何消息。",
                ),
                (
                    "逾期第 15 天 短信 COLLECT_D15 10:00",
                    "没有该渠道的简体中文模板 COLLECT_D15：此步骤不会发送任何消息。",
                ),
                (
                    "逾期第 30 天 短信 COLLECT_D30 10:00",
                    "没有该渠道的简体中文模板 COLLECT_D30：此步骤不会发送任何消息。",
                ),
            ],
        ),
    ]
    page = response.content.decode()
    d10 = _step(cadences["M1"], days=10)
    assert (
        f'<li data-testid="step-{d10.pk}"><span class="font-monospace">逾期第 10 天 短信 COLLECT_D10 10:00</span>'
        in page
    )
    assert (
        f'data-testid="warning-{d10.pk}">模板 COLLECT_D10 没有已批准的版本：此步骤不会发送任何消息。</span>'
        in page
    )
    # Readers get no create form.
    assert 'data-testid="cadence-new-form"' not in page


def test_a_template_of_another_channel_does_not_count(
    people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    step = _step(cadences["M1"], days=5)
    CadenceStep.objects.filter(pk=step.pk).update(channel="email")

    row = next(r for r in cadence_rows() if r.cadence.bucket_group == "M1")

    assert [(s.label, s.template_status) for s in row.steps if s.step.pk == step.pk] == [
        ("逾期第 5 天 邮件 COLLECT_D5 10:00", "missing")
    ]


def test_the_list_costs_the_same_queries_however_many_cadences(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], django_assert_num_queries: Any
) -> None:
    client.force_login(people["team_leader"])
    client.get("/comms/cadences/")  # warm the session and the translation catalogue

    # session, user, cadences with products, their steps, the templates they name, the
    # session's activity stamp in its savepoint (3).
    with django_assert_num_queries(8):
        client.get("/comms/cadences/")
    for number in range(3):
        product = ProductFactory(code=f"P{number}", name=f"产品{number}")
        cadence = Cadence.objects.create(code=f"X{number}", name="x", product=product, bucket_group="M1")
        CadenceStep.objects.create(
            cadence=cadence, anchor="overdue", days=7, template_code="MAIL_D7", channel="email"
        )
    with django_assert_num_queries(8):
        response = client.get("/comms/cadences/")
    assert len(response.context["rows"]) == 5


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("supervisor", 200, True),
        ("admin", 200, True),
        ("compliance", 200, False),
        ("team_leader", 200, False),
        ("collector", 403, False),
        ("agency", 403, False),
    ],
)
def test_who_may_read_and_write(
    client: Client,
    people: dict[str, User],
    cadences: dict[str, Cadence],
    persona: str,
    read: int,
    write: bool,
) -> None:
    client.force_login(people[persona])
    m0 = cadences["M0"]
    step = _step(m0, days=3, kind="message")

    assert client.get("/comms/cadences/").status_code == read
    detail = client.get(f"/comms/cadences/{m0.pk}/")
    assert detail.status_code == read
    if read == 200:
        page = detail.content.decode()
        assert ('data-testid="step-add-form"' in page) is write
        assert ('data-testid="read-only"' in page) is not write
        assert 'href="/comms/cadences/"' in page  # the menu
    if write:
        return
    before = _steps()
    posts = [
        ("/comms/cadences/new/", {"bucket_group": "M2"}),
        (f"/comms/cadences/{m0.pk}/steps/", ADD),
        (
            f"/comms/cadences/{m0.pk}/steps/{step.pk}/",
            {"days": "4", "channel": "sms", "template_code": "REMIND_T3", "send_time": "10:00"},
        ),
        (f"/comms/cadences/{m0.pk}/steps/{step.pk}/remove/", {}),
        (f"/comms/cadences/{m0.pk}/active/", {"active": "0"}),
    ]
    assert [client.post(url, data).status_code for url, data in posts] == [403] * 5
    _nothing_written(before)
    assert Cadence.objects.filter(active=True).count() == 2


def test_the_menu_links_the_page_for_readers_only(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["collector"])
    assert 'href="/comms/cadences/"' not in client.get("/comms/templates/").content.decode()


# --- creating a cadence ---------------------------------------------------------------------------


def test_a_supervisor_creates_a_product_cadence_inactive(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    product = ProductFactory(code="CARD", name="信用卡")
    client.force_login(people["supervisor"])

    response = client.post("/comms/cadences/new/", {"product": product.pk, "bucket_group": "M1"})

    cadence = Cadence.objects.get(product=product)
    assert response.status_code == 302
    assert response["Location"] == f"/comms/cadences/{cadence.pk}/"
    assert (cadence.code, cadence.name, cadence.bucket_group, cadence.active) == (
        f"P{product.pk}_M1",
        "信用卡 M1",
        "M1",
        False,
    )
    event = Event.objects.get(kind="comms.cadence_created")
    assert (event.actor, event.subject_id, event.data) == (
        people["supervisor"],
        cadence.pk,
        {
            "before": None,
            "after": {"code": f"P{product.pk}_M1", "product": "CARD", "bucket_group": "M1", "active": False},
        },
    )


def test_a_second_cadence_for_the_same_product_and_group_is_refused(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["admin"])
    before = list(Cadence.objects.values_list("code", flat=True))

    response = client.post("/comms/cadences/new/", {"product": "", "bucket_group": "M0"})

    assert response.status_code == 422
    assert response.context["create_form"].errors == {"product": ["全部产品的 M0 节奏已存在。"]}
    assert list(Cadence.objects.values_list("code", flat=True)) == before
    assert Event.objects.count() == 0


def test_an_unknown_bucket_group_is_refused(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["admin"])

    response = client.post("/comms/cadences/new/", {"bucket_group": "M9"})

    assert response.status_code == 422
    assert response.context["create_form"].errors == {
        "bucket_group": ["选择一个有效的选项。 M9 不在可用的选项中。"]
    }
    assert Cadence.objects.count() == 2


# --- steps ------------------------------------------------------------------------------------------


def test_adding_a_step_writes_it_and_its_event(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m0 = cadences["M0"]

    response = client.post(f"/comms/cadences/{m0.pk}/steps/", {**ADD, "template_code": "remind_t1"})

    assert response.status_code == 302
    step = _step(m0, days=1)
    assert (step.kind, step.anchor, step.channel, step.template_code, step.send_time) == (
        "message",
        "due_date",
        "sms",
        "REMIND_T1",
        dt.time(9, 30),
    )
    event = Event.objects.get(kind="comms.cadence_step_added")
    assert (event.actor, event.subject_type, event.subject_id, event.data) == (
        people["supervisor"],
        "comms.cadence",
        m0.pk,
        {
            "before": None,
            "after": {
                "id": step.pk,
                "kind": "message",
                "anchor": "due_date",
                "days": 1,
                "channel": "sms",
                "template_code": "REMIND_T1",
                "send_time": "09:30",
            },
        },
    )
    page = client.get(f"/comms/cadences/{m0.pk}/").content.decode()
    assert f'data-testid="label-{step.pk}">T-1 短信 REMIND_T1 09:30</span>' in page
    assert "修改从下一次日终批处理起生效（它排队次日的消息）；已排队的消息不受影响。" in page


def test_a_reminder_call_step_keeps_no_channel_template_or_time(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m0 = cadences["M0"]

    response = client.post(
        f"/comms/cadences/{m0.pk}/steps/",
        {
            "kind": "reminder_call",
            "anchor": "due_date",
            "days": "5",
            "channel": "email",
            "template_code": "X",
            "send_time": "07:00",
        },
    )

    assert response.status_code == 302
    step = _step(m0, kind="reminder_call", days=5)
    assert (step.channel, step.template_code, step.send_time) == ("sms", "", dt.time(10, 0))


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"days": "31"}, {"days": ["到期前的天数须在 0 到 30 之间。"]}),
        ({"days": "-1"}, {"days": ["到期前的天数须在 0 到 30 之间。"]}),
        ({"anchor": "overdue", "days": "0"}, {"days": ["逾期天数须在 1 到 180 之间。"]}),
        ({"anchor": "overdue", "days": "181"}, {"days": ["逾期天数须在 1 到 180 之间。"]}),
        (
            {"kind": "reminder_call", "days": "11"},
            {"days": ["还款提醒电话须在到期前 1 到 10 个工作日之间。"]},
        ),
        ({"kind": "reminder_call", "days": "0"}, {"days": ["还款提醒电话须在到期前 1 到 10 个工作日之间。"]}),
        (
            {"kind": "reminder_call", "anchor": "overdue", "days": "2"},
            {"anchor": ["还款提醒电话只能按到期日设置（到期前若干个工作日）。"]},
        ),
        ({"channel": ""}, {"channel": ["消息渠道须为短信、邮件或信函。"]}),
        ({"template_code": ""}, {"template_code": ["请填写模板编号。"]}),
        (
            {"template_code": "NO_SUCH"},
            {"template_code": ["没有渠道为短信的简体中文模板 NO_SUCH。请先在“消息模板”中创建它。"]},
        ),
        (
            {"template_code": "MAIL_D7"},
            {"template_code": ["没有渠道为短信的简体中文模板 MAIL_D7。请先在“消息模板”中创建它。"]},
        ),
        (
            {"send_time": "07:59"},
            {
                "send_time": [
                    "发送时间须在 08:00 到 20:00 之间（允许联系的时段是 08:00–21:00，消息须留出余量）。"
                ]
            },
        ),
        (
            {"send_time": "20:01"},
            {
                "send_time": [
                    "发送时间须在 08:00 到 20:00 之间（允许联系的时段是 08:00–21:00，消息须留出余量）。"
                ]
            },
        ),
        (
            {"send_time": ""},
            {
                "send_time": [
                    "发送时间须在 08:00 到 20:00 之间（允许联系的时段是 08:00–21:00，消息须留出余量）。"
                ]
            },
        ),
        (
            {"days": "3", "template_code": "REMIND_T0"},
            {"days": ["本节奏已有相同的步骤（同一类型、时间基准、天数和渠道）。"]},
        ),
        (
            {"kind": "reminder_call", "days": "3"},
            {"days": ["本节奏已有相同的步骤（同一类型、时间基准、天数和渠道）。"]},
        ),
    ],
)
def test_a_wrong_step_is_refused_with_its_reason_and_nothing_written(
    client: Client,
    people: dict[str, User],
    cadences: dict[str, Cadence],
    changes: dict[str, str],
    errors: dict[str, list[str]],
) -> None:
    client.force_login(people["admin"])
    before = _steps()

    response = client.post(f"/comms/cadences/{cadences['M0'].pk}/steps/", {**ADD, **changes})

    assert response.status_code == 422
    assert _errors(response) == errors
    assert "未添加，请修正标红的项目。" in response.content.decode()
    _nothing_written(before)


def test_a_template_without_an_approved_version_may_be_added_and_is_shown_as_a_warning(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["admin"])
    m1 = cadences["M1"]

    response = client.post(
        f"/comms/cadences/{m1.pk}/steps/",
        {
            "kind": "message",
            "anchor": "overdue",
            "days": "12",
            "channel": "sms",
            "template_code": "COLLECT_D10",
            "send_time": "11:00",
        },
    )

    assert response.status_code == 302
    step = _step(m1, days=12)
    page = client.get(f"/comms/cadences/{m1.pk}/").content.decode()
    assert (
        f'data-testid="warning-{step.pk}">模板 COLLECT_D10 没有已批准的版本：此步骤不会发送任何消息。</span>'
        in page
    )


def test_changing_a_step_records_before_and_after(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m1 = cadences["M1"]
    step = _step(m1, days=3)

    response = client.post(
        f"/comms/cadences/{m1.pk}/steps/{step.pk}/",
        {"days": "4", "channel": "email", "template_code": "MAIL_D7", "send_time": "19:00"},
    )

    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.days, step.channel, step.template_code, step.send_time) == (
        4,
        "email",
        "MAIL_D7",
        dt.time(19, 0),
    )
    event = Event.objects.get(kind="comms.cadence_step_changed")
    common = {"id": step.pk, "kind": "message", "anchor": "overdue"}
    assert event.data == {
        "before": {
            **common,
            "days": 3,
            "channel": "sms",
            "template_code": "COLLECT_D3",
            "send_time": "10:00",
        },
        "after": {**common, "days": 4, "channel": "email", "template_code": "MAIL_D7", "send_time": "19:00"},
    }


def test_a_wrong_change_is_refused_and_nothing_written(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m1 = cadences["M1"]
    step = _step(m1, days=3)
    before = _steps()

    response = client.post(
        f"/comms/cadences/{m1.pk}/steps/{step.pk}/",
        {"days": "5", "channel": "sms", "template_code": "COLLECT_D5", "send_time": "21:00"},
    )

    assert response.status_code == 422
    form = next(line["form"] for line in response.context["lines"] if line["row"].step.pk == step.pk)
    assert form.errors == {
        "send_time": ["发送时间须在 08:00 到 20:00 之间（允许联系的时段是 08:00–21:00，消息须留出余量）。"]
    }
    assert f'data-testid="error-{step.pk}-send_time">' in response.content.decode()
    _nothing_written(before)


def test_a_change_to_another_steps_day_is_refused(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m1 = cadences["M1"]
    step = _step(m1, days=3)
    before = _steps()

    response = client.post(
        f"/comms/cadences/{m1.pk}/steps/{step.pk}/",
        {"days": "5", "channel": "sms", "template_code": "COLLECT_D5", "send_time": "10:00"},
    )

    assert response.status_code == 422
    form = next(line["form"] for line in response.context["lines"] if line["row"].step.pk == step.pk)
    assert form.errors == {"days": ["本节奏已有相同的步骤（同一类型、时间基准、天数和渠道）。"]}
    _nothing_written(before)


def test_a_step_of_another_cadence_is_404(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    step = _step(cadences["M1"], days=3)
    before = _steps()

    assert client.post(f"/comms/cadences/{cadences['M0'].pk}/steps/{step.pk}/remove/").status_code == 404
    _nothing_written(before)


def test_removing_a_step_keeps_what_it_queued(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["admin"])
    m1 = cadences["M1"]
    step = _step(m1, days=15)

    response = client.post(f"/comms/cadences/{m1.pk}/steps/{step.pk}/remove/")

    assert response.status_code == 302
    # Retired, not deleted: gone from the page, a second removal finds nothing.
    assert CadenceStep.objects.get(pk=step.pk).retired_at is not None
    assert f'data-testid="label-{step.pk}"' not in client.get(f"/comms/cadences/{m1.pk}/").content.decode()
    assert client.post(f"/comms/cadences/{m1.pk}/steps/{step.pk}/remove/").status_code == 404
    event = Event.objects.get(kind="comms.cadence_step_removed")
    assert (event.subject_id, event.data) == (
        m1.pk,
        {
            "before": {
                "id": step.pk,
                "kind": "message",
                "anchor": "overdue",
                "days": 15,
                "channel": "sms",
                "template_code": "COLLECT_D15",
                "send_time": "10:00",
            },
            "after": None,
        },
    )


# --- activating ---------------------------------------------------------------------------------------


def test_activating_needs_every_template_approved(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    client.force_login(people["supervisor"])
    m1 = cadences["M1"]
    Cadence.objects.filter(pk=m1.pk).update(active=False)
    CadenceStep.objects.filter(cadence=m1, days__in=[3, 15, 30]).delete()

    response = client.post(f"/comms/cadences/{m1.pk}/active/", {"active": "1"})

    assert response.status_code == 422
    assert list(response.context["active_errors"]) == [
        "模板 COLLECT_D10（短信）没有已批准的简体中文版本，节奏不能启用：这样的步骤不会发送任何消息。请先批准该模板。"
    ]
    m1.refresh_from_db()
    assert m1.active is False
    assert Event.objects.count() == 0

    CadenceStep.objects.filter(cadence=m1, days=10).delete()
    assert client.post(f"/comms/cadences/{m1.pk}/active/", {"active": "1"}).status_code == 302
    m1.refresh_from_db()
    assert m1.active is True
    assert Event.objects.get(kind="comms.cadence_activated").data == {
        "before": {"code": "DEFAULT_M1", "product": None, "bucket_group": "M1", "active": False},
        "after": {"code": "DEFAULT_M1", "product": None, "bucket_group": "M1", "active": True},
    }


# --- the end-of-day expansion picks the changes up -------------------------------------------------------


@pytest.fixture
def small_book(cadences: dict[str, Cadence], action_codes: None) -> dict[str, Any]:
    ensure_calendar()
    due_tomorrow = AccountFactory(account_no="DUE-T1")
    account_state(due_tomorrow, as_of=D, next_due_date=D + dt.timedelta(days=1))
    ContactPointFactory(customer=due_tomorrow.customer, kind="mobile")
    overdue = AccountFactory(account_no="DPD-5")
    account_state(
        overdue, as_of=D, overdue_fen=50_000, delinquent_since=D - dt.timedelta(days=5), bucket="M1"
    )
    ContactPointFactory(customer=overdue.customer, kind="mobile")
    return {"due_tomorrow": due_tomorrow, "overdue": overdue}


def test_a_t1_step_added_on_the_page_is_queued_by_the_next_run(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], small_book: dict[str, Any]
) -> None:
    client.force_login(people["supervisor"])
    client.post(f"/comms/cadences/{cadences['M0'].pk}/steps/", ADD)

    assert cadences_expand(business_date=NIGHT_BEFORE) == 2

    queued = {
        (
            m.account.account_no,
            m.template_version.template.code,
            m.scheduled_at.astimezone(dt.timezone(dt.timedelta(hours=8))).time(),
        )
        for m in Message.objects.select_related("account", "template_version__template")
    }
    assert queued == {("DUE-T1", "REMIND_T1", dt.time(9, 30)), ("DPD-5", "COLLECT_D5", dt.time(10, 0))}


def test_a_removed_step_queues_nothing_and_comes_back_as_itself(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], small_book: dict[str, Any]
) -> None:
    client.force_login(people["admin"])
    m1 = cadences["M1"]
    d5 = _step(m1, days=5)
    assert cadences_expand(business_date=NIGHT_BEFORE) == 1  # DPD-5's day-5 message
    queued = Message.objects.get()

    client.post(f"/comms/cadences/{m1.pk}/steps/{d5.pk}/remove/")
    Message.objects.all().delete()

    assert cadences_expand(business_date=NIGHT_BEFORE) == 0
    again = {**ADD, "anchor": "overdue", "days": "5", "template_code": "COLLECT_D5", "send_time": "10:00"}
    assert client.post(f"/comms/cadences/{m1.pk}/steps/", again).status_code == 302
    assert list(CadenceStep.objects.filter(cadence=m1, days=5).values_list("pk", "retired_at")) == [
        (d5.pk, None)
    ]
    assert cadences_expand(business_date=NIGHT_BEFORE) == 1
    assert cadences_expand(business_date=NIGHT_BEFORE) == 0  # the same dedupe key as before
    assert Message.objects.get().dedupe_key == queued.dedupe_key


def test_messages_keep_naming_a_removed_step(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], small_book: dict[str, Any]
) -> None:
    client.force_login(people["admin"])
    m1 = cadences["M1"]
    d5 = _step(m1, days=5)
    cadences_expand(business_date=NIGHT_BEFORE)

    client.post(f"/comms/cadences/{m1.pk}/steps/{d5.pk}/remove/")

    assert list(Message.objects.values_list("cadence_step_id", flat=True)) == [d5.pk]


def test_a_deactivated_cadence_queues_nothing(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], small_book: dict[str, Any]
) -> None:
    client.force_login(people["admin"])

    assert client.post(f"/comms/cadences/{cadences['M1'].pk}/active/", {"active": "0"}).status_code == 302

    assert cadences_expand(business_date=NIGHT_BEFORE) == 0
    assert Message.objects.count() == 0
    assert Event.objects.get(kind="comms.cadence_deactivated").data["after"]["active"] is False


# --- English ----------------------------------------------------------------------------------------------


def test_the_english_page(client: Client, people: dict[str, User], cadences: dict[str, Cadence]) -> None:
    client.force_login(people["supervisor"])
    m1 = cadences["M1"]
    d10 = _step(m1, days=10)

    page = client.get(f"/comms/cadences/{m1.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-testid="label-{d10.pk}">Overdue day 10 SMS COLLECT_D10 10:00</span>' in page
    assert (
        f'data-testid="warning-{d10.pk}">Template COLLECT_D10 has no approved version: this step sends nothing.</span>'
        in page
    )
    assert (
        "Changes take effect from the next end-of-day run (it queues the next day’s messages); messages already queued are not touched."
        in page
    )

    response = client.post(
        f"/comms/cadences/{m1.pk}/steps/",
        {
            "kind": "message",
            "anchor": "overdue",
            "days": "200",
            "channel": "sms",
            "template_code": "COLLECT_D5",
            "send_time": "10:00",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert _errors(response) == {"days": ["Overdue days must be between 1 and 180."]}
    listing = client.get("/comms/cadences/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reminder call from 3 working days before due" in listing


def test_an_active_product_cadence_replaces_the_catch_all_for_its_product(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], small_book: dict[str, Any]
) -> None:
    product = small_book["overdue"].product
    client.force_login(people["supervisor"])
    client.post("/comms/cadences/new/", {"product": product.pk, "bucket_group": "M1"})
    own = Cadence.objects.get(product=product)
    client.post(
        f"/comms/cadences/{own.pk}/steps/",
        {
            "kind": "message",
            "anchor": "overdue",
            "days": "5",
            "channel": "email",
            "template_code": "MAIL_D7",
            "send_time": "08:00",
        },
    )
    ContactPointFactory(customer=small_book["overdue"].customer, kind="email", value="x@example.com")
    # Inactive: the catch-all still applies.
    assert cadences_expand(business_date=NIGHT_BEFORE) == 1
    assert list(Message.objects.values_list("channel", flat=True)) == ["sms"]
    Message.objects.all().delete()

    assert client.post(f"/comms/cadences/{own.pk}/active/", {"active": "1"}).status_code == 302

    assert cadences_expand(business_date=NIGHT_BEFORE) == 1
    assert list(Message.objects.values_list("channel", "template_version__template__code")) == [
        ("email", "MAIL_D7")
    ]


def test_the_cadence_page_costs_the_same_queries_however_many_steps(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], django_assert_num_queries: Any
) -> None:
    m1 = cadences["M1"]
    client.force_login(people["compliance"])
    client.get(f"/comms/cadences/{m1.pk}/")

    # session, user, the cadence with its product, its steps, the templates they name, the
    # session's activity stamp in its savepoint (3).
    with django_assert_num_queries(8):
        client.get(f"/comms/cadences/{m1.pk}/")
    for days in range(40, 45):
        CadenceStep.objects.create(cadence=m1, anchor="overdue", days=days, template_code="COLLECT_D5")
    with django_assert_num_queries(8):
        response = client.get(f"/comms/cadences/{m1.pk}/")
    assert len(response.context["lines"]) == 10


def test_a_reminder_call_step_changes_its_working_days_only(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence]
) -> None:
    m0 = cadences["M0"]
    call = _step(m0, kind="reminder_call")
    client.force_login(people["admin"])

    response = client.post(f"/comms/cadences/{m0.pk}/steps/{call.pk}/", {"days": "5"})

    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.days, call.channel, call.template_code, call.send_time) == (5, "sms", "", dt.time(10, 0))
    assert Event.objects.get(kind="comms.cadence_step_changed").data["after"]["days"] == 5


def test_a_step_another_editor_removed_meanwhile_is_404_not_an_error(
    client: Client, people: dict[str, User], cadences: dict[str, Cadence], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(people["admin"])
    m1 = cadences["M1"]
    d15 = _step(m1, days=15)
    found = views_cadences._step

    def found_then_removed(row: Any, step_id: int) -> CadenceStep:
        step = found(row, step_id)
        CadenceStep.objects.filter(pk=step_id).update(retired_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
        return step

    monkeypatch.setattr(views_cadences, "_step", found_then_removed)

    response = client.post(f"/comms/cadences/{m1.pk}/steps/{d15.pk}/remove/")

    assert response.status_code == 404
    assert not Event.objects.filter(kind="comms.cadence_step_removed").exists()
