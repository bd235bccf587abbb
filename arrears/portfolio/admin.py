from django.contrib import admin

from arrears.portfolio.models import Bucket, BucketLadder, Creditor, Product


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "created_at")
    search_fields = ("code", "name")


class BucketInline(admin.TabularInline):
    model = Bucket
    extra = 0
    fields = ("code", "group", "min_dpd", "max_dpd")


@admin.register(BucketLadder)
class BucketLadderAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    inlines = [BucketInline]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "creditor",
        "kind",
        "ladder",
        "tolerance_fen",
        "due_date_shift",
        "case_open_dpd",
    )
    list_filter = ("creditor", "kind", "due_date_shift")
    search_fields = ("code", "name")
