"""The task backend: django-tasks-db's database queue, plus a wake-up call for workers.

Enqueuing sends `pg_notify(CHANNEL, queue name)` on the connection that inserts the task
row, so the notification leaves when that transaction commits (never for a task that rolls
back) and an idle `db_worker` (whatsapp/jobs/worker.py) starts at once instead of at its next
poll. The webhook fast path (webhook_asgi.py) writes its task row with SQL and notifies the
same way for events with customers' messages. On SQLite there is nothing to notify: workers
poll.

Nothing here imports models at module level: backends load while apps are still loading.
"""

from asgiref.sync import sync_to_async
from django.db import connections, router
from django_tasks_db.backend import DatabaseBackend

CHANNEL = "inbox_tasks"


def notify_workers(alias, db_task):
    """Wake a worker of the task's queue when the current transaction on `alias` commits. The
    payload is "<queue>:<task id>": PostgreSQL folds identical notifications of a transaction
    into one, and each task should wake a thread of its own."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{db_task.queue_name}:{db_task.pk}"])


class NotifyingDatabaseBackend(DatabaseBackend):
    """django-tasks-db's DatabaseBackend whose enqueue also wakes the workers."""

    def _task_to_db_task(self, task, args, kwargs):
        db_task = super()._task_to_db_task(task, args, kwargs)
        notify_workers(db_task._state.db or router.db_for_write(type(db_task)), db_task)
        return db_task

    async def _atask_to_db_task(self, task, args, kwargs):
        db_task = await super()._atask_to_db_task(task, args, kwargs)
        # The async ORM ran the insert on the thread-sensitive executor: notify on its connection.
        await sync_to_async(notify_workers)(db_task._state.db or router.db_for_write(type(db_task)), db_task)
        return db_task
