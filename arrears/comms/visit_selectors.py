"""Reads of field visits: one visit in the user's scope, a field collector's day, a case's visits.

Scope: a user sees a visit when they may see its case (`cases.selectors.cases_visible_to`,
the same rule as `case_get`), or when they are one of its visitors — the second visitor of
a team is often not the case's collector, and must still open the visit they go on. Anyone
else gets None (the pages answer 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet

from arrears.accounts.models import User
from arrears.cases.models import Case
from arrears.cases.selectors import Viewer, cases_visible_to
from arrears.comms.models import Visit, VisitAttachment, VisitState
from arrears.comms.visits import FIELD_STAFF_ROLES
from arrears.core import masking
from arrears.portfolio.models import ContactPoint

# Field visits are planned and listed by the local day of the collection centre.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
# Days outside these hold no visits (and the edges of the calendar would overflow in UTC).
MIN_DAY = dt.date(1970, 1, 1)
MAX_DAY = dt.date(2999, 12, 31)


def _visible_visits(user: Viewer) -> QuerySet[Visit]:
    if isinstance(user, AnonymousUser) or not user.is_active:
        return Visit.objects.none()
    in_scope = Q(case__in=cases_visible_to(user)) | Q(visitors=user)
    # The visitors join may repeat a visit: keep each once.
    return Visit.objects.filter(pk__in=Visit.objects.filter(in_scope).values("pk"))


def visit_get(*, user: Viewer, visit_id: int) -> Visit | None:
    """One visit with its case, customer, address, visitors and attachments, or None when it
    does not exist or is out of the user's scope."""
    return (
        _visible_visits(user)
        .select_related(
            "case__customer",
            "case__account__creditor",
            "case__assigned_collector",
            "address",
            "decision",
            "activity__action_code",
            "created_by",
        )
        .prefetch_related(
            Prefetch("visitors", queryset=User.objects.order_by("username")),
            Prefetch(
                "attachments", queryset=VisitAttachment.objects.select_related("uploaded_by").order_by("id")
            ),
        )
        .filter(pk=visit_id)
        .first()
    )


def visit_attachment_get(*, user: Viewer, attachment_id: int) -> VisitAttachment | None:
    """An attachment of a visit the user may see, or None."""
    return (
        VisitAttachment.objects.select_related("visit")
        .filter(pk=attachment_id, visit__in=_visible_visits(user))
        .first()
    )


@dataclass(frozen=True)
class VisitLine:
    """A visit as a list shows it: the customer's name and the address masked."""

    visit: Visit
    case_id: int
    customer_name: str
    address_masked: str
    visitor_names: list[str]


def _local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), LOCAL_ZONE)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), LOCAL_ZONE)


def _lines(visits: QuerySet[Visit]) -> list[VisitLine]:
    rows = visits.select_related("case__customer", "address").prefetch_related(
        Prefetch("visitors", queryset=User.objects.order_by("username"))
    )
    return [
        VisitLine(
            visit=visit,
            case_id=visit.case_id,
            customer_name=visit.case.customer.name,
            address_masked=masking.mask_address(visit.address.value),
            visitor_names=[person.get_full_name() or person.username for person in visit.visitors.all()],
        )
        for visit in rows
    ]


def visits_for_visitor_on(*, user: Viewer, day: dt.date) -> list[VisitLine]:
    """The visits `user` goes on, planned on local day `day` (Asia/Shanghai), by time.
    Cancelled visits are left out; done ones stay (the day's record). Uses visit_planned_idx."""
    if not isinstance(user, User) or not user.is_active or not MIN_DAY <= day <= MAX_DAY:
        return []
    start, end = _local_day_bounds(day)
    visits = (
        Visit.objects.filter(visitors=user, planned_at__gte=start, planned_at__lt=end)
        .exclude(state=VisitState.CANCELLED)
        .order_by("planned_at", "id")
    )
    return _lines(visits)


def visits_of_case(*, case: Case) -> list[VisitLine]:
    """Every visit of the case, newest plan first (the caller has checked the case's scope)."""
    return _lines(Visit.objects.filter(case=case).order_by("-planned_at", "-id"))


def address_choices(*, case: Case) -> QuerySet[ContactPoint]:
    """The case customer's valid addresses a visit may go to (the guard judges third parties)."""
    return ContactPoint.objects.filter(customer_id=case.customer_id, kind="address", is_valid=True).order_by(
        "owner_role", "id"
    )


def eligible_visitors() -> QuerySet[User]:
    """Active staff who may be named as visitors (`comms.visits.FIELD_STAFF_ROLES`)."""
    return User.objects.filter(is_active=True, role__in=FIELD_STAFF_ROLES).order_by("role", "username")
