"""Pages of the message templates: the list, a new template, the editor with its live
preview and screening, the version history, approving and rejecting drafts.

Roles: supervisors, compliance officers and admins edit (create, save drafts) and review
(approve or reject someone else's draft). Team leaders, collectors, field collectors and
QA read the approved templates only (no drafts, no history, no editor). Agency users and
creditors' viewers get 403. A template a reader may not see is 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from arrears.accounts.models import Role, User
from arrears.comms import rendering, selectors_pages
from arrears.comms.models import (
    Language,
    MessageChannel,
    Template,
    TemplateClass,
    TemplateVersion,
    VersionStatus,
)
from arrears.comms.templates_service import (
    SUBJECT_CHANNELS,
    TEMPLATE_APPROVERS,
    TEMPLATE_EDITORS,
    TemplateRefused,
    preview_values,
    template_create,
    template_version_approve,
    template_version_reject,
    template_version_save,
    text_check,
)
from arrears.compliance.screening import Screening

TEMPLATE_VIEWERS = frozenset({Role.TEAM_LEADER, Role.COLLECTOR, Role.FIELD_COLLECTOR, Role.QA})
TEMPLATE_READERS = TEMPLATE_EDITORS | TEMPLATE_VIEWERS


def _has_role(user: Any, roles: Iterable[str]) -> bool:
    return isinstance(user, User) and user.is_active and user.role in roles


def _require(request: HttpRequest, roles: Iterable[str]) -> None:
    if not _has_role(request.user, roles):
        raise PermissionDenied


# --- forms -------------------------------------------------------------------------------------


class TemplateCreateForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("编号"),
        max_length=40,
        help_text=gettext_lazy("大写字母、数字和下划线，例如 COLLECT_D3"),
        widget=forms.TextInput(attrs={"class": "form-control font-monospace", "autocomplete": "off"}),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("语言"),
        choices=Language.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    name = forms.CharField(
        label=gettext_lazy("名称"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("渠道"),
        choices=MessageChannel.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    template_class = forms.ChoiceField(
        label=gettext_lazy("类别"),
        choices=TemplateClass.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class VersionForm(forms.Form):
    subject = forms.CharField(
        label=gettext_lazy("主题 / 标题"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "data-template-field": "subject"}),
    )
    body = forms.CharField(
        label=gettext_lazy("正文"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"class": "form-control font-monospace", "rows": 10, "data-template-field": "body"}
        ),
    )
    provider_template_code = forms.CharField(
        label=gettext_lazy("服务商模板编号"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control font-monospace"}),
    )


def _add_problems(form: forms.Form, problems: Sequence[tuple[str, str]]) -> None:
    for field, message in problems:
        form.add_error(field if field in form.fields else None, message)


# --- the live preview ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Segment:
    text: str
    rules: str  # "" when the words are fine, otherwise the rules that refuse them


def highlighted(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """The text cut into segments, the offending ones carrying their rule ids (overlaps merge)."""
    marks: list[set[str]] = [set() for _ in text]
    for start, end, rule in spans:
        for index in range(max(start, 0), min(end, len(text))):
            marks[index].add(rule)
    segments: list[Segment] = []
    for index, char in enumerate(text):
        rules = " ".join(sorted(marks[index]))
        if segments and segments[-1].rules == rules:
            segments[-1] = Segment(segments[-1].text + char, rules)
        else:
            segments.append(Segment(char, rules))
    return segments


@dataclasses.dataclass
class Preview:
    subject: str
    body: str
    problems: list[tuple[str, str]]
    subject_segments: list[Segment]
    body_segments: list[Segment]
    is_sms: bool
    longest: int
    sample_length: int
    limit: int
    screening: Screening | None

    @property
    def over_limit(self) -> bool:
        return self.is_sms and self.longest > self.limit


def _spans(screening: Screening | None, field: str) -> list[tuple[int, int, str]]:
    if screening is None:
        return []
    return [
        (item.start, item.end, finding.rule)
        for finding in screening.findings
        if finding.field == field
        for item in finding.words
    ]


def _render_sample(text: str, language: str) -> str:
    values = preview_values(language)
    for name in rendering.variables_in(text):
        values.setdefault(name, "${" + name + "}")
    return rendering.render(text, values)


def build_preview(*, template: Template, subject: str, body: str, provider_template_code: str) -> Preview:
    """What the editor shows beside the text: the sample rendering, every problem the save
    would refuse with, the offending words highlighted, and an SMS's length."""
    if template.channel not in SUBJECT_CHANNELS:
        subject = ""
    checked = text_check(
        channel=template.channel,
        template_class=template.template_class,
        subject=subject,
        body=body,
        provider_template_code=provider_template_code,
    )
    rendered_body = _render_sample(body, template.language)
    return Preview(
        subject=_render_sample(subject, template.language),
        body=rendered_body,
        problems=checked.problems,
        subject_segments=highlighted(subject, _spans(checked.screening, "subject")),
        body_segments=highlighted(body, _spans(checked.screening, "body")),
        is_sms=template.channel == MessageChannel.SMS,
        longest=checked.longest,
        sample_length=len(rendered_body),
        limit=settings.ARREARS_SMS_MAX_CHARS,
        screening=checked.screening,
    )


# --- pages --------------------------------------------------------------------------------------


