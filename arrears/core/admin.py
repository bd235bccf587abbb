from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.core.models import CalendarDay
from arrears.core.selectors import calendar_years_needing_holidays
from arrears.core.services import calendar_day_set


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Admins correct single days (working or not, holiday name); the service relinks the next
    working days and records the change. Days are never added or deleted here: the calendar
    covers 2000–2060 from the library and the weekend rule."""

    list_display = ("day", "is_working", "name", "source", "next_working_day")
    list_filter = ("is_working", "source")
    date_hierarchy = "day"
    fields = ("day", "is_working", "name", "source", "next_working_day")
    readonly_fields = ("day", "source", "next_working_day")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        calendar_day_set(day=obj.day, is_working=obj.is_working, name=obj.name, actor=request.user)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        for year in calendar_years_needing_holidays(today=timezone.localdate()):
            messages.warning(
                request,
                _(
                    "节假日库没有 {year} 年的数据：该年目前只按周末计算，请在此录入法定节假日和调休上班日。"
                ).format(year=year),
            )
        return super().changelist_view(request, extra_context)
