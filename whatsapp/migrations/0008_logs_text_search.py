"""A trigram index for the logs' text search (body LIKE '%wamid…%'), PostgreSQL only.

Without it, a search for a wamid or a number read the tenant's events newest first until
it found a page's worth: half a second at a million events. The embedded SQLite demo has no
pg_trgm and few events, so there both operations do nothing. Built CONCURRENTLY, so a deploy
with millions of events does not block the webhook's writes (it takes minutes there).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """The index in every database's migration state, but built only on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("whatsapp", "0007_message_authored_index"),
    ]

    operations = [
        TrigramExtension(),  # does nothing outside PostgreSQL
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="webhookevent",
            index=GinIndex(fields=["body"], opclasses=["gin_trgm_ops"], name="webhook_event_body_trigrams"),
        ),
    ]
