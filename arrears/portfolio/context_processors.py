from __future__ import annotations

from django.http import HttpRequest

from arrears.portfolio.selectors import user_can_import


def navigation(request: HttpRequest) -> dict[str, bool]:
    """What the menu offers, on every page (including error pages)."""
    return {"can_import": user_can_import(request.user)}
