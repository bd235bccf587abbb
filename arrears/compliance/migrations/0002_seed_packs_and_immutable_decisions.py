from django.db import migrations

from arrears.compliance.packs import PACKS, params_as_json

# A decision is evidence: once written, no column of it may change. Deleting is left to
# the retention job; nulling the case/contact-point link when those are purged is allowed.
IMMUTABLE = """
CREATE FUNCTION compliance_decision_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.channel, NEW.at, NEW.purpose, NEW.allowed, NEW.next_allowed_at,
        NEW.packs, NEW.inputs, NEW.result, NEW.created_at)
       IS DISTINCT FROM
       (OLD.channel, OLD.at, OLD.purpose, OLD.allowed, OLD.next_allowed_at,
        OLD.packs, OLD.inputs, OLD.result, OLD.created_at)
       OR (NEW.case_id IS NOT NULL AND NEW.case_id IS DISTINCT FROM OLD.case_id)
       OR (NEW.contact_point_id IS NOT NULL AND NEW.contact_point_id IS DISTINCT FROM OLD.contact_point_id)
    THEN
        RAISE EXCEPTION 'compliance decisions are never edited';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER compliance_decision_immutable BEFORE UPDATE ON compliance_decision
    FOR EACH ROW EXECUTE FUNCTION compliance_decision_immutable();
"""


def seed(apps, schema_editor):
    PolicyPackVersion = apps.get_model("compliance", "PolicyPackVersion")
    for pack in PACKS.values():
        PolicyPackVersion.objects.get_or_create(
            pack=pack.id,
            version=pack.version,
            defaults={"params": params_as_json(pack.params), "note": "catalogue defaults"},
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunSQL(
            IMMUTABLE,
            "DROP TRIGGER compliance_decision_immutable ON compliance_decision;"
            " DROP FUNCTION compliance_decision_immutable();",
        ),
    ]
