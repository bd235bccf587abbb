"""Writes for users, teams, agencies and API tokens."""

from __future__ import annotations

import secrets
import time
from binascii import unhexlify

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

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


# TOTP as every authenticator app does it: 30-second steps, 6 digits, one step of clock skew.
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_TOLERANCE_STEPS = 1


def totp_key_new() -> str:
    """A fresh secret for a device being set up (hex, 20 random bytes, as django-otp stores it)."""
    return secrets.token_hex(20)


def _totp_time_step(*, key: str, token: str) -> int | None:
    """The time step ``token`` belongs to for this secret, or None when it matches none."""
    if not (token.isdigit() and len(token) == TOTP_DIGITS):
        return None
    totp = TOTP(unhexlify(key), step=TOTP_STEP_SECONDS, t0=0, digits=TOTP_DIGITS, drift=0)
    totp.time = time.time()
    if not totp.verify(int(token), tolerance=TOTP_TOLERANCE_STEPS):
        return None
    return totp.t()


@transaction.atomic
def totp_device_confirm(*, user: User, key: str, token: str) -> TOTPDevice | None:
    """Enable the second factor: store a confirmed TOTP device with ``key`` when ``token`` is a
    current code for it. A wrong code writes nothing and returns None. The matched code cannot
    be used again to verify a session (``last_t``). Not safe to re-run: a second call adds a
    second device."""
    time_step = _totp_time_step(key=key, token=token)
    if time_step is None:
        return None
    device = TOTPDevice.objects.create(
        user=user,
        name="default",
        key=key,
        step=TOTP_STEP_SECONDS,
        digits=TOTP_DIGITS,
        tolerance=TOTP_TOLERANCE_STEPS,
        confirmed=True,
        last_t=time_step,
    )
    event_record(kind="second_factor.enabled", subject=user, actor=user)
    return device


@transaction.atomic
def totp_devices_remove(*, user: User, actor: User) -> int:
    """Turn the second factor off: delete the user's TOTP devices; returns how many there were."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    if removed:
        event_record(kind="second_factor.disabled", subject=user, actor=actor)
    return removed
