"""API shapes of portfolio objects that other apps' APIs show too (a case shows its customer's
contact points); one definition, so the masking rule cannot drift between endpoints."""

from __future__ import annotations

import datetime as dt

from ninja import Schema

from arrears.core.masking import mask_value
from arrears.portfolio.models import ContactPoint


class ContactPointOut(Schema):
    id: int
    kind: str
    owner_role: str
    owner_name: str
    label: str
    value_masked: str
    is_valid: bool
    do_not_contact: bool
    do_not_contact_reason: str
    do_not_contact_since: dt.date | None


def contact_point_out(point: ContactPoint) -> ContactPointOut:
    return ContactPointOut(
        id=point.pk,
        kind=point.kind,
        owner_role=point.owner_role,
        owner_name=point.owner_name,
        label=point.label,
        value_masked=mask_value(point.kind, point.value),
        is_valid=point.is_valid,
        do_not_contact=point.do_not_contact,
        do_not_contact_reason=point.do_not_contact_reason,
        do_not_contact_since=point.do_not_contact_since,
    )
