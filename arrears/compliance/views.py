"""Compliance pages: the policy packs and their parameter versions, and the decision log.

Thin on purpose: each view checks the role (403 for a role that may never see the page),
reads through the selectors, and writes through one service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from arrears.accounts.models import Role, User
from arrears.cases.models import Channel as CaseChannel
from arrears.compliance import selectors
from arrears.compliance.forms import PACK_NAMES, DecisionFilterForm, PackParamsForm, param_label
from arrears.compliance.messages import reason_text
from arrears.compliance.models import Decision, PolicyPackVersion
from arrears.compliance.packs import PACKS, params_as_json
from arrears.compliance.services import PackParamsRefused, pack_params_update
from arrears.core.selectors import calendar_years_needing_holidays

PACK_READERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
PACK_EDITORS = frozenset({Role.ADMIN})
DECISION_READERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SUPERVISOR})
DECISION_PAGE_SIZE = 50
CHANNEL_LABELS = dict(CaseChannel.choices)
FILTER_FIELDS = ("outcome", "rule", "date_from", "date_to", "case")


def _has_role(user: Any, roles: Iterable[str]) -> bool:
    return isinstance(user, User) and user.is_active and user.role in roles


def _require(request: HttpRequest, roles: Iterable[str]) -> None:
    if not _has_role(request.user, roles):
        raise PermissionDenied


def _shown(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(str(item) for item in value)
    return str(value)


# --- packs -------------------------------------------------------------------------------------


@dataclass
class Change:
    key: str
    label: str
    before: str
    after: str


@dataclass
class VersionRow:
    version: PolicyPackVersion
    changes: list[Change] = field(default_factory=list)


def _history(versions: list[PolicyPackVersion]) -> list[VersionRow]:
    """Each version (newest first) with what it changed against the one before it."""
    rows = []
    for index, version in enumerate(versions):
        previous = versions[index + 1].params if index + 1 < len(versions) else None
        changes = []
        if previous is not None:
            for key in version.params:
                if version.params[key] != previous.get(key):
                    changes.append(
                        Change(
                            key, param_label(key), _shown(previous.get(key, "—")), _shown(version.params[key])
                        )
                    )
        rows.append(VersionRow(version=version, changes=changes))
    return rows


@login_required
@require_GET
def pack_list_view(request: HttpRequest) -> HttpResponse:
    _require(request, PACK_READERS)
    packs = []
    for pack_id, catalogue in PACKS.items():
        versions = selectors.pack_versions(pack_id)
        packs.append(
            {
                "id": pack_id,
                "name": PACK_NAMES.get(pack_id, pack_id),
                "rules": [rule.id for rule in catalogue.rules],
                "latest": versions[0] if versions else None,
                "version": versions[0].version if versions else catalogue.version,
            }
        )
    missing_years = (
        calendar_years_needing_holidays(today=timezone.localdate())
        if _has_role(request.user, PACK_EDITORS)
        else []
    )
    return render(
        request,
        "compliance/pack_list.html",
        {"packs": packs, "missing_years": missing_years, "can_edit": _has_role(request.user, PACK_EDITORS)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def pack_detail_view(request: HttpRequest, pack_id: str) -> HttpResponse:
    _require(request, PACK_READERS)
    if pack_id not in PACKS:
        raise Http404
    can_edit = _has_role(request.user, PACK_EDITORS)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    versions = selectors.pack_versions(pack_id)
    current: Mapping[str, object] = versions[0].params if versions else params_as_json(PACKS[pack_id].params)
    form = PackParamsForm(
        request.POST if request.method == "POST" else None,
        pack_id=pack_id,
        current=current,
        read_only=not can_edit,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                row = pack_params_update(
                    pack_id=pack_id,
                    params=form.params(),
                    actor=request.user,
                    note=form.cleaned_data.get("note") or "",
                )
            except PackParamsRefused as refusal:
                form.add_problems(refusal.problems)
            else:
                messages.success(request, _("已保存为第 {version} 版。").format(version=row.version))
                return redirect("compliance_pack_detail", pack_id=pack_id)
        status = 422
    return render(
        request,
        "compliance/pack_detail.html",
        {
            "pack_id": pack_id,
            "pack_name": PACK_NAMES.get(pack_id, pack_id),
            "rules": [rule.id for rule in PACKS[pack_id].rules],
            "form": form,
            "history": _history(versions),
            "can_edit": can_edit,
        },
        status=status,
    )


# --- the decision log --------------------------------------------------------------------------


@dataclass
class ReasonRow:
    rule: str
    pack: str
    text: str
    words: str


@dataclass
class DecisionRow:
    decision: Decision
    channel: str
    at_local: str
    next_allowed_local: str
    violations: list[ReasonRow]
    warnings: list[ReasonRow]


def _reasons(records: Iterable[Mapping[str, Any]]) -> list[ReasonRow]:
    return [
        ReasonRow(
            rule=record["rule"],
            pack=record["pack"],
            text=reason_text(record["message"], record.get("parameters") or {}),
            words="、".join(dict.fromkeys(item["word"] for item in record.get("findings") or ())),
        )
        for record in records
    ]


def _local_text(iso: str | None) -> str:
    """A stored ISO time as the debtor saw it (the offset the guard computed in)."""
    if not iso:
        return ""
    moment = dt.datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def _decision_rows(decisions: Iterable[Decision]) -> list[DecisionRow]:
    return [
        DecisionRow(
            decision=decision,
            channel=str(CHANNEL_LABELS.get(decision.channel, decision.channel)),
            at_local=_local_text(decision.inputs.get("when")),
            next_allowed_local=_local_text(decision.result.get("next_allowed_at")),
            violations=_reasons(decision.result.get("violations", ())),
            warnings=_reasons(decision.result.get("warnings", ())),
        )
        for decision in decisions
    ]


@login_required
@require_GET
def decision_list_view(request: HttpRequest) -> HttpResponse:
    _require(request, DECISION_READERS)
    form = DecisionFilterForm(request.GET)
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    rows: list[DecisionRow] | None = None
    next_before = None
    if form.is_valid():
        decisions, next_before = selectors.decision_page(filters=form.cleaned_data, limit=DECISION_PAGE_SIZE)
        rows = _decision_rows(decisions)
    filter_query = urlencode({name: form.data[name] for name in FILTER_FIELDS if form.data.get(name)})
    return render(
        request,
        "compliance/decision_list.html",
        {
            "form": form,
            "rows": rows,
            "next_before_id": next_before,
            "filter_query": filter_query,
            "filtered": any(request.GET.get(name) for name in FILTER_FIELDS),
        },
    )
