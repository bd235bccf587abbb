from django.db import migrations

# A template version is what a message said: its text never changes once saved (an edit is a
# new version), and its status only moves forward — a draft is approved or rejected, an
# approved version is retired when another is approved. Enforced in the database so that no
# path (admin, shell, a later service) can rewrite what debtors were sent.
IMMUTABLE = """
CREATE FUNCTION comms_templateversion_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.template_id, NEW.number, NEW.subject, NEW.body, NEW.provider_template_code,
        NEW.variables, NEW.created_at)
       IS DISTINCT FROM
       (OLD.template_id, OLD.number, OLD.subject, OLD.body, OLD.provider_template_code,
        OLD.variables, OLD.created_at) THEN
        RAISE EXCEPTION 'the text of a template version is never edited: save a new version';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT ((OLD.status = 'draft' AND NEW.status IN ('approved', 'rejected'))
                OR (OLD.status = 'approved' AND NEW.status = 'retired')) THEN
        RAISE EXCEPTION 'a template version cannot go from % to %', OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER comms_templateversion_immutable BEFORE UPDATE ON comms_templateversion
    FOR EACH ROW EXECUTE FUNCTION comms_templateversion_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("comms", "0003_leaner_message_indexes")]
    operations = [
        migrations.RunSQL(
            IMMUTABLE,
            "DROP TRIGGER comms_templateversion_immutable ON comms_templateversion;"
            " DROP FUNCTION comms_templateversion_immutable();",
        ),
    ]
