"""The four data classes with their defaults (five years); editable in the admin afterwards."""

from django.db import migrations


def seed(apps, schema_editor):
    from arrears.governance.services import retention_policy_defaults_ensure

    retention_policy_defaults_ensure()


def unseed(apps, schema_editor):
    apps.get_model("governance", "RetentionPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
