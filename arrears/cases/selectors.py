"""Who may see what. Every page and API endpoint that lists or opens accounts, customers or
cases goes through these functions; templates never filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import EmptyResultSet
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from arrears.accounts.models import Role, User
from arrears.cases.models import (
    CUSTOMER_WIDE_HOLDS,
    Activity,
    Case,
    CaseEvent,
    CaseHold,
    Promise,
    PromiseStatus,
    Task,
)
from arrears.core.sql import ModelColumns, prepared_cursor
from arrears.portfolio.models import Account, ContactPoint, Customer

# Who sees the whole book: managers, and the read-only oversight roles (QA samples any case;
# compliance officers audit any). What each may *do* is decided by the services.
SEES_EVERYTHING = {Role.ADMIN, Role.SUPERVISOR, Role.QA, Role.COMPLIANCE_OFFICER}
WORKS_OWN_CASES = {Role.COLLECTOR, Role.FIELD_COLLECTOR}

# Whoever makes a request: pages may hand us an anonymous user, who sees nothing.
Viewer = User | AnonymousUser


def case_scope_filter(user: Viewer) -> Q | None:
    """The condition on ``Case`` rows this user may see; None means no restriction."""
    if isinstance(user, AnonymousUser) or not user.is_active:
        return Q(pk__in=[])
    if user.role in SEES_EVERYTHING:
        return None
    if user.role == Role.TEAM_LEADER and user.team_id is not None:
        return Q(team_id=user.team_id)
    if user.role == Role.AGENCY_USER and user.agency_id is not None:
        return Q(agency_id=user.agency_id)
    if user.role in WORKS_OWN_CASES:
        return Q(assigned_collector_id=user.pk)
    if user.role == Role.CREDITOR_VIEWER and user.creditor_code:
        return Q(account__creditor__code=user.creditor_code)
    return Q(pk__in=[])


def _creditor_viewer(user: Viewer) -> TypeGuard[User]:
    return (
        isinstance(user, User)
        and user.is_active
        and user.role == Role.CREDITOR_VIEWER
        and bool(user.creditor_code)
    )


def cases_visible_to(user: Viewer) -> QuerySet[Case]:
    scope = case_scope_filter(user)
    cases = Case.objects.all()
    return cases if scope is None else cases.filter(scope)


def accounts_visible_to(user: Viewer) -> QuerySet[Account]:
    """Accounts with at least one case the user may see (uses case_account_idx); a creditor's
    read-only user sees all of that creditor's accounts, in collection or not."""
    if _creditor_viewer(user):
        return Account.objects.filter(creditor__code=user.creditor_code)
    scope = case_scope_filter(user)
    if scope is None:
        return Account.objects.all()
    visible_case = Case.objects.filter(scope, account_id=OuterRef("pk"))
    return Account.objects.filter(Exists(visible_case))


def customers_visible_to(user: Viewer) -> QuerySet[Customer]:
    if _creditor_viewer(user):
        return Customer.objects.filter(creditor__code=user.creditor_code)
    scope = case_scope_filter(user)
    if scope is None:
        return Customer.objects.all()
    visible_case = Case.objects.filter(scope, customer_id=OuterRef("pk"))
    return Customer.objects.filter(Exists(visible_case))


# --- case list and case page --------------------------------------------------------------------

CASE_PAGE_SIZE = 50
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class CaseLine:
    """A case as the list shows it; DPD and overdue are None when the account has no state yet."""

    case: Case
    days_past_due: int | None
    overdue_fen: int | None


@dataclass(frozen=True)
class CasePage:
    lines: list[CaseLine]
    next_before_id: int | None


