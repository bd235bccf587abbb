from django.contrib import admin

from arrears.core.models import CalendarDay


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Read-only here: editing working days (and relinking next working days) comes with the compliance work."""

    list_display = ("day", "is_working", "name", "source", "next_working_day")
    list_filter = ("is_working", "source")
    date_hierarchy = "day"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
