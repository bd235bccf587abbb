"""Login lockout page, second-factor set-up and verification, and the user's security page.

Thin on purpose: each view checks its input, calls one selector or service, and renders.
"""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from arrears.accounts.forms import SecondFactorCodeForm
from arrears.accounts.middleware import session_is_verified
from arrears.accounts.models import User
from arrears.accounts.selectors import login_locked_until, second_factor_device, second_factor_required
from arrears.accounts.services import totp_device_confirm, totp_devices_remove, totp_key_new

# The secret of a device being set up lives in the session until a code confirms it, so an
# abandoned set-up leaves nothing behind.
SETUP_KEY_SESSION_KEY = "arrears_totp_setup_key"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the login page saying the account is locked and until when."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return render(
        request,
        "core/login.html",
        {
            "form": AuthenticationForm(request),
            "next": request.POST.get("next", ""),
            "locked_until": login_locked_until(username=username),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return str(settings.LOGIN_REDIRECT_URL)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return str(image.to_string(encoding="unicode"))


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_setup_view(request: HttpRequest) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    if second_factor_device(user) is not None:
        return redirect("security")
    key = request.session.get(SETUP_KEY_SESSION_KEY) or totp_key_new()
    request.session[SETUP_KEY_SESSION_KEY] = key
    form = SecondFactorCodeForm(request.POST or None)
    if form.is_valid():
        device = totp_device_confirm(user=user, key=key, token=form.cleaned_data["code"])
        if device is not None:
            del request.session[SETUP_KEY_SESSION_KEY]
            django_otp.login(request, device)
            messages.success(request, _("两步验证已启用。"))
            return redirect(_next_url(request))
        form.add_error("code", _("验证码不正确，请重试。"))
    otpauth_uri = TOTPDevice(user=user, key=key).config_url
    return render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            "secret": b32encode(unhexlify(key)).decode(),
            "otpauth_uri": otpauth_uri,
            "qr_svg": _qr_svg(otpauth_uri),
            "required": second_factor_required(user),
            "next": _next_url(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_verify_view(request: HttpRequest) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    if session_is_verified(request):
        return redirect(_next_url(request))
    device = second_factor_device(user)
    if device is None:
        return redirect("second_factor_setup")
    form = SecondFactorCodeForm(request.POST or None)
    if form.is_valid():
        # django-otp throttles repeated wrong codes on the device itself.
        if device.verify_token(form.cleaned_data["code"]):
            django_otp.login(request, device)
            return redirect(_next_url(request))
        form.add_error("code", _("验证码不正确，请重试。"))
    return render(request, "accounts/second_factor_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_GET
def security_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/security.html",
        {"device": second_factor_device(user), "required": second_factor_required(user)},
    )


@login_required
@require_POST
def second_factor_disable_view(request: HttpRequest) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    if second_factor_required(user):
        messages.error(request, _("管理员必须使用两步验证，不能关闭。"))
        return redirect("security")
    totp_devices_remove(user=user, actor=user)
    messages.success(request, _("两步验证已关闭。"))
    return redirect("security")
