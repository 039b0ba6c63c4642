"""Tasks the worker tests enqueue: the worker subprocess imports them by path."""

import time

from django_tasks import task


@task()
def nap(log_path, name, seconds):
    """Write when it starts and ends to `log_path`, sleeping `seconds` in between."""
    with open(log_path, "a") as log:
        log.write(f"start {name} {time.time()}\n")
    time.sleep(seconds)  # the work: a task that takes time, to see tasks overlap or finish on SIGTERM
    with open(log_path, "a") as log:
        log.write(f"end {name} {time.time()}\n")


@task()
def delete_own_row():
    """Deletes the job's own row while it runs, as a purge or a person might."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=delete_own_row.module_path).delete()