@login_required
@require_GET
def template_list_view(request: HttpRequest) -> HttpResponse:
    _require(request, TEMPLATE_READERS)
    can_edit = _has_role(request.user, TEMPLATE_EDITORS)
    return render(
        request,
        "comms/template_list.html",
        {"templates": selectors_pages.template_rows(approved_only=not can_edit), "can_edit": can_edit},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_new_view(request: HttpRequest) -> HttpResponse:
    _require(request, TEMPLATE_EDITORS)
    form = TemplateCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                template = template_create(**form.cleaned_data, actor=request.user)
            except TemplateRefused as refusal:
                _add_problems(form, refusal.problems)
            else:
                messages.success(request, _("模板已创建，请编写第一个版本。"))
                return redirect("comms_template_detail", template_id=template.pk)
        status = 422
    return render(request, "comms/template_new.html", {"form": form}, status=status)


def _latest_text(template: Template, versions: Sequence[TemplateVersion]) -> dict[str, str]:
    """What the editor starts from: the newest version's text (a draft under review, or the
    version in use), so an edit continues from the last thing written."""
    source = versions[0] if versions else None
    if source is None:
        # The catalogue's convention for the provider's code of an SMS template.
        code = f"SMS_{template.code}" if template.channel == MessageChannel.SMS else ""
        return {"subject": "", "body": "", "provider_template_code": code}
    return {
        "subject": source.subject,
        "body": source.body,
        "provider_template_code": source.provider_template_code,
    }


@login_required
@require_http_methods(["GET", "POST"])
def template_detail_view(request: HttpRequest, template_id: int) -> HttpResponse:
    _require(request, TEMPLATE_READERS)
    user = request.user
    can_edit = _has_role(user, TEMPLATE_EDITORS)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    template = selectors_pages.template_get(template_id=template_id, approved_only=not can_edit)
    if template is None:
        raise Http404
    if not can_edit:
        version = template.current_version
        assert version is not None
        return render(
            request,
            "comms/template_read.html",
            {
                "template": template,
                "version": version,
                "preview_subject": _render_sample(version.subject, template.language),
                "preview_body": _render_sample(version.body, template.language),
            },
        )
    versions = selectors_pages.template_versions(template=template)
    status = 200
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                version = template_version_save(
                    template=template,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    provider_template_code=form.cleaned_data["provider_template_code"],
                    actor=user,
                )
            except TemplateRefused as refusal:
                _add_problems(form, refusal.problems)
            else:
                messages.success(
                    request, _("已保存为第 {number} 版（待审批）。").format(number=version.number)
                )
                return redirect("comms_template_detail", template_id=template.pk)
        status = 422
        text = {name: str(form.data.get(name, "")) for name in ("subject", "body", "provider_template_code")}
    else:
        text = _latest_text(template, versions)
        form = VersionForm(initial=text)
    preview = build_preview(template=template, **text)
    return render(
        request,
        "comms/template_detail.html",
        {
            "template": template,
            "form": form,
            "preview": preview,
            "versions": versions,
            "has_subject": template.channel in SUBJECT_CHANNELS,
            "is_sms": template.channel == MessageChannel.SMS,
            "can_review": _has_role(user, TEMPLATE_APPROVERS),
            "variables": [
                {"name": v.name, "label": v.label, "example": v.example, "placeholder": "${" + v.name + "}"}
                for v in rendering.VARIABLES.values()
            ],
            "draft": VersionStatus.DRAFT,
        },
        status=status,
    )


@login_required
@require_POST
def template_preview_view(request: HttpRequest, template_id: int) -> HttpResponse:
    """The live preview (htmx, on input): renders, screens and measures; writes nothing."""
    _require(request, TEMPLATE_EDITORS)
    template = selectors_pages.template_get(template_id=template_id, approved_only=False)
    if template is None:
        raise Http404
    preview = build_preview(
        template=template,
        subject=request.POST.get("subject", ""),
        body=request.POST.get("body", ""),
        provider_template_code=request.POST.get("provider_template_code", ""),
    )
    return render(request, "comms/_template_preview.html", {"template": template, "preview": preview})


def _version_for_review(request: HttpRequest, template_id: int, version_id: int) -> TemplateVersion:
    _require(request, TEMPLATE_APPROVERS)
    template = selectors_pages.template_get(template_id=template_id, approved_only=False)
    version = (
        None
        if template is None
        else selectors_pages.template_version_get(template=template, version_id=version_id)
    )
    if version is None:
        raise Http404
    return version


@login_required
@require_POST
def template_version_approve_view(request: HttpRequest, template_id: int, version_id: int) -> HttpResponse:
    version = _version_for_review(request, template_id, version_id)
    # The author's own draft: TemplateNotAllowed (403) from the service, nothing written.
    try:
        approved = template_version_approve(
            version=version, actor=request.user, note=request.POST.get("note", "")
        )
    except TemplateRefused as refusal:
        for _field, message in refusal.problems:
            messages.error(request, message)
    else:
        messages.success(request, _("第 {number} 版已批准并启用。").format(number=approved.number))
    return redirect("comms_template_detail", template_id=template_id)


@login_required
@require_POST
def template_version_reject_view(request: HttpRequest, template_id: int, version_id: int) -> HttpResponse:
    version = _version_for_review(request, template_id, version_id)
    try:
        rejected = template_version_reject(
            version=version, actor=request.user, note=request.POST.get("note", "")
        )
    except TemplateRefused as refusal:
        for _field, message in refusal.problems:
            messages.error(request, message)
    else:
        messages.success(request, _("第 {number} 版已驳回。").format(number=rejected.number))
    return redirect("comms_template_detail", template_id=template_id)