def case_list(
    *,
    user: Viewer,
    business_date: dt.date | None,
    bucket: str | None = None,
    dpd_min: int | None = None,
    dpd_max: int | None = None,
    creditor_id: int | None = None,
    product_id: int | None = None,
    assignee: int | str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = CASE_PAGE_SIZE,
) -> CasePage:
    """The user's cases, newest first, keyset-paginated on id like the account list.

    `bucket` matches a bucket group (M1) or code (M1-2); `assignee` is a collector's id or
    ``"unassigned"``. DPD is known only as of `business_date` (the latest completed run), so
    a DPD filter without one matches nothing. Uses case_status_id_idx / case_bucket_id_idx /
    case_collector_idx for the order, and state_delinquent_since_idx for DPD ranges.
    """
    # Imported here, not at the top: delinquency's selectors build on this module's scoping.
    from arrears.delinquency.selectors import days_past_due

    cases = (
        cases_visible_to(user)
        .select_related(
            "account__creditor", "account__product", "customer", "assigned_collector", "team", "agency"
        )
        .annotate(
            # The state's as_of is never null, so a null here means the account has no state yet.
            state_as_of=F("account__delinquency__as_of"),
            delinquent_since=F("account__delinquency__delinquent_since"),
            overdue_fen=F("account__delinquency__overdue_fen"),
        )
    )
    if bucket:
        cases = cases.filter(Q(bucket_group=bucket) | Q(bucket_code=bucket))
    if dpd_min is not None or dpd_max is not None:
        if business_date is None:
            return CasePage(lines=[], next_before_id=None)
        cases = cases.filter(_dpd_between(business_date=business_date, dpd_min=dpd_min, dpd_max=dpd_max))
    if creditor_id is not None:
        cases = cases.filter(account__creditor_id=creditor_id)
    if product_id is not None:
        cases = cases.filter(account__product_id=product_id)
    if assignee == UNASSIGNED:
        cases = cases.filter(assigned_collector__isnull=True)
    elif isinstance(assignee, int):
        cases = cases.filter(assigned_collector_id=assignee)
    if status:
        cases = cases.filter(status=status)
    if before_id is not None:
        cases = cases.filter(id__lt=before_id)
    rows = list(cases.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    lines = [
        CaseLine(
            case=case,
            days_past_due=(
                days_past_due(delinquent_since=case.delinquent_since, business_date=business_date)
                if case.state_as_of is not None and business_date is not None
                else None
            ),
            overdue_fen=case.overdue_fen,
        )
        for case in rows
    ]
    return CasePage(lines=lines, next_before_id=rows[-1].pk if has_more and rows else None)


def _dpd_between(*, business_date: dt.date, dpd_min: int | None, dpd_max: int | None) -> Q:
    """DPD on `business_date` within [dpd_min, dpd_max] as a `delinquent_since` range.

    DPD = business_date - delinquent_since, so DPD ≥ n ⇔ delinquent_since ≤ business_date - n
    and DPD ≤ n ⇔ delinquent_since ≥ business_date - n: a range scan on
    state_delinquent_since_idx instead of computing DPD for every row. A current account
    (delinquent_since null) has DPD 0, so it matches when the range starts at 0.
    """
    since = "account__delinquency__delinquent_since"
    dated = Q(**{f"{since}__isnull": False})
    if dpd_max is not None:
        dated &= Q(**{f"{since}__gte": business_date - dt.timedelta(days=dpd_max)})
    if dpd_min is not None:
        dated &= Q(**{f"{since}__lte": business_date - dt.timedelta(days=dpd_min)})
    if not dpd_min:
        current = Q(**{f"{since}__isnull": True, "account__delinquency__as_of__isnull": False})
        return dated | current
    return dated


def case_get(*, user: Viewer, case_id: int) -> Case | None:
    """One case with its account, customer, contact points and events (newest first), or None
    if it does not exist *or* is out of scope."""
    return (
        cases_visible_to(user)
        .select_related(
            "account__creditor", "account__product", "customer", "assigned_collector", "team", "agency"
        )
        .prefetch_related(
            Prefetch(
                "customer__contact_points", queryset=ContactPoint.objects.order_by("owner_role", "kind", "id")
            ),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("-id")),
        )
        .filter(pk=case_id)
        .first()
    )


_CASE_COLUMNS = ModelColumns(Case)
_ACCOUNT_COLUMNS = ModelColumns(Account)
_CUSTOMER_COLUMNS = ModelColumns(Customer)
_POINT_COLUMNS = ModelColumns(ContactPoint)
_CASE_ACCOUNT = Case._meta.get_field("account")
_CASE_CUSTOMER = Case._meta.get_field("customer")
# The case with its account and customer, by primary key, if the scope's subquery lists it.
_CASE_FOR_WORK_SQL = f"""
SELECT {_CASE_COLUMNS.select("c")}, {_ACCOUNT_COLUMNS.select("a")}, {_CUSTOMER_COLUMNS.select("cu")}
  FROM {Case._meta.db_table} c
  JOIN {Account._meta.db_table} a ON a.id = c.account_id
  JOIN {Customer._meta.db_table} cu ON cu.id = c.customer_id
 WHERE c.id = %s AND c.id IN ({{scope}})
"""
_CONTACT_POINT_SQL = f"SELECT {_POINT_COLUMNS.select('p')} FROM {ContactPoint._meta.db_table} p WHERE p.id = %s AND p.customer_id = %s"


def case_for_work(*, user: Viewer, case_id: int) -> Case | None:
    """One case in the user's scope with only what the work services need (account and
    customer), for the write endpoints: no history, so the cost does not grow with the case.

    The scope is `cases_visible_to`'s own query, as a subquery; the rest is written by hand,
    since the ORM's three-table select cost a fifth of an activity's logging in Python."""
    try:
        scope_sql, scope_params = (
            cases_visible_to(user).filter(pk=case_id).values("pk").query.sql_with_params()
        )
    except EmptyResultSet:  # no case can match (an id past bigint, a user who sees nothing)
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_CASE_FOR_WORK_SQL.format(scope=scope_sql), [case_id, *scope_params])
        row = cursor.fetchone()
    if row is None:
        return None
    cases, accounts = len(_CASE_COLUMNS), len(_CASE_COLUMNS) + len(_ACCOUNT_COLUMNS)
    case = _CASE_COLUMNS.instance(row[:cases])
    _CASE_ACCOUNT.set_cached_value(case, _ACCOUNT_COLUMNS.instance(row[cases:accounts]))
    _CASE_CUSTOMER.set_cached_value(case, _CUSTOMER_COLUMNS.instance(row[accounts:]))
    return case


