"""Full-text indexes for search (PostgreSQL only; SQLite searches with LIKE and needs none).

Each index expression is exactly what whatsapp/search.py's SearchVector compiles to, so the
planner can use it: change one, change the other (tests/test_search.py checks the plans).
The 'simple' configuration keeps names and numbers as typed, with no stemming or stop words.
Built CONCURRENTLY, so a deploy with millions of messages does not block the webhook's writes.
"""

from django.db import migrations

MESSAGE_VECTOR = """to_tsvector('simple'::regconfig, COALESCE("text", ''))"""
CONTACT_VECTOR = (
    """to_tsvector('simple'::regconfig, COALESCE("name", '') || ' ' || COALESCE("profile_name", '')"""
    """ || ' ' || COALESCE("notes", ''))"""
)


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that does nothing on other databases (the embedded SQLite demo)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("whatsapp", "0003_contacts"),
    ]

    operations = [
        PostgreSQLOnly(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS message_text_search ON whatsapp_message USING gin ({MESSAGE_VECTOR})",
            "DROP INDEX CONCURRENTLY IF EXISTS message_text_search",
        ),
        PostgreSQLOnly(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_text_search ON whatsapp_contact USING gin ({CONTACT_VECTOR})",
            "DROP INDEX CONCURRENTLY IF EXISTS contact_text_search",
        ),
    ]
