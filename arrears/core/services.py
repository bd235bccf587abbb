from __future__ import annotations

from typing import Any

from django.db import models

from arrears.core.models import Event


def event_record(
    *, kind: str, subject: models.Model | None = None, actor: Any = None, data: dict[str, Any] | None = None
) -> Event:
    """Write one event row; call it inside the transaction that made the change."""
    return Event.objects.create(
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=subject.pk if subject is not None else None,
        data=data or {},
    )
