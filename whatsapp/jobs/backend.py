"""The task backend: django-tasks-db's database queue, plus a wake-up call for workers.

Enqueuing sends `pg_notify(CHANNEL, queue name)` on the connection that inserts the task
row, so the notification leaves when that transaction commits (never for a task that rolls
back) and an idle `db_worker` (whatsapp/jobs/worker.py) starts at once instead of at its next
poll. On SQLite there is nothing to notify: workers poll.

Code that must enqueue inside one SQL statement of its own on PostgreSQL (the webhook's
store, one round trip per POST) takes the statement's part from `enqueue_each_sql` and
`enqueue_params`: the same row and the same notification as `enqueue`.

Nothing here imports models at module level: backends load while apps are still loading.
"""

from asgiref.sync import sync_to_async
from django.db import connections, router
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend

CHANNEL = "inbox_tasks"


def notify_workers(alias, db_task):
    """Wake a worker of the task's queue when the current transaction on `alias` commits. The
    payload is "<queue>:<task id>:<priority>": PostgreSQL folds identical notifications of a
    transaction into one, and each task should wake a thread of its own; a task above the
    default priority also wakes the workers' lane for such tasks (worker.py)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            payload = f"{db_task.queue_name}:{db_task.pk}:{db_task.priority}"
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


class NotifyingDatabaseBackend(DatabaseBackend):
    """django-tasks-db's DatabaseBackend whose enqueue also wakes the workers."""

    def _task_to_db_task(self, task, args, kwargs):
        db_task = super()._task_to_db_task(task, args, kwargs)
        # A task for later wakes nobody now (a thread would find nothing to claim): the
        # enqueuing worker's alarm (whatsapp/jobs/alarm.py) or the workers' poll takes it.
        if task.run_after is None or task.run_after <= timezone.now():
            notify_workers(db_task._state.db or router.db_for_write(type(db_task)), db_task)
        return db_task

    async def _atask_to_db_task(self, task, args, kwargs):
        db_task = await super()._atask_to_db_task(task, args, kwargs)
        # The async ORM ran the insert on the thread-sensitive executor: notify on its connection.
        await sync_to_async(notify_workers)(db_task._state.db or router.db_for_write(type(db_task)), db_task)
        return db_task

    def enqueue_each_sql(self, source, args, run_after=None):
        """PostgreSQL, for a WITH statement of the caller's: two more of its queries, to put
        after its own, that enqueue a task once for every row of `source` (a query of the same
        statement) and notify the workers of each when the `task_notify` parameter is true.
        `args` is an SQL expression over `source`'s columns giving the task's arguments as a
        jsonb array; `run_after`, one giving each task's time, if not the task's own. The
        statement's main query must read `notified` (PostgreSQL runs a query of a WITH only
        when something reads it), e.g. `(SELECT count(*) FROM notified)`. The parameters come
        from `enqueue_params`."""
        from django_tasks_db.models import DBTaskResult

        # The columns django-tasks-db's enqueue writes, as its model's defaults fill them:
        # enqueued_at is the clock's time, like auto_now_add, not the transaction's start
        # (now()), so tasks enqueued in one transaction keep their order for the workers.
        return f"""
            enqueued AS (
                INSERT INTO {DBTaskResult._meta.db_table}
                    (id, status, enqueued_at, args_kwargs, priority, task_path, worker_ids, queue_name,
                     backend_name, run_after, exception_class_path, traceback)
                SELECT gen_random_uuid(), 'READY', clock_timestamp(),
                       jsonb_build_object('args', {args}, 'kwargs', '{{}}'::jsonb),
                       %(task_priority)s, %(task_path)s, '[]', %(task_queue_name)s, %(task_backend)s,
                       {run_after or "%(task_run_after)s"}, '', ''
                FROM {source}
                RETURNING id, queue_name, priority
            ),
            notified AS (
                SELECT pg_notify(%(task_channel)s, queue_name || ':' || id || ':' || priority)
                FROM enqueued WHERE %(task_notify)s
            )
        """

    def enqueue_params(self, task, notify=True):
        """The parameters of `enqueue_each_sql` for `task` (with its priority, queue and
        run_after). Without `notify`, idle workers find the task at their next poll."""
        from django_tasks_db.models import get_date_max

        self.validate_task(task)
        return {
            "task_priority": task.priority,
            "task_path": task.module_path,
            "task_queue_name": task.queue_name,
            "task_backend": self.alias,
            "task_run_after": task.run_after or get_date_max(),
            "task_channel": CHANNEL,
            "task_notify": notify,
        }
