"""API rate limits: one budget per user and one per bearer token.

The rates are read from settings on every request (``ARREARS_API_RATE_PER_USER``,
``ARREARS_API_RATE_PER_TOKEN``), so a test can lower them with a settings override. Throttles
run after authentication, so every request they see has a user.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import SimpleRateThrottle

from arrears.accounts.selectors import token_hash


class _SettingsRateThrottle(SimpleRateThrottle):
    rate_setting: str

    def __init__(self) -> None:
        super().__init__(rate=getattr(settings, self.rate_setting))

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = getattr(settings, self.rate_setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


class UserRateThrottle(_SettingsRateThrottle):
    """Per user, whether the user comes by session or by any of their tokens."""

    scope = "user"
    rate_setting = "ARREARS_API_RATE_PER_USER"

    def get_cache_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TokenRateThrottle(_SettingsRateThrottle):
    """Per bearer token, keyed on the token's hash (the secret itself is never stored)."""

    scope = "token"
    rate_setting = "ARREARS_API_RATE_PER_TOKEN"

    def get_cache_key(self, request: HttpRequest) -> str | None:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": token_hash(secret.strip())}
