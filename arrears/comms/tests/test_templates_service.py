"""Message templates: create, save versions (refused with reasons), approve with four eyes,
reject; previews; the catalogue's defaults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.utils import translation

from arrears.accounts.models import Role, User
from arrears.comms import rendering
from arrears.comms.models import Template, TemplateVersion, VersionStatus
from arrears.comms.templates_service import (
    DEFAULT_TEMPLATES,
    SYSTEM_REVIEW_NOTE,
    TemplateNotAllowed,
    TemplateRefused,
    template_create,
    template_preview,
    template_version_approve,
    template_version_reject,
    template_version_save,
    templates_seed_defaults,
    text_check,
)
from arrears.compliance.packs import CN_HOUSE, params_as_json
from arrears.compliance.services import pack_params_update
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    """Reasons are sentences in the active language; a page test before may leave English on."""
    with translation.override("zh-hans"):
        yield


OPT_OUT = "回复TD退订"
GOOD_SMS = f"尊敬的${{customer_name}}，您尾号${{account_last4}}的账户已逾期${{days_past_due}}天。{OPT_OUT}"


@pytest.fixture
def cora(db: None) -> User:
    return UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER)


@pytest.fixture
def sms(book: Book) -> Template:
    return template_create(
        code="TEST_SMS",
        language="zh-hans",
        name="测试短信",
        channel="sms",
        template_class="collection",
        actor=book.sam,
    )


def save(
    template: Template, actor: Any, body: str = GOOD_SMS, subject: str = "", code: str = "SMS_TEST"
) -> TemplateVersion:
    return template_version_save(
        template=template, subject=subject, body=body, provider_template_code=code, actor=actor
    )


def refusal(template: Template, actor: Any, body: str, subject: str = "") -> list[tuple[str, str]]:
    versions, events = TemplateVersion.objects.count(), Event.objects.count()
    with pytest.raises(TemplateRefused) as refused:
        save(template, actor, body=body, subject=subject)
    assert (TemplateVersion.objects.count(), Event.objects.count()) == (versions, events)
    return refused.value.problems


# --- create -------------------------------------------------------------------------------------


def test_create_writes_the_template_and_an_event(book: Book) -> None:
    template = template_create(
        code="NEW_1", language="en", name="New", channel="email", template_class="reminder", actor=book.sam
    )

    assert (template.code, template.language, template.channel, template.template_class) == (
        "NEW_1",
        "en",
        "email",
        "reminder",
    )
    assert template.current_version is None
    assert template.created_by == book.sam
    event = Event.objects.get(kind="comms.template_created", subject_id=template.pk)
    assert event.actor == book.sam
    assert event.data == {"code": "NEW_1", "language": "en", "channel": "email", "class": "reminder"}


def test_codes_are_upper_case_and_unique_per_language(book: Book, sms: Template) -> None:
    before = Template.objects.count()

    with pytest.raises(TemplateRefused) as bad_code:
        template_create(
            code="bad-code",
            language="zh-hans",
            name="x",
            channel="sms",
            template_class="reminder",
            actor=book.sam,
        )
    with pytest.raises(TemplateRefused) as taken:
        template_create(
            code="TEST_SMS",
            language="zh-hans",
            name="x",
            channel="sms",
            template_class="reminder",
            actor=book.sam,
        )
    other_language = template_create(
        code="TEST_SMS", language="en", name="x", channel="sms", template_class="reminder", actor=book.sam
    )

    assert bad_code.value.problems == [("code", "编号只能包含大写字母、数字和下划线，最长 40 个字符。")]
    assert taken.value.problems == [("code", "该语言已有编号为 TEST_SMS 的模板。")]
    assert other_language.language == "en"
    assert Template.objects.count() == before + 1


@pytest.mark.parametrize("who", ["alice", "tina", "agnes"])
def test_collectors_team_leaders_and_agencies_may_not_write_templates(
    book: Book, sms: Template, who: str
) -> None:
    actor = getattr(book, who)
    templates, versions, events = (
        Template.objects.count(),
        TemplateVersion.objects.count(),
        Event.objects.count(),
    )

    with pytest.raises(TemplateNotAllowed):
        template_create(
            code="X", language="zh-hans", name="x", channel="sms", template_class="reminder", actor=actor
        )
    with pytest.raises(TemplateNotAllowed):
        save(sms, actor)

    assert (Template.objects.count(), TemplateVersion.objects.count(), Event.objects.count()) == (
        templates,
        versions,
        events,
    )


# --- save: what is refused -----------------------------------------------------------------------


def test_an_unknown_variable_is_refused_by_name_with_the_known_ones(book: Book, sms: Template) -> None:
    problems = refusal(sms, book.sam, f"您好${{customer_nmae}}。{OPT_OUT}")

    known = "、".join("${" + name + "}" for name in rendering.VARIABLES)
    assert problems == [("body", f"未知变量 ${{customer_nmae}}。可用的变量：{known}")]
    assert "${customer_name}" in known and "${id_last4}" in known


def test_a_full_id_number_variable_is_refused_pointing_at_the_last_four(book: Book, sms: Template) -> None:
    problems = refusal(sms, book.sam, f"您的证件号${{id_number}}。{OPT_OUT}")

    assert problems == [
        ("body", "变量 ${id_number} 会显示完整号码，不允许使用；请改用 ${id_last4}（只显示后4位）。")
    ]


def test_a_malformed_placeholder_is_refused(book: Book, sms: Template) -> None:
    problems = refusal(sms, book.sam, f"您好${{customer_name。{OPT_OUT}")

    assert problems == [
        ("body", "变量格式有误：“您好${customer_name。回复TD退订”。变量的写法是 ${customer_name}。")
    ]


def test_an_sms_over_the_providers_limit_is_refused_with_the_counts(
    book: Book, sms: Template, settings: Any
) -> None:
    settings.ARREARS_SMS_MAX_CHARS = 70
    # 10 + 20 (customer_name at its longest) + 40 (creditor_name) + 6 = 76 characters at most.
    body = f"一二三四五六七八九十${{customer_name}}${{creditor_name}}{OPT_OUT}"
    assert rendering.longest_render(body) == 76

    problems = refusal(sms, book.sam, body)

    assert problems == [("body", "短信最长可能有 76 个字符（变量按最长值计算），超过服务商上限 70 个字符。")]
    settings.ARREARS_SMS_MAX_CHARS = 76
    assert save(sms, book.sam, body=body).number == 1


def test_insult_court_and_police_report_are_refused_with_positions(book: Book, sms: Template) -> None:
    problems = refusal(sms, book.sam, f"你这个白痴，再不还就去法院报案。{OPT_OUT}")

    assert problems == [
        (
            "body",
            "H11：本金低于门槛，不得使用刑法相关措辞：报案。位置：“报案”（第 14 个字符）。只有法务通知类模板可以使用经审批的法律措辞。",
        ),
        ("body", "H12：包含禁用语：白痴、法院。位置：“白痴”（第 4 个字符）、“法院”（第 12 个字符）"),
        ("body", "C5：不得使用行政或司法机关名义：法院。位置：“法院”（第 12 个字符）"),
    ]


def test_the_refusal_is_in_the_readers_language(book: Book, sms: Template) -> None:
    with translation.override("en"), pytest.raises(TemplateRefused) as refused:
        save(sms, book.sam, body=f"您好${{id_number}}。{OPT_OUT}")

    assert refused.value.problems == [
        (
            "body",
            "The variable ${id_number} would print a full number and is not allowed; "
            "use ${id_last4} instead (last 4 digits only).",
        )
    ]


def test_an_sms_needs_its_provider_template_code(book: Book, sms: Template) -> None:
    versions = TemplateVersion.objects.count()

    with pytest.raises(TemplateRefused) as refused:
        save(sms, book.sam, code="")
    with pytest.raises(TemplateRefused) as bad:
        save(sms, book.sam, code="SMS-1")

    assert refused.value.problems == [
        ("provider_template_code", "短信模板须填写在短信服务商处登记的模板编号。")
    ]
    assert bad.value.problems == [("provider_template_code", "服务商模板编号只能包含字母、数字和下划线。")]
    assert TemplateVersion.objects.count() == versions


def test_an_sms_without_an_opt_out_is_refused(book: Book, sms: Template) -> None:
    problems = refusal(sms, book.sam, "尊敬的${customer_name}，请尽快还款。")

    assert problems == [
        ("body", "U5：短信和邮件须附退订方式。请加上退订说明，例如：“回复TD退订”、“Reply STOP to opt out”")
    ]


@pytest.mark.parametrize(
    ("channel", "message"), [("email", "邮件必须有主题。"), ("letter", "信函必须有标题。")]
)
def test_emails_and_letters_need_a_subject(book: Book, channel: str, message: str) -> None:
    template = template_create(
        code="NEEDS_SUBJECT",
        language="zh-hans",
        name="x",
        channel=channel,
        template_class="collection",
        actor=book.sam,
    )

    problems = refusal(template, book.sam, f"尊敬的${{customer_name}}，请尽快还款。{OPT_OUT}", subject="  ")

    assert problems == [("subject", message)]


def test_a_third_party_template_may_not_mention_the_debt(book: Book) -> None:
    template = template_create(
        code="PASS_TEST",
        language="zh-hans",
        name="x",
        channel="sms",
        template_class="pass_message",
        actor=book.sam,
    )

    problems = refusal(template, book.sam, f"请转告${{customer_name}}还款${{overdue_amount}}元。{OPT_OUT}")

    assert len(problems) == 1
    assert problems[0][1].startswith(
        "H7：对第三方只能发送转告类模板，不得透露欠款信息。位置：“还款”（第 20 个字符）、“${overdue_amount}”"
    )


def test_a_legal_notice_may_carry_legal_wording_but_not_insults(book: Book) -> None:
    template = template_create(
        code="LEGAL_TEST",
        language="zh-hans",
        name="x",
        channel="letter",
        template_class="legal_notice",
        actor=book.sam,
    )
    legal = "尊敬的${customer_name}：恶意透支可能涉及《中华人民共和国刑法》的相关规定。"

    version = save(template, book.sam, body=legal, subject="法务提示函", code="")
    problems = refusal(template, book.sam, legal + "你这个老赖。", subject="法务提示函")

    assert (version.number, version.status, version.subject) == (1, VersionStatus.DRAFT, "法务提示函")
    assert problems == [("body", "H12：包含禁用语：老赖。位置：“老赖”（第 49 个字符）")]


# --- save: what is written -------------------------------------------------------------------------


def test_a_saved_version_is_a_numbered_draft_with_its_variables_and_screening(
    book: Book, sms: Template
) -> None:
    version = save(sms, book.sam)

    assert (version.number, version.status, version.created_by) == (1, VersionStatus.DRAFT, book.sam)
    assert version.variables == ["customer_name", "account_last4", "days_past_due"]
    assert version.subject == ""
    assert version.provider_template_code == "SMS_TEST"
    assert version.screening["ok"] is True
    assert version.screening["findings"] == []
    assert version.screening["has_opt_out"] is True
    assert version.screening["longest_render"] == rendering.longest_render(GOOD_SMS)
    assert [item["pack"] for item in version.screening["packs"]] == [
        "cn-house",
        "cn-industry-2026",
        "us-regf",
    ]
    event = Event.objects.get(kind="comms.template_version_saved", subject_id=version.pk)
    assert event.data == {"template": "TEST_SMS", "language": "zh-hans", "number": 1}
    sms.refresh_from_db()
    assert sms.current_version is None


def test_editing_saves_a_new_version_and_the_old_text_never_changes(book: Book, sms: Template) -> None:
    first = save(sms, book.sam)
    approved = template_version_approve(version=first, actor=book.root)
    before = TemplateVersion.objects.values().get(pk=first.pk)

    second = save(sms, book.sam, body=GOOD_SMS.replace("尊敬的", "您好，"))

    assert second.number == 2
    assert TemplateVersion.objects.values().get(pk=first.pk) == before
    assert approved.body == GOOD_SMS
    # Review changes only a draft: an approved (or rejected, retired) version is final.
    with pytest.raises(TemplateRefused) as again:
        template_version_approve(version=first, actor=book.root)
    with pytest.raises(TemplateRefused):
        template_version_reject(version=first, actor=book.root, note="no")
    assert again.value.problems == [("version", "该版本的状态是“已批准”，不能再审批。")]
    assert TemplateVersion.objects.values().get(pk=first.pk) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": "改过的文字"}, "the text of a template version is never edited"),
        ({"subject": "x"}, "the text of a template version is never edited"),
        ({"variables": ["customer_name"]}, "the text of a template version is never edited"),
        ({"provider_template_code": "SMS_OTHER"}, "the text of a template version is never edited"),
        ({"status": VersionStatus.DRAFT}, "a template version cannot go from approved to draft"),
    ],
)
def test_the_database_refuses_to_rewrite_a_saved_version(
    book: Book, sms: Template, change: dict[str, Any], message: str
) -> None:
    # No service edits a version; the trigger holds for any other path (admin, shell, SQL).
    version = template_version_approve(version=save(sms, book.sam), actor=book.root)
    before = TemplateVersion.objects.values().get(pk=version.pk)

    with pytest.raises(DatabaseError, match=message), transaction.atomic():
        TemplateVersion.objects.filter(pk=version.pk).update(**change)

    assert TemplateVersion.objects.values().get(pk=version.pk) == before


def test_the_database_lets_a_version_move_only_forward(book: Book, sms: Template) -> None:
    rejected = save(sms, book.sam)
    template_version_reject(version=rejected, actor=book.root, note="no")

    with pytest.raises(DatabaseError, match="cannot go from rejected to approved"), transaction.atomic():
        TemplateVersion.objects.filter(pk=rejected.pk).update(status=VersionStatus.APPROVED)

    assert TemplateVersion.objects.get(pk=rejected.pk).status == VersionStatus.REJECTED


# --- approval ---------------------------------------------------------------------------------------


def test_the_author_may_not_approve_their_own_version(book: Book, sms: Template) -> None:
    version = save(sms, book.sam)
    events = Event.objects.count()

    with pytest.raises(TemplateNotAllowed):
        template_version_approve(version=version, actor=book.sam)

    version.refresh_from_db()
    sms.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and version.reviewed_by is None
    assert sms.current_version is None
    assert Event.objects.count() == events


@pytest.mark.parametrize("who", ["alice", "tina", "agnes"])
def test_only_supervisors_compliance_officers_and_admins_approve(book: Book, sms: Template, who: str) -> None:
    version = save(sms, book.sam)

    with pytest.raises(TemplateNotAllowed):
        template_version_approve(version=version, actor=getattr(book, who))

    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


def test_approval_sets_the_version_in_use_and_retires_the_previous_one(
    book: Book, sms: Template, cora: User
) -> None:
    first = template_version_approve(version=save(sms, book.sam), actor=cora, note="ok")
    second = save(sms, book.root, body=GOOD_SMS.replace("尊敬的", "您好，"))

    approved = template_version_approve(version=second, actor=book.sam, note="更礼貌")

    first.refresh_from_db()
    sms.refresh_from_db()
    assert sms.current_version == approved
    assert (approved.status, approved.reviewed_by, approved.review_note) == (
        VersionStatus.APPROVED,
        book.sam,
        "更礼貌",
    )
    assert approved.reviewed_at is not None
    assert first.status == VersionStatus.RETIRED
    event = Event.objects.get(kind="comms.template_version_approved", subject_id=second.pk)
    assert event.actor == book.sam
    assert event.data == {
        "template": "TEST_SMS",
        "language": "zh-hans",
        "number": 2,
        "retired": [first.pk],
        "note": "更礼貌",
    }


def test_approval_screens_again_with_the_packs_in_force(book: Book, sms: Template) -> None:
    version = save(sms, book.sam, body=f"尊敬的${{customer_name}}，请勿拖欠。{OPT_OUT}")
    params = params_as_json(CN_HOUSE.params)
    pack_params_update(
        pack_id="cn-house",
        params={**params, "prohibited_words": [*params["prohibited_words"], "拖欠"]},  # type: ignore[list-item]
        actor=book.root,
    )
    events = Event.objects.count()

    with pytest.raises(TemplateRefused) as refused:
        template_version_approve(version=version, actor=book.root)

    assert refused.value.problems == [("body", "H12：包含禁用语：拖欠。位置：“拖欠”（第 23 个字符）")]
    version.refresh_from_db()
    sms.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and sms.current_version is None
    assert Event.objects.count() == events


def test_rejecting_needs_a_reason_and_keeps_the_text(book: Book, sms: Template) -> None:
    version = save(sms, book.sam)

    with pytest.raises(TemplateRefused) as no_reason:
        template_version_reject(version=version, actor=book.root, note=" ")
    rejected = template_version_reject(version=version, actor=book.root, note="语气太生硬")

    assert no_reason.value.problems == [("note", "驳回须填写原因。")]
    assert (rejected.status, rejected.reviewed_by, rejected.review_note) == (
        VersionStatus.REJECTED,
        book.root,
        "语气太生硬",
    )
    assert rejected.body == GOOD_SMS
    sms.refresh_from_db()
    assert sms.current_version is None
    assert (
        Event.objects.get(kind="comms.template_version_rejected", subject_id=version.pk).data["note"]
        == "语气太生硬"
    )


# --- preview -----------------------------------------------------------------------------------------


def test_preview_renders_sample_values_and_leaves_unknown_variables_visible(
    book: Book, sms: Template
) -> None:
    assert (
        template_preview(source="${customer_name}，尾号${account_last4}，${nope}")
        == "张伟，尾号6789，${nope}"
    )
    assert (
        template_preview(source="Dear ${customer_name}, due ${due_date}", language="en")
        == "Dear Zhang Wei, due 2026-12-01"
    )
    assert template_preview(source="${customer_name}", values={"customer_name": "李娜"}) == "李娜"
    version = save(sms, book.sam)
    assert template_preview(source=sms) == template_preview(source=version)
    assert template_preview(source=version).startswith("尊敬的张伟，您尾号6789的账户已逾期15天。")


# --- the catalogue's defaults -----------------------------------------------------------------------


def test_every_default_passes_its_own_checks(settings: Any) -> None:
    for item in DEFAULT_TEMPLATES:
        checked = text_check(
            channel=item.channel,
            template_class=item.template_class,
            subject=item.subject,
            body=item.body,
            provider_template_code=item.provider_template_code,
        )
        assert checked.problems == [], (item.code, item.language, checked.problems)
        if item.channel == "sms":
            assert checked.longest <= settings.ARREARS_SMS_MAX_CHARS
            assert item.provider_template_code == f"SMS_{item.code}"


def test_the_defaults_cover_the_seed_cadence_in_both_languages() -> None:
    codes = {(item.code, item.language) for item in DEFAULT_TEMPLATES}
    expected = {
        "REMIND_T3": ("sms", "reminder"),
        "REMIND_T0": ("sms", "reminder"),
        "COLLECT_D3": ("sms", "collection"),
        "COLLECT_D5": ("sms", "collection"),
        "COLLECT_D10": ("sms", "collection"),
        "COLLECT_D15": ("sms", "collection"),
        "COLLECT_D30": ("sms", "collection"),
        "PASS_MESSAGE": ("sms", "pass_message"),
        "COLLECT_EMAIL": ("email", "collection"),
        "LETTER_NOTICE": ("letter", "collection"),
        "LEGAL_NOTICE_LETTER": ("letter", "legal_notice"),
    }
    assert codes == {(code, language) for code in expected for language in ("zh-hans", "en")}
    for item in DEFAULT_TEMPLATES:
        assert (item.channel, item.template_class) == expected[item.code]


def _snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    return (
        list(Template.objects.order_by("pk").values()),
        list(TemplateVersion.objects.order_by("pk").values()),
        Event.objects.count(),
    )


def test_seeding_the_defaults_approves_them_and_running_it_again_changes_nothing() -> None:
    templates_seed_defaults()

    templates = {(t.code, t.language): t for t in Template.objects.select_related("current_version")}
    for item in DEFAULT_TEMPLATES:
        template = templates[(item.code, item.language)]
        version = template.current_version
        assert version is not None
        assert (version.status, version.reviewed_by, version.review_note) == (
            VersionStatus.APPROVED,
            None,
            SYSTEM_REVIEW_NOTE,
        )
        assert (version.subject, version.body) == (item.subject, item.body)
        assert version.screening["ok"] is True
    before = _snapshot()

    assert templates_seed_defaults() == []

    assert _snapshot() == before
