"""API authentication: ``Authorization: Bearer <token>`` for systems, the session for pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from arrears.accounts.selectors import user_for_token


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        return user


def ApiAuth() -> list[Any]:  # noqa: N802 - reads like a class where it is used
    return [BearerTokenAuth(), django_auth]
