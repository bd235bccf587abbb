"""Pages of cases: the list with its filters, and one case.

Thin on purpose: each view checks its input, calls the selectors, and renders. Scoping lives
in the selectors; a case out of the user's scope is a 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from arrears.cases.models import CaseStatus
from arrears.cases.selectors import UNASSIGNED, Viewer, assignee_choices, case_get, case_list
from arrears.delinquency.selectors import account_delinquency, bucket_choices, business_date
from arrears.portfolio.forms import CreditorChoiceField, ProductChoiceField
from arrears.portfolio.selectors import creditor_list, product_list

FILTERS = ("bucket", "dpd_min", "dpd_max", "creditor", "product", "assignee", "status")


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


class CaseFilterForm(forms.Form):
    """The case list's GET filters; all optional. Choices come from the user's scope."""

    bucket = forms.ChoiceField(label=_("账龄"), required=False)
    dpd_min = forms.IntegerField(label=_("逾期天数从"), min_value=0, required=False)
    dpd_max = forms.IntegerField(label=_("逾期天数至"), min_value=0, required=False)
    creditor = CreditorChoiceField(
        label=_("委托方"), queryset=creditor_list(), required=False, empty_label=_("全部委托方")
    )
    product = ProductChoiceField(
        label=_("产品"), queryset=product_list(), required=False, empty_label=_("全部产品")
    )
    assignee = forms.ChoiceField(label=_("催收员"), required=False)
    status = forms.ChoiceField(
        label=_("案件状态"), choices=[("", _("全部状态")), *CaseStatus.choices], required=False
    )
    before = forms.IntegerField(label=_("翻页位置"), min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bucket_field: Any = self.fields["bucket"]
        bucket_field.choices = [("", _("全部账龄")), *bucket_choices()]
        assignee_field: Any = self.fields["assignee"]
        assignee_field.choices = [
            ("", _("全部")),
            (UNASSIGNED, _("未分配")),
            *(
                (str(person.pk), person.get_full_name() or person.username)
                for person in assignee_choices(user=user)
            ),
        ]
        for name in ("bucket", "creditor", "product", "assignee", "status"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        # The two DPD boxes share one visible caption, so each names itself for screen readers.
        for name, hint in (("dpd_min", _("最小")), ("dpd_max", _("最大"))):
            self.fields[name].widget.attrs.update(
                {
                    "class": "form-control form-control-sm",
                    "placeholder": hint,
                    "aria-label": self.fields[name].label,
                }
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("dpd_min"), data.get("dpd_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("逾期天数的下限不能大于上限"), code="dpd_range")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as ``case_list`` keyword arguments."""
        data = self.cleaned_data
        assignee = data.get("assignee") or None
        return {
            "bucket": data.get("bucket") or None,
            "dpd_min": data.get("dpd_min"),
            "dpd_max": data.get("dpd_max"),
            "creditor_id": data["creditor"].pk if data.get("creditor") else None,
            "product_id": data["product"].pk if data.get("product") else None,
            "assignee": int(assignee) if assignee and assignee != UNASSIGNED else assignee,
            "status": data.get("status") or None,
            "before_id": data.get("before"),
        }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def case_list_view(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET, user=request.user)
    on = business_date()
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    page = (
        case_list(user=request.user, business_date=on, **form.selector_filters()) if form.is_valid() else None
    )
    context = {
        "form": form,
        "page": page,
        "business_date": on,
        "filtered": any(request.GET.get(name) for name in FILTERS),
    }
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, "cases/_case_results.html", context)
    return render(request, "cases/case_list.html", context)


@login_required
@require_GET
def case_detail_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get(user=request.user, case_id=case_id)
    if case is None:
        # Out of scope and nonexistent look the same: no hint that the case exists.
        raise Http404
    state = account_delinquency(user=request.user, account_id=case.account_id)
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "state": state,
            "business_date": state.business_date if state else business_date(),
        },
    )
