from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from arrears.accounts.models import ApiToken, Role, User


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_for_token(secret: str) -> User | None:
    """The active user a bearer token acts as, or None. Touches ``last_used_at`` at most once a minute."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(secret_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


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
