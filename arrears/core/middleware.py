"""Response headers every page carries."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.ARREARS_CONTENT_SECURITY_POLICY`` to every response that has none.

    Django's SecurityMiddleware sets the other security headers (nosniff, Referrer-Policy,
    Cross-Origin-Opener-Policy) and XFrameOptionsMiddleware sets X-Frame-Options; Django 5.2
    has no Content-Security-Policy of its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = settings.ARREARS_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
