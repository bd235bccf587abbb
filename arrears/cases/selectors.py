"""Who may see what. Every page and API endpoint that lists or opens accounts, customers or
cases goes through these functions; templates never filter."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from arrears.accounts.models import Role, User
from arrears.cases.models import Case
from arrears.portfolio.models import Account, Customer

SEES_EVERYTHING = {Role.ADMIN, Role.SUPERVISOR}

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
    if user.role == Role.COLLECTOR:
        return Q(assigned_collector_id=user.pk)
    return Q(pk__in=[])


def cases_visible_to(user: Viewer) -> QuerySet[Case]:
    scope = case_scope_filter(user)
    cases = Case.objects.all()
    return cases if scope is None else cases.filter(scope)


def accounts_visible_to(user: Viewer) -> QuerySet[Account]:
    """Accounts with at least one case the user may see (uses case_account_idx)."""
    scope = case_scope_filter(user)
    if scope is None:
        return Account.objects.all()
    visible_case = Case.objects.filter(scope, account_id=OuterRef("pk"))
    return Account.objects.filter(Exists(visible_case))


def customers_visible_to(user: Viewer) -> QuerySet[Customer]:
    scope = case_scope_filter(user)
    if scope is None:
        return Customer.objects.all()
    visible_case = Case.objects.filter(scope, customer_id=OuterRef("pk"))
    return Customer.objects.filter(Exists(visible_case))
