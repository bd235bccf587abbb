"""API authentication: ``Authorization: Bearer <token>`` for systems, the session for pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from arrears.accounts.middleware import session_is_verified
from arrears.accounts.selectors import second_factor_step, token_bearer

# Set on a request a bearer token authenticated: the token's name, so that the audit trail
# names the token without looking it up a second time (`request_token_name`).
_BEARER_NAME_ATTR = "_arrears_bearer_name"


class BearerTokenAuth(HttpBearer):
    """A token is its own credential for a system: it needs no second factor."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        bearer = token_bearer(token)
        if bearer is None:
            return None
        request.user = bearer.user
        setattr(request, _BEARER_NAME_ATTR, bearer.token_name)
        return bearer.user


def request_token_name(request: HttpRequest) -> str | None:
    """The name of the bearer token that authenticated this request, if one did."""
    return getattr(request, _BEARER_NAME_ATTR, None)


class VerifiedSessionAuth(SessionAuth):
    """The page session, but only once it has entered any second factor it owes (the pages'
    SecondFactorMiddleware leaves /api/ to this check)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if second_factor_step(user=user, verified=session_is_verified(request)) is not None:
            return None
        return user


def ApiAuth() -> list[Any]:  # noqa: N802 - reads like a class where it is used
    return [BearerTokenAuth(), VerifiedSessionAuth()]
