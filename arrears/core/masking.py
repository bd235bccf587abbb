"""Masked forms of personal data, shown by default on pages and in the API."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """``110105********1237``: region code and last four only."""
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_phone(value: str) -> str:
    """``138****5678`` for mobiles; landlines keep the area code and last four (``010-****5678``)."""
    if "-" in value:
        area, _, number = value.partition("-")
        return f"{area}-{'*' * max(len(number) - 4, 0)}{number[-4:]}"
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_address(value: str) -> str:
    """Keep the first six characters (province/city), hide the street and number."""
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_value(kind: str, value: str) -> str:
    if kind == "email":
        return mask_email(value)
    if kind == "address":
        return mask_address(value)
    return mask_phone(value)
