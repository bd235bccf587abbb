"""Writes for users, teams, agencies and API tokens."""

from __future__ import annotations

import secrets

from django.db import transaction

from arrears.accounts.models import Agency, ApiToken, Role, Team, User
from arrears.accounts.selectors import token_hash
from arrears.core.services import event_record


class AccountsError(ValueError):
    pass


@transaction.atomic
def team_get_or_create(*, code: str, name: str | None = None) -> Team:
    team, _ = Team.objects.get_or_create(code=code, defaults={"name": name or code})
    return team


@transaction.atomic
def agency_get_or_create(*, code: str, name: str | None = None) -> Agency:
    agency, _ = Agency.objects.get_or_create(code=code, defaults={"name": name or code})
    return agency


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    team: Team | None = None,
    agency: Agency | None = None,
    display_name: str = "",
    creditor_code: str = "",
    actor: User | None = None,
) -> User:
    """Create a user with a role. Team leaders need a team; agency users an agency; a
    creditor's read-only user the creditor's code."""
    if role not in Role.values:
        raise AccountsError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    if role == Role.TEAM_LEADER and team is None:
        raise AccountsError("a team leader needs a team")
    if role == Role.AGENCY_USER and agency is None:
        raise AccountsError("an agency user needs an agency")
    if role == Role.CREDITOR_VIEWER and not creditor_code:
        raise AccountsError("a creditor's read-only user needs --creditor CODE")
    if User.objects.filter(username=username).exists():
        raise AccountsError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role,
        team=team,
        agency=agency,
        creditor_code=creditor_code,
        first_name=display_name,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    event_record(kind="user.created", subject=user, actor=actor, data={"role": role})
    return user


@transaction.atomic
def token_create(*, name: str, user: User, actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token acting as ``user``; returns the token and its secret (shown once)."""
    if ApiToken.objects.filter(name=name).exists():
        raise AccountsError(f"a token named {name!r} already exists")
    secret = "arr_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name, user=user, prefix=secret[:10], secret_hash=token_hash(secret))
    event_record(kind="token.created", subject=token, actor=actor, data={"user": user.username})
    return token, secret


@transaction.atomic
def token_create_for_role(*, name: str, role: str, actor: User | None = None) -> tuple[ApiToken, str]:
    """A token for a script: it acts as a service user ``api:<name>`` holding ``role``."""
    if role not in (Role.ADMIN, Role.SUPERVISOR):
        raise AccountsError(
            "a token by role must be admin or supervisor; for a scoped role, create the user "
            "and use --user USERNAME"
        )
    user = User.objects.filter(username=f"api:{name}").first()
    if user is None:
        user = user_create(username=f"api:{name}", role=role, actor=actor)
    return token_create(name=name, user=user, actor=actor)
