"""The shared kernel's one table: the event log every state change writes to."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    """An append-only record of a state change: who did what to which object, with details."""

    kind = models.CharField(max_length=60)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="event_subject_idx")]
