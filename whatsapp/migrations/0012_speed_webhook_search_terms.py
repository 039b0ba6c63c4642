"""The identifiers a webhook names (wamids, phone numbers and phone number ids), kept
with each event in a small jsonb array with a GIN index, for the logs' search.

A trigram index over the bodies made any text search instant but cost a quarter of the
webhook's ingest rate (bench/); this one is a short array per event, filled by a BEFORE
INSERT trigger from the body with one regular expression, whatever inserts the row (the
webhook's one statement, the ORM, COPY). PostgreSQL only: the embedded SQLite demo searches
the bodies with LIKE. Existing events get their terms here, once.
"""

from django.db import migrations, models


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that does nothing on other databases (the embedded SQLite demo)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# One pass of one regular expression: wamids, and quoted strings of 7 to 20 digits (phone
# numbers, phone number ids; Unix times too, harmless). Bounded repeats ({7,20}) and
# alternatives of keys made PostgreSQL's regex engine 5-20 times slower (~40 us a body this
# way, against ~110 us for computing a trigram index's entries).
TERMS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION whatsapp_webhook_terms(body text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(DISTINCT term), '[]'::jsonb) FROM (
        SELECT btrim(found[1], '"') AS term
        FROM regexp_matches(body, '(wamid\.[A-Za-z0-9_=+/.-]+|"[0-9]+")', 'g') AS found
    ) terms
    WHERE length(term) BETWEEN 7 AND 255 AND (left(term, 6) = 'wamid.' OR length(term) <= 20)
$$;
CREATE OR REPLACE FUNCTION whatsapp_webhook_terms_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_terms := whatsapp_webhook_terms(NEW.body);
    RETURN NEW;
END
$$;
CREATE TRIGGER webhook_event_search_terms BEFORE INSERT ON whatsapp_webhookevent
    FOR EACH ROW EXECUTE FUNCTION whatsapp_webhook_terms_on_insert();
UPDATE whatsapp_webhookevent SET search_terms = whatsapp_webhook_terms(body);
CREATE INDEX IF NOT EXISTS webhook_event_search_terms ON whatsapp_webhookevent USING gin (search_terms jsonb_path_ops);
"""

DROP = """
DROP INDEX IF EXISTS webhook_event_search_terms;
DROP TRIGGER IF EXISTS webhook_event_search_terms ON whatsapp_webhookevent;
DROP FUNCTION IF EXISTS whatsapp_webhook_terms_on_insert();
DROP FUNCTION IF EXISTS whatsapp_webhook_terms(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("whatsapp", "0011_worker_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookevent",
            name="search_terms",
            field=models.JSONField(
                blank=True,
                default=list,
                editable=False,
                help_text="The wamids and phone numbers (and ids) the body names, filled on insert, for the logs' search.",
            ),
        ),
        PostgreSQLOnly(TERMS_FUNCTION, DROP),
    ]
