"""The template pages: who sees what, creating and saving through the pages, the live
preview, approving and rejecting."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from arrears.accounts.models import Role, User
from arrears.comms.models import Template, TemplateVersion, VersionStatus
from arrears.comms.templates_service import template_create, template_version_approve, template_version_save
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OPT_OUT = "回复TD退订"
GOOD = f"尊敬的${{customer_name}}，您尾号${{account_last4}}的账户已逾期。{OPT_OUT}"


@pytest.fixture
def people(book: Book) -> dict[str, User]:
    return {
        "admin": book.root,
        "supervisor": book.sam,
        "compliance": UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER),
        "team_leader": book.tina,
        "collector": book.alice,
        "field": UserFactory(username="fred", role=Role.FIELD_COLLECTOR),
        "qa": UserFactory(username="quinn", role=Role.QA),
        "agency": book.agnes,
        "creditor": UserFactory(username="vera", role=Role.CREDITOR_VIEWER, creditor_code="DEMOBANK"),
    }


@pytest.fixture
def approved(book: Book) -> Template:
    template = template_create(
        code="APPROVED_SMS",
        language="zh-hans",
        name="已批准",
        channel="sms",
        template_class="collection",
        actor=book.sam,
    )
    version = template_version_save(
        template=template, subject="", body=GOOD, provider_template_code="SMS_A", actor=book.sam
    )
    template_version_approve(version=version, actor=book.root)
    template.refresh_from_db()
    return template


@pytest.fixture
def draft_only(book: Book) -> Template:
    template = template_create(
        code="DRAFT_SMS",
        language="zh-hans",
        name="草稿",
        channel="sms",
        template_class="collection",
        actor=book.sam,
    )
    template_version_save(
        template=template, subject="", body=GOOD, provider_template_code="SMS_D", actor=book.sam
    )
    return template


def writes() -> tuple[int, int, int]:
    return Template.objects.count(), TemplateVersion.objects.count(), Event.objects.count()


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "list_page", "approved_page", "draft_page", "edit"),
    [
        ("admin", 200, 200, 200, True),
        ("supervisor", 200, 200, 200, True),
        ("compliance", 200, 200, 200, True),
        ("team_leader", 200, 200, 404, False),
        ("collector", 200, 200, 404, False),
        ("field", 200, 200, 404, False),
        ("qa", 200, 200, 404, False),
        ("agency", 403, 403, 403, False),
        ("creditor", 403, 403, 403, False),
    ],
)
def test_pages_by_role(
    client: Client,
    people: dict[str, User],
    approved: Template,
    draft_only: Template,
    who: str,
    list_page: int,
    approved_page: int,
    draft_page: int,
    edit: bool,
) -> None:
    client.force_login(people[who])
    before = writes()

    listing = client.get("/comms/templates/")
    assert listing.status_code == list_page
    assert client.get(f"/comms/templates/{approved.pk}/").status_code == approved_page
    assert client.get(f"/comms/templates/{draft_only.pk}/").status_code == draft_page
    assert client.get("/comms/templates/new/").status_code == (200 if edit else 403)
    new = client.post(
        "/comms/templates/new/",
        {
            "code": "BY_PAGE",
            "language": "zh-hans",
            "name": "x",
            "channel": "sms",
            "template_class": "reminder",
        },
    )
    save = client.post(f"/comms/templates/{approved.pk}/", {"body": GOOD, "provider_template_code": "SMS_X"})
    preview = client.post(
        f"/comms/templates/{approved.pk}/preview/", {"body": GOOD, "provider_template_code": "SMS_A"}
    )

    home = client.get("/").content.decode()
    assert ('href="/comms/templates/"' in home) is (list_page == 200)
    if edit:
        assert (new.status_code, save.status_code, preview.status_code) == (302, 302, 200)
        return
    assert (new.status_code, save.status_code, preview.status_code) == (403, 403, 403)
    assert writes() == before
    if list_page == 200:
        page = listing.content.decode()
        assert 'data-testid="template-APPROVED_SMS-zh-hans"' in page
        assert "DRAFT_SMS" not in page
        assert 'data-testid="template-new"' not in page
        read = client.get(f"/comms/templates/{approved.pk}/").content.decode()
        assert 'data-testid="read-only"' in read
        assert 'data-testid="template-form"' not in read
        assert "尊敬的张伟，您尾号6789的账户已逾期。回复TD退订" in read


def test_anonymous_is_sent_to_login(client: Client, approved: Template) -> None:
    for path in ("/comms/templates/", "/comms/templates/new/", f"/comms/templates/{approved.pk}/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_the_list_shows_versions_in_use_and_drafts_waiting(
    client: Client,
    people: dict[str, User],
    approved: Template,
    draft_only: Template,
    django_assert_num_queries: Any,
) -> None:
    template_version_save(
        template=approved,
        subject="",
        body=GOOD + "。",
        provider_template_code="SMS_A",
        actor=people["supervisor"],
    )
    client.force_login(people["compliance"])
    client.get("/comms/templates/")  # warm the session and the translation catalogue

    # session, user, the templates with their draft counts (one query), the session's
    # activity stamp in its savepoint (3): the same however many templates there are.
    with django_assert_num_queries(6):
        client.get("/comms/templates/")
    for number in range(5):
        template_create(
            code=f"MORE_{number}",
            language="en",
            name="x",
            channel="letter",
            template_class="collection",
            actor=None,
        )
    with django_assert_num_queries(6):
        page = client.get("/comms/templates/").content.decode()

    assert 'data-testid="drafts-APPROVED_SMS-zh-hans"><span class="badge text-bg-warning">1</span>' in page
    assert 'data-testid="drafts-DRAFT_SMS-zh-hans"><span class="badge text-bg-warning">1</span>' in page
    assert ">v1</td>" in page
    assert "未批准" in page


# --- create and save through the pages -------------------------------------------------------------


def test_creating_a_template_opens_its_editor(client: Client, people: dict[str, User]) -> None:
    client.force_login(people["supervisor"])

    response = client.post(
        "/comms/templates/new/",
        {
            "code": "COLLECT_D7",
            "language": "zh-hans",
            "name": "第7天",
            "channel": "sms",
            "template_class": "collection",
        },
    )

    template = Template.objects.get(code="COLLECT_D7")
    assert response.status_code == 302 and response["Location"] == f"/comms/templates/{template.pk}/"
    editor = client.get(response["Location"]).content.decode()
    assert 'data-testid="template-form"' in editor
    assert "还没有版本" in editor


def test_a_bad_code_is_shown_and_nothing_is_created(client: Client, people: dict[str, User]) -> None:
    client.force_login(people["supervisor"])
    before = writes()

    response = client.post(
        "/comms/templates/new/",
        {
            "code": "collect d7",
            "language": "zh-hans",
            "name": "x",
            "channel": "sms",
            "template_class": "collection",
        },
    )

    assert response.status_code == 422
    assert 'data-testid="error-code"' in response.content.decode()
    assert "编号只能包含大写字母、数字和下划线" in response.content.decode()
    assert writes() == before


def test_saving_through_the_editor_writes_a_draft(
    client: Client, people: dict[str, User], approved: Template
) -> None:
    client.force_login(people["compliance"])

    response = client.post(
        f"/comms/templates/{approved.pk}/",
        {"body": GOOD.replace("尊敬的", "您好，"), "provider_template_code": "SMS_A"},
    )

    assert response.status_code == 302
    version = TemplateVersion.objects.get(template=approved, number=2)
    assert (version.status, version.created_by) == (VersionStatus.DRAFT, people["compliance"])
    page = client.get(f"/comms/templates/{approved.pk}/").content.decode()
    assert "已保存为第 2 版（待审批）。" in page
    assert 'data-testid="version-status-2">待审批' in page
    # The editor continues from the newest text.
    assert "您好，${customer_name}" in page


def test_a_refused_save_shows_the_reasons_and_writes_nothing(
    client: Client, people: dict[str, User], approved: Template
) -> None:
    client.force_login(people["supervisor"])
    before = writes()

    response = client.post(
        f"/comms/templates/{approved.pk}/",
        {"body": f"${{id_number}}，白痴。{OPT_OUT}", "provider_template_code": "SMS_A"},
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert "变量 ${id_number} 会显示完整号码，不允许使用；请改用 ${id_last4}（只显示后4位）。" in page
    assert "H12：包含禁用语：白痴。位置：“白痴”（第 14 个字符）" in page
    assert '<mark class="screen-hit" title="H12" data-rules="H12">白痴</mark>' in page
    assert writes() == before


# --- the live preview -------------------------------------------------------------------------------


def test_the_live_preview_renders_and_screens_and_writes_nothing(
    client: Client, people: dict[str, User], approved: Template
) -> None:
    client.force_login(people["supervisor"])
    before = writes()

    response = client.post(
        f"/comms/templates/{approved.pk}/preview/",
        {
            "body": f"${{customer_name}}你好，别当老赖，否则去法院。{OPT_OUT}",
            "provider_template_code": "SMS_A",
        },
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert (
        '<div class="border rounded p-2 bg-body-tertiary template-text" data-testid="preview-rendered">张伟你好，别当老赖，否则去法院。回复TD退订</div>'
        in page
    )
    assert page.count('data-testid="preview-problem"') == 2
    assert "H12：包含禁用语：老赖、法院。位置：“老赖”（第 22 个字符）、“法院”（第 28 个字符）" in page
    assert "C5：不得使用行政或司法机关名义：法院。位置：“法院”（第 28 个字符）" in page
    assert '<mark class="screen-hit" title="H12" data-rules="H12">老赖</mark>' in page
    assert '<mark class="screen-hit" title="C5 H12" data-rules="C5 H12">法院</mark>' in page
    assert "短信长度：最长 40 字符（变量按最长值计算）/ 上限 300 字符；示例 22 字符" in page
    assert writes() == before


def test_the_live_preview_shows_a_clean_text_and_an_sms_over_the_limit(
    client: Client, people: dict[str, User], approved: Template, settings: object
) -> None:
    client.force_login(people["supervisor"])
    settings.ARREARS_SMS_MAX_CHARS = 20  # type: ignore[attr-defined]

    response = client.post(
        f"/comms/templates/{approved.pk}/preview/", {"body": GOOD, "provider_template_code": "SMS_A"}
    )

    page = response.content.decode()
    assert "短信最长可能有 44 个字符（变量按最长值计算），超过服务商上限 20 个字符。" in page
    assert 'data-testid="sms-length">' in page and "text-danger fw-semibold" in page
    settings.ARREARS_SMS_MAX_CHARS = 300  # type: ignore[attr-defined]
    clean = client.post(
        f"/comms/templates/{approved.pk}/preview/", {"body": GOOD, "provider_template_code": "SMS_A"}
    ).content.decode()
    assert 'data-testid="screening-ok"' in clean
    assert "<mark" not in clean


def test_the_editor_form_posts_the_preview_on_input(
    client: Client, people: dict[str, User], approved: Template
) -> None:
    client.force_login(people["supervisor"])

    page = client.get(f"/comms/templates/{approved.pk}/").content.decode()

    assert f'hx-post="/comms/templates/{approved.pk}/preview/" hx-trigger="input delay:400ms"' in page
    assert 'src="/static/arrears/templates_editor.js"' in page
    assert "<script>" not in page


# --- review -----------------------------------------------------------------------------------------


def test_the_author_is_refused_approval_and_nothing_changes(
    client: Client, people: dict[str, User], draft_only: Template
) -> None:
    client.force_login(people["supervisor"])
    version = draft_only.versions.get()
    page = client.get(f"/comms/templates/{draft_only.pk}/").content.decode()
    before = writes()

    response = client.post(f"/comms/templates/{draft_only.pk}/versions/{version.pk}/approve/", {"note": "ok"})

    assert 'data-testid="own-draft-1"' in page and 'data-testid="approve-1"' not in page
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    assert writes() == before


def test_another_reviewer_approves_then_the_template_uses_it(
    client: Client, people: dict[str, User], draft_only: Template
) -> None:
    client.force_login(people["compliance"])
    version = draft_only.versions.get()

    response = client.post(
        f"/comms/templates/{draft_only.pk}/versions/{version.pk}/approve/", {"note": "可以"}
    )

    assert response.status_code == 302
    draft_only.refresh_from_db()
    assert draft_only.current_version == version
    page = client.get(f"/comms/templates/{draft_only.pk}/").content.decode()
    assert "第 1 版已批准并启用。" in page
    assert 'data-testid="version-status-1">已批准' in page


def test_rejecting_without_a_reason_is_refused_with_a_message(
    client: Client, people: dict[str, User], draft_only: Template
) -> None:
    client.force_login(people["admin"])
    version = draft_only.versions.get()

    empty = client.post(
        f"/comms/templates/{draft_only.pk}/versions/{version.pk}/reject/", {"note": ""}, follow=True
    )
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    assert "驳回须填写原因。" in empty.content.decode()

    client.post(f"/comms/templates/{draft_only.pk}/versions/{version.pk}/reject/", {"note": "语气太硬"})
    version.refresh_from_db()
    assert (version.status, version.review_note) == (VersionStatus.REJECTED, "语气太硬")


@pytest.mark.parametrize("who", ["team_leader", "collector", "qa", "agency"])
def test_others_may_not_review(
    client: Client, people: dict[str, User], draft_only: Template, who: str
) -> None:
    client.force_login(people[who])
    version = draft_only.versions.get()
    before = writes()

    approve = client.post(f"/comms/templates/{draft_only.pk}/versions/{version.pk}/approve/")
    reject = client.post(f"/comms/templates/{draft_only.pk}/versions/{version.pk}/reject/", {"note": "x"})

    assert (approve.status_code, reject.status_code) == (403, 403)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    assert writes() == before


def test_a_version_of_another_template_is_404(
    client: Client, people: dict[str, User], approved: Template, draft_only: Template
) -> None:
    client.force_login(people["compliance"])
    version = draft_only.versions.get()

    response = client.post(f"/comms/templates/{approved.pk}/versions/{version.pk}/approve/")

    assert response.status_code == 404
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


def test_the_pages_speak_english(
    client: Client, people: dict[str, User], approved: Template, settings: Any
) -> None:
    client.force_login(people["supervisor"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    listing = client.get("/comms/templates/").content.decode()
    preview = client.post(f"/comms/templates/{approved.pk}/preview/", {"body": "${nope}"}).content.decode()

    assert '<h1 class="h4 mb-0" data-testid="templates-title">Message templates</h1>' in listing
    assert "Unknown variable ${nope}. Known variables: ${customer_name}" in preview
    assert (
        "U5: SMS and email must carry an opt-out. Add how to opt out, for example: "
        "“回复TD退订”、“Reply STOP to opt out”" in preview
    )
