"""`manage.py db_worker`: django-tasks-db's command, with `--threads`, the NOTIFY wake-up
of whatsapp/jobs/worker.py, and every queue by default. It takes the place of theirs because
`whatsapp` comes before `django_tasks_db` in INSTALLED_APPS; every option of theirs works as
before, and `--queue-name` narrows the worker to some queues instead of widening it."""

import os
from argparse import ArgumentTypeError

from django.conf import settings
from django.db import connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.compat import task_backends
from django_tasks_db.management.commands import db_worker

from whatsapp.jobs.worker import DEFAULT_THREADS, ThreadedWorker


def valid_threads(value):
    threads = int(value)
    if threads < 1:
        raise ArgumentTypeError("Must be 1 or more")
    return threads


class Command(db_worker.Command):
    help = (
        "Run a database background worker: every queue unless --queue-name narrows it, --threads "
        "loops in one process, woken by NOTIFY on PostgreSQL"
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # "resolve": --queue-name is declared again below, with another default.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--queue-name",
            nargs="?",
            default=None,
            type=str,
            help="The queues to process, separated by commas, or '*' for any queue "
            "(default: every queue of the backend's QUEUES setting)",
        )
        parser.add_argument(
            "--threads",
            type=valid_threads,
            default=DEFAULT_THREADS,
            help="Tasks run at once by this process, each on its own database connection (default: %(default)r)",
        )

    def handle(self, *, verbosity, queue_name, exclude_queues, reload, batch, threads, **options):
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",") if queue_name else every_queue(options["backend_name"])
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise db_worker.CommandError("--exclude-queues can only be used with --queue-name=*")
        if settings.DATABASE_POOLER == "pgbouncer-transaction":
            raise db_worker.CommandError(
                "A worker cannot run behind PgBouncer in transaction mode: it LISTENs for new tasks, "
                "which needs a session of its own. Point its DATABASE_URL at a session-mode pool and set "
                "DATABASE_POOLER=pgbouncer-session (docs/deploying.md, PgBouncer)."
            )
        _connect_per_thread()
        worker = ThreadedWorker(
            threads=threads,
            queue_names=queue_names,
            excluded_queue_names=excluded,
            batch=batch,
            interval=options["interval"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the reloader's child runs tasks
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()


def every_queue(backend_name):
    """The queues the backend accepts tasks for (settings.TASKS' QUEUES); any queue when
    that list is empty."""
    return sorted(task_backends[backend_name].queues) or ["*"]


def _connect_per_thread():
    """On PostgreSQL each of the worker's threads keeps a connection of its own, checked
    before each task, instead of sharing Django's pool: the threads are few and fixed, each
    holds its connection while it runs a task, and after a database outage a thread
    reconnects as soon as the database answers, where the pool would wait out its own
    reconnection backoff. An unreachable server fails a connection in seconds, not minutes."""
    from django_tasks_db.models import DBTaskResult

    connection = connections[DBTaskResult.objects.db]
    if connection.vendor != "postgresql":
        return
    settings_dict = connection.settings_dict
    if settings_dict["OPTIONS"].get("pool"):
        connection.close()
        connection.close_pool()  # made before this point (checks)
        del settings_dict["OPTIONS"]["pool"]
    settings_dict["CONN_MAX_AGE"] = None
    settings_dict["CONN_HEALTH_CHECKS"] = True
    for name, value in CONNECTION_OPTIONS.items():
        settings_dict["OPTIONS"].setdefault(name, value)


# libpq's: give up connecting after 10 s; find a dead server (a failover) within a minute.
CONNECTION_OPTIONS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
