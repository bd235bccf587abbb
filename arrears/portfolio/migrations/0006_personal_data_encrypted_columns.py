"""Personal data at rest, step 1: ID numbers and contact values become encrypted text columns
with a blind-index companion (docs/security.md, "Personal data at rest"). The old plaintext
indexes and the contact point's uniqueness on the plaintext go; 0008 puts them on the hashes."""

from django.db import migrations

import arrears.core.fields


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0005_customer_protection"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="contactpoint", name="contact_point_unique"),
        migrations.RemoveIndex(model_name="contactpoint", name="contact_point_value_idx"),
        migrations.RemoveIndex(model_name="customer", name="customer_id_number_idx"),
        migrations.AlterField(
            model_name="customer",
            name="id_number",
            field=arrears.core.fields.EncryptedTextField(max_length=18),
        ),
        migrations.AlterField(
            model_name="contactpoint",
            name="value",
            field=arrears.core.fields.EncryptedTextField(max_length=300),
        ),
        migrations.AddField(
            model_name="customer",
            name="id_number_hash",
            field=arrears.core.fields.BlindIndexField(default="", source="id_number"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="contactpoint",
            name="value_hash",
            field=arrears.core.fields.BlindIndexField(default="", source="value"),
            preserve_default=False,
        ),
    ]