def case_contact_point(*, case: Case, point_id: int) -> ContactPoint | None:
    """The contact point if it is one of the case's customer's (primary key)."""
    with prepared_cursor() as cursor:
        cursor.execute(_CONTACT_POINT_SQL, [point_id, case.customer_id])
        row = cursor.fetchone()
    return None if row is None else _POINT_COLUMNS.instance(row)


def assignee_choices(*, user: Viewer) -> list[User]:
    """The collectors whose cases the user may filter by: everyone's for supervisors, the team's
    for a team leader, the agency's staff for an agency user, oneself for a collector."""
    if isinstance(user, AnonymousUser) or not user.is_active:
        return []
    people = User.objects.filter(is_active=True)
    if user.role in SEES_EVERYTHING:
        people = people.filter(role=Role.COLLECTOR)
    elif user.role == Role.TEAM_LEADER and user.team_id is not None:
        people = people.filter(role=Role.COLLECTOR, team_id=user.team_id)
    elif user.role == Role.AGENCY_USER and user.agency_id is not None:
        people = people.filter(agency_id=user.agency_id)
    elif user.role == Role.COLLECTOR:
        people = people.filter(pk=user.pk)
    else:
        return []
    return list(people.order_by("username"))


# --- the case page: what was done, what is promised, what is due, what is held ---------------


def case_activities(*, case: Case, search: str = "", limit: int = 50) -> list[Activity]:
    """Activities newest first; `search` matches notes, action code or its label."""
    # uses index activity_case_idx (case, -started_at)
    rows = Activity.objects.filter(case=case).select_related("action_code", "contact_point", "actor")
    search = search.strip()
    if search:
        rows = rows.filter(
            Q(notes__icontains=search)
            | Q(action_code__code__iexact=search)
            | Q(action_code__label__icontains=search)
            | Q(recording_ref__iexact=search)
        )
    return list(rows.order_by("-started_at", "-id")[: max(1, min(limit, 500))])


def case_open_promises(*, case: Case) -> list[Promise]:
    return list(Promise.objects.filter(case=case, status=PromiseStatus.OPEN).order_by("due_at", "id"))


def case_promises(*, case: Case, limit: int = 20) -> list[Promise]:
    return list(Promise.objects.filter(case=case).order_by("-id")[:limit])


def case_open_tasks(*, case: Case) -> list[Task]:
    # uses index task_open_idx (case, due_at) WHERE done_at IS NULL
    return list(
        Task.objects.filter(case=case, done_at__isnull=True)
        .select_related("assigned_to")
        .order_by("due_at", "id")
    )


def case_active_holds(*, case: Case) -> list[CaseHold]:
    """Holds on this case, and DECEASED/JAIL holds on any case of the same customer."""
    return list(
        CaseHold.objects.filter(released_at__isnull=True)
        .filter(Q(case=case) | Q(case__customer_id=case.customer_id, kind__in=CUSTOMER_WIDE_HOLDS))
        .select_related("placed_by")
        .order_by("-id")
    )


# The channel each kind of contact point is checked for on the case page.
STATUS_CHANNEL = {"mobile": "call", "home": "call", "work": "call", "email": "email", "address": "visit"}


def contact_point_statuses(*, case: Case, at: dt.datetime) -> list[tuple[ContactPoint, Any]]:
    """Each contact point with the guard's preview for its usual channel at `at` (not stored)."""
    from arrears.compliance.inputs import Visit
    from arrears.compliance.selectors import guard_reads
    from arrears.compliance.services import guard_check

    points = list(
        ContactPoint.objects.filter(customer_id=case.customer_id).order_by("owner_role", "kind", "pk")
    )
    # The case's history, holds, packs and calendar at `at` are the same for every point: read once.
    reads = guard_reads(case=case, at=at) if points else None
    result = []
    for point in points:
        channel = STATUS_CHANNEL.get(point.kind, "call")
        # A planned visit is judged as the rules' minimum crew would make it (2, recorded);
        # the preview is about the person and the time, not the crew.
        visit = Visit(visitors=2, recording_device=True) if channel == "visit" else None
        decision = guard_check(
            case=case,
            channel=channel,
            contact_point=point,
            at=at,
            purpose="status",
            visit=visit,
            store=False,
            reads=reads,
        )
        result.append((point, decision))
    return result
