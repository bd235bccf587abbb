"""The default bucket ladder from the domain page (seeds 000/003)."""

from django.db import migrations

DEFAULT_BUCKETS = [
    # code, group, min_dpd, max_dpd
    ("M0", "M0", 0, 0),
    ("M1-1", "M1", 1, 10),
    ("M1-2", "M1", 11, 20),
    ("M1-3", "M1", 21, 29),
    ("M2", "M2", 30, 59),
    ("M3", "M3", 60, 89),
    ("M4+", "M4+", 90, None),
]


def create_default_ladder(apps, schema_editor):
    BucketLadder = apps.get_model("portfolio", "BucketLadder")
    Bucket = apps.get_model("portfolio", "Bucket")
    ladder, _ = BucketLadder.objects.get_or_create(code="default", defaults={"name": "默认账龄 M0–M4+"})
    for code, group, min_dpd, max_dpd in DEFAULT_BUCKETS:
        Bucket.objects.get_or_create(
            ladder=ladder, code=code, defaults={"group": group, "min_dpd": min_dpd, "max_dpd": max_dpd}
        )


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0001_initial")]
    operations = [migrations.RunPython(create_default_ladder, migrations.RunPython.noop)]
