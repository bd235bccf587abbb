"""The default bucket ladder from the domain page (seeds 000/003)."""

from django.db import migrations

from arrears.portfolio.ladders import DEFAULT_BUCKETS, DEFAULT_LADDER_CODE, DEFAULT_LADDER_NAME


def create_default_ladder(apps, schema_editor):
    BucketLadder = apps.get_model("portfolio", "BucketLadder")
    Bucket = apps.get_model("portfolio", "Bucket")
    ladder, _ = BucketLadder.objects.get_or_create(
        code=DEFAULT_LADDER_CODE, defaults={"name": DEFAULT_LADDER_NAME}
    )
    for code, group, min_dpd, max_dpd in DEFAULT_BUCKETS:
        Bucket.objects.get_or_create(
            ladder=ladder, code=code, defaults={"group": group, "min_dpd": min_dpd, "max_dpd": max_dpd}
        )


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0001_initial")]
    operations = [migrations.RunPython(create_default_ladder, migrations.RunPython.noop)]
