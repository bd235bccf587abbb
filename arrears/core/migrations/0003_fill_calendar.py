from django.db import migrations


def fill(apps, schema_editor):
    from arrears.core.services import calendar_fill

    calendar_fill()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_calendarday")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
