from django.contrib import admin

from arrears.cases.models import AssignmentRule


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    """Which team works which product's cases in which bucket group (the batch assigns by these)."""

    list_display = ("bucket_group", "product", "team")
    list_filter = ("bucket_group", "team")
