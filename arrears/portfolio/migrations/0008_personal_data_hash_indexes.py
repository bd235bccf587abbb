"""Personal data at rest, step 3: uniqueness of a customer's contact point and the exact-lookup
indexes move to the blind-index columns."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0007_encrypt_personal_data"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="contactpoint",
            constraint=models.UniqueConstraint(
                fields=("customer", "kind", "owner_role", "value_hash"), name="contact_point_unique"
            ),
        ),
        migrations.AddIndex(
            model_name="contactpoint",
            index=models.Index(fields=["value_hash"], name="contact_point_value_hash_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["id_number_hash"], name="customer_id_number_hash_idx"),
        ),
    ]
