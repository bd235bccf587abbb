from __future__ import annotations

import hashlib

from django.utils import timezone

from arrears.accounts.models import ApiToken, User


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
