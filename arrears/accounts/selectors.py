from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from arrears.accounts.models import ApiToken, Role, User
from arrears.core.sql import prepared_cursor


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# The token's id, name and last use with every column of its user, in one statement: the ORM's
# select_related query cost about as much Python as the rest of an API write's reads.
_USER_FIELDS = tuple(User._meta.concrete_fields)
_TOKEN_USER_SQL = f"""
SELECT t.id, t.name, t.last_used_at, {", ".join(f"u.{field.column}" for field in _USER_FIELDS)}
  FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
 WHERE t.secret_hash = %s AND t.revoked_at IS NULL AND u.is_active
"""


@dataclass(frozen=True)
class TokenBearer:
    """Who a bearer token acts as, and the token's name (the audit trail names the token)."""

    user: User
    token_name: str


def token_bearer(secret: str) -> TokenBearer | None:
    """The active user a live bearer token acts as, with the token's name, or None. Touches
    ``last_used_at`` at most once a minute."""
    with prepared_cursor() as cursor:
        cursor.execute(_TOKEN_USER_SQL, [token_hash(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, name, last_used_at = row[:3]
    user = User.from_db(connection.alias, [field.attname for field in _USER_FIELDS], row[3:])
    now = timezone.now()
    if last_used_at is None or (now - last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return TokenBearer(user=user, token_name=name)


def user_for_token(secret: str) -> User | None:
    """The active user a bearer token acts as, or None. Touches ``last_used_at`` at most once a minute."""
    bearer = token_bearer(secret)
    return bearer.user if bearer is not None else None


def api_token_name(secret: str) -> str | None:
    """The name of the live token with this secret, or None (for the audit trail of API calls)."""
    return (
        ApiToken.objects.filter(secret_hash=token_hash(secret), revoked_at__isnull=True)
        .values_list("name", flat=True)
        .first()
    )


def user_by_username(username: str) -> User | None:
    """The user with this login name, active or not (uses the unique username index)."""
    return User.objects.filter(username=username).select_related("team").first()


def login_locked_until(*, username: str) -> datetime | None:
    """When the lockout of this login name ends, from its last counted failure (django-axes
    records none while locked out), or None when no failure is on record."""
    last_failure = (
        AccessAttempt.objects.filter(username=username)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    if last_failure is None:
        return None
    return last_failure + settings.AXES_COOLOFF_TIME


class SecondFactorStep(StrEnum):
    """What a logged-in user must still do before any page: set up a device, or enter a code."""

    SETUP = "setup"
    VERIFY = "verify"


def second_factor_required(user: User) -> bool:
    """Admins must have a second factor unless ``ARREARS_REQUIRE_ADMIN_2FA`` is off."""
    return bool(settings.ARREARS_REQUIRE_ADMIN_2FA and (user.role == Role.ADMIN or user.is_superuser))


def second_factor_device(user: User) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def second_factor_step(*, user: User, verified: bool) -> SecondFactorStep | None:
    """The second-factor step this session still owes: a user with a device enters a code
    (whatever the role); an admin without one must set one up; everyone else owes nothing."""
    if verified:
        return None
    if second_factor_device(user) is not None:
        return SecondFactorStep.VERIFY
    if second_factor_required(user):
        return SecondFactorStep.SETUP
    return None
