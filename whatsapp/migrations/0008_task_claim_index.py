"""An index for the worker's claim of one queue's next job (django-tasks-db's table).

Their claim (`status = 'READY' AND queue_name IN (…) AND backend_name = … ORDER BY priority
DESC, run_after, enqueued_at LIMIT 1 FOR UPDATE SKIP LOCKED`) has their ordering index, which
does not name the queue, and one index per column. When the table's statistics are older than
a burst of webhooks (a new deployment, or before autovacuum's next analyze), PostgreSQL
estimated one row per queue and chose the column indexes and a sort of every waiting job:
73 ms a claim with 30,000 waiting, ~245 ms with 111,000, so a worker drained 3.7 events/s
(bench/). With the queue first and their ordering after it, the claim of one queue reads one
index entry whatever the statistics say (0.07 ms). SQLite takes the same index.
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"


class Migration(migrations.Migration):
    dependencies = [
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
        ("whatsapp", "0007_message_authored_index"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS task_ready_by_queue ON {TABLE} "
            "(queue_name, backend_name, priority DESC, run_after, enqueued_at) WHERE status = 'READY'",
            "DROP INDEX IF EXISTS task_ready_by_queue",
        ),
    ]
