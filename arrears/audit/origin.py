"""Who and where a request comes from, as the audit trail records it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from arrears.accounts.auth import request_token_name
from arrears.accounts.models import User
from arrears.accounts.selectors import api_token_name

_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"


@dataclass(frozen=True)
class Origin:
    actor: User | None
    actor_name: str
    ip: str | None
    request_id: str


def client_ip(meta: dict[str, str], *, trust_forwarded_for: bool) -> str | None:
    """REMOTE_ADDR; or, behind a trusted proxy, the first hop of X-Forwarded-For.

    The header is client-controlled unless a proxy we run overwrites it, so it is read only
    when the deployment says so. Anything that is not an IP address is dropped, not stored.
    """
    candidate = meta.get("REMOTE_ADDR", "")
    if trust_forwarded_for and meta.get("HTTP_X_FORWARDED_FOR"):
        candidate = meta["HTTP_X_FORWARDED_FOR"].split(",")[0]
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None


def _bearer_secret(request: HttpRequest) -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def request_origin(request: HttpRequest, *, user: User | None = None) -> Origin:
    """The actor (`user`, else the request's authenticated user) with the address and request id.

    An API call with a bearer token is named after the token ("token:<name>"): the token, not
    the person, is who called. The API's authentication hands the name over; other requests
    carrying a token (a page's form posted with one) look it up.
    """
    actor = user
    if actor is None and isinstance(getattr(request, "user", None), User) and request.user.is_authenticated:
        actor = request.user
    actor_name = actor.get_username() if actor is not None else ""
    token = request_token_name(request)
    if token is None and (secret := _bearer_secret(request)) is not None:
        token = api_token_name(secret)
    if token is not None:
        actor_name = f"token:{token}"
    return Origin(
        actor=actor,
        actor_name=actor_name,
        ip=client_ip(request.META, trust_forwarded_for=settings.ARREARS_TRUST_X_FORWARDED_FOR),
        request_id=request.META.get(_REQUEST_ID_HEADER, "")[:64],
    )
