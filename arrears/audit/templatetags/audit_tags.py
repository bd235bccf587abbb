"""Template helpers for the "show" action: whether to offer it at all (the views enforce it)."""

from __future__ import annotations

from typing import Any

from django import template

from arrears.audit.selectors import user_can_read_audit, user_can_unmask

register = template.Library()


@register.filter
def can_unmask(user: Any) -> bool:
    return user_can_unmask(user)


@register.filter
def can_read_audit(user: Any) -> bool:
    return user_can_read_audit(user)
