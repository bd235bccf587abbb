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


class DaySource(models.TextChoices):
    LIBRARY = "library", "chinesecalendar"
    WEEKEND = "weekend", "weekend rule"
    ADMIN = "admin", "admin"


class CalendarDay(models.Model):
    """One day of the working calendar (mainland China by default).

    `next_working_day` is this day if it is a working day, else the first working day after
    it; SQL joins on it to shift due dates without a loop. Years the holiday library does not
    know fall back to the weekend rule and say so in `source`.
    """

    day = models.DateField(primary_key=True)
    is_working = models.BooleanField()
    name = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=10, choices=DaySource.choices)
    next_working_day = models.DateField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.is_working else 'rest'}"
