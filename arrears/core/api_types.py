"""Field types shared by the JSON API's schemas.

PostgreSQL text cannot hold a NUL character: a query or body string carrying one would reach
the database and fail there (a 500). The API refuses it up front as invalid input (422).
Django's forms do the same for the pages (``ProhibitNullCharactersValidator``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


ApiText = Annotated[str, AfterValidator(_without_nul)]
