"""Pages of the cadences (催收节奏): which messages go out when, per product × bucket group.

Roles: supervisors and admins read and change (create a cadence, add, change and remove a
step, activate or deactivate); compliance officers and team leaders read. Everyone else
gets 403. The writes are `cadence_services`; a refusal shows the form again with each
field's error (422) and writes nothing. Changes take effect from the next end-of-day run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from arrears.accounts.models import User
from arrears.comms import cadence_selectors
from arrears.comms.cadence_selectors import CadenceRow
from arrears.comms.cadence_services import (
    CADENCE_EDITORS,
    CADENCE_READERS,
    CadenceNotAllowed,
    CadenceRefused,
    bucket_groups,
    cadence_create,
    cadence_set_active,
    cadence_step_add,
    cadence_step_change,
    cadence_step_remove,
)
from arrears.comms.models import CadenceAnchor, CadenceStep, MessageChannel, StepKind
from arrears.portfolio.models import Product


def _has_role(user: Any, roles: Iterable[str]) -> bool:
    return isinstance(user, User) and user.is_active and user.role in roles


def _require(request: HttpRequest, roles: Iterable[str]) -> None:
    if not _has_role(request.user, roles):
        raise PermissionDenied


# --- forms -------------------------------------------------------------------------------------

_SELECT = {"class": "form-select form-select-sm"}
_INPUT = {"class": "form-control form-control-sm"}


class CadenceCreateForm(forms.Form):
    product = forms.ModelChoiceField(
        label=gettext_lazy("产品"),
        queryset=Product.objects.order_by("code"),
        required=False,
        empty_label=gettext_lazy("全部产品（通用）"),
        widget=forms.Select(attrs=_SELECT),
    )
    bucket_group = forms.ChoiceField(label=gettext_lazy("账龄组"), widget=forms.Select(attrs=_SELECT))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bucket_group"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(group, group) for group in bucket_groups()]


class _StepFields(forms.Form):
    days = forms.IntegerField(label=gettext_lazy("天数"), widget=forms.NumberInput(attrs=_INPUT))
    channel = forms.ChoiceField(
        label=gettext_lazy("渠道"),
        choices=MessageChannel.choices,
        initial=MessageChannel.SMS,
        required=False,
        widget=forms.Select(attrs=_SELECT),
    )
    template_code = forms.CharField(
        label=gettext_lazy("模板编号"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={**_INPUT, "class": "form-control form-control-sm font-monospace"}),
    )
    send_time = forms.TimeField(
        label=gettext_lazy("发送时间"),
        required=False,
        initial="10:00",
        widget=forms.TimeInput(attrs={**_INPUT, "type": "time"}, format="%H:%M"),
    )


class StepAddForm(_StepFields):
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"),
        choices=StepKind.choices,
        initial=StepKind.MESSAGE,
        widget=forms.Select(attrs=_SELECT),
    )
    anchor = forms.ChoiceField(
        label=gettext_lazy("时间基准"),
        choices=CadenceAnchor.choices,
        initial=CadenceAnchor.DUE_DATE,
        widget=forms.Select(attrs=_SELECT),
    )
    field_order = ["kind", "anchor", "days", "channel", "template_code", "send_time"]


class StepChangeForm(_StepFields):
    pass


def _add_problems(form: forms.Form, problems: Sequence[tuple[str, str]]) -> None:
    for field, message in problems:
        form.add_error(field if field in form.fields else None, message)


def _step_form(step: CadenceStep, data: Any = None) -> StepChangeForm:
    return StepChangeForm(
        data,
        auto_id=f"id_step{step.pk}_%s",
        initial={
            "days": step.days,
            "channel": step.channel,
            "template_code": step.template_code,
            "send_time": step.send_time,
        },
    )


# --- pages --------------------------------------------------------------------------------------


def _list(
    request: HttpRequest, *, create_form: CadenceCreateForm | None = None, status: int = 200
) -> HttpResponse:
    can_edit = _has_role(request.user, CADENCE_EDITORS)
    if can_edit and create_form is None:
        create_form = CadenceCreateForm()
    return render(
        request,
        "comms/cadence_list.html",
        {"rows": cadence_selectors.cadence_rows(), "can_edit": can_edit, "create_form": create_form},
        status=status,
    )


@login_required
@require_GET
def cadence_list_view(request: HttpRequest) -> HttpResponse:
    _require(request, CADENCE_READERS)
    return _list(request)


@login_required
@require_POST
def cadence_create_view(request: HttpRequest) -> HttpResponse:
    _require(request, CADENCE_EDITORS)
    form = CadenceCreateForm(request.POST)
    if form.is_valid():
        try:
            cadence = cadence_create(
                product=form.cleaned_data["product"],
                bucket_group=form.cleaned_data["bucket_group"],
                actor=request.user,
            )
        except CadenceRefused as refusal:
            _add_problems(form, refusal.problems)
        else:
            messages.success(request, _("催收节奏已创建（未启用）。请添加步骤，然后启用。"))
            return redirect("comms_cadence_detail", cadence_id=cadence.pk)
    return _list(request, create_form=form, status=422)


def _row(cadence_id: int) -> CadenceRow:
    row = cadence_selectors.cadence_row(cadence_id=cadence_id)
    if row is None:
        raise Http404
    return row


def _detail(
    request: HttpRequest,
    row: CadenceRow,
    *,
    add_form: StepAddForm | None = None,
    changed: tuple[int, StepChangeForm] | None = None,
    active_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    can_edit = _has_role(request.user, CADENCE_EDITORS)
    lines = []
    for step_row in row.steps:
        form = None
        if can_edit:
            form = changed[1] if changed and changed[0] == step_row.step.pk else _step_form(step_row.step)
        lines.append({"row": step_row, "form": form})
    return render(
        request,
        "comms/cadence_detail.html",
        {
            "cadence": row.cadence,
            "row": row,
            "lines": lines,
            "can_edit": can_edit,
            "add_form": add_form or (StepAddForm(auto_id="id_add_%s") if can_edit else None),
            "active_errors": active_errors,
            "reminder_call": StepKind.REMINDER_CALL,
        },
        status=status,
    )


@login_required
@require_GET
def cadence_detail_view(request: HttpRequest, cadence_id: int) -> HttpResponse:
    _require(request, CADENCE_READERS)
    return _detail(request, _row(cadence_id))


@login_required
@require_POST
def cadence_step_add_view(request: HttpRequest, cadence_id: int) -> HttpResponse:
    _require(request, CADENCE_EDITORS)
    row = _row(cadence_id)
    form = StepAddForm(request.POST, auto_id="id_add_%s")
    if form.is_valid():
        try:
            cadence_step_add(cadence=row.cadence, **form.cleaned_data, actor=request.user)
        except CadenceNotAllowed as exc:
            raise PermissionDenied from exc
        except CadenceRefused as refusal:
            _add_problems(form, refusal.problems)
        else:
            messages.success(request, _("步骤已添加，从下一次日终批处理起生效。"))
            return redirect("comms_cadence_detail", cadence_id=cadence_id)
    return _detail(request, row, add_form=form, status=422)


def _step(row: CadenceRow, step_id: int) -> CadenceStep:
    for step_row in row.steps:
        if step_row.step.pk == step_id:
            return step_row.step
    raise Http404


@login_required
@require_POST
def cadence_step_change_view(request: HttpRequest, cadence_id: int, step_id: int) -> HttpResponse:
    _require(request, CADENCE_EDITORS)
    row = _row(cadence_id)
    step = _step(row, step_id)
    form = _step_form(step, request.POST)
    if form.is_valid():
        try:
            cadence_step_change(step=step, **form.cleaned_data, actor=request.user)
        except CadenceNotAllowed as exc:
            raise PermissionDenied from exc
        except CadenceStep.DoesNotExist as gone:  # removed by another editor meanwhile
            raise Http404 from gone
        except CadenceRefused as refusal:
            _add_problems(form, refusal.problems)
        else:
            messages.success(request, _("步骤已修改，从下一次日终批处理起生效。"))
            return redirect("comms_cadence_detail", cadence_id=cadence_id)
    return _detail(request, row, changed=(step.pk, form), status=422)


@login_required
@require_POST
def cadence_step_remove_view(request: HttpRequest, cadence_id: int, step_id: int) -> HttpResponse:
    _require(request, CADENCE_EDITORS)
    step = _step(_row(cadence_id), step_id)
    try:
        cadence_step_remove(step=step, actor=request.user)
    except CadenceNotAllowed as exc:
        raise PermissionDenied from exc
    except CadenceStep.DoesNotExist as gone:  # removed by another editor meanwhile
        raise Http404 from gone
    messages.success(request, _("步骤已删除；已排队的消息不受影响。"))
    return redirect("comms_cadence_detail", cadence_id=cadence_id)


@login_required
@require_POST
def cadence_active_view(request: HttpRequest, cadence_id: int) -> HttpResponse:
    """POST ``active`` = "1" (activate) or "0" (deactivate)."""
    _require(request, CADENCE_EDITORS)
    row = _row(cadence_id)
    active = request.POST.get("active") == "1"
    try:
        cadence_set_active(cadence=row.cadence, active=active, actor=request.user)
    except CadenceNotAllowed as exc:
        raise PermissionDenied from exc
    except CadenceRefused as refusal:
        return _detail(
            request, row, active_errors=[message for _field, message in refusal.problems], status=422
        )
    messages.success(
        request,
        _("催收节奏已启用，从下一次日终批处理起生效。")
        if active
        else _("催收节奏已停用，从下一次日终批处理起不再排队消息。"),
    )
    return redirect("comms_cadence_detail", cadence_id=cadence_id)
