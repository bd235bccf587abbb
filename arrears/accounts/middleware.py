"""The second factor: a session that still owes one sees no page but the one that asks for it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

from arrears.accounts.selectors import SecondFactorStep, second_factor_required, second_factor_step

# Holds the session's key once that session is known to owe no second factor (no device, not
# required), so ordinary users' requests cost no query. Logging in changes the session key, so
# a device added meanwhile counts from the next login.
NO_SECOND_FACTOR_SESSION_KEY = "arrears_no_second_factor"
STEP_URL_NAMES = {
    SecondFactorStep.SETUP: "second_factor_setup",
    SecondFactorStep.VERIFY: "second_factor_verify",
}
# Pages an unverified session may still open: the second-factor pages themselves, logging
# out, switching language, static files. The API authenticates on its own (accounts.auth):
# bearer tokens need no second factor, sessions that owe one are refused there.
OPEN_URL_NAMES = ("second_factor_setup", "second_factor_verify", "logout", "login", "set_language")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        step = self._step_owed(request)
        if step is not None and not self._is_open(request):
            target = reverse(STEP_URL_NAMES[step])
            return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _step_owed(self, request: HttpRequest) -> SecondFactorStep | None:
        user = request.user
        if not user.is_authenticated:
            return None
        session_key = request.session.session_key
        required = second_factor_required(user)
        if not required and session_key and request.session.get(NO_SECOND_FACTOR_SESSION_KEY) == session_key:
            return None
        step = second_factor_step(user=user, verified=session_is_verified(request))
        if step is None and not required:
            request.session[NO_SECOND_FACTOR_SESSION_KEY] = session_key
        return step

    @staticmethod
    def _is_open(request: HttpRequest) -> bool:
        path = request.path_info
        if path.startswith(("/api/", "/" + settings.STATIC_URL.lstrip("/"))):
            return True
        return any(path == reverse(name) for name in OPEN_URL_NAMES)


def session_is_verified(request: HttpRequest) -> bool:
    """Whether this session entered a second-factor code (django-otp's OTPMiddleware)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())
