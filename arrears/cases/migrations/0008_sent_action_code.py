from django.db import migrations

from arrears.cases.action_codes import DEFAULT_ACTION_CODES


def load(apps, schema_editor):
    ActionCode = apps.get_model("cases", "ActionCode")
    for order, item in enumerate(DEFAULT_ACTION_CODES):
        ActionCode.objects.get_or_create(code=item.code, defaults={**item._asdict(), "sort_order": (order + 1) * 10})


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_queue_facts")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
