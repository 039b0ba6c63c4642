"""Tasks the worker fault tests enqueue; the worker subprocesses import them by path."""

import time

from django.db import connection
from django_tasks import task


@task()
def record(log_path, name, seconds=0, in_database=False):
    """Write `start <name>` and `end <name>` lines to `log_path`, `seconds` apart: asleep in
    this process, or `in_database`, in a query (which a database outage cuts off)."""
    with open(log_path, "a") as log:
        log.write(f"start {name}\n")
    if in_database:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
    else:
        time.sleep(seconds)
    with open(log_path, "a") as log:
        log.write(f"end {name}\n")


def runs(log_path):
    """{name: [lines]} from the log: ["start", "end"] for a task that ran once."""
    lines = {}
    for line in log_path.read_text().splitlines() if log_path.exists() else []:
        edge, name = line.split()
        lines.setdefault(name, []).append(edge)
    return lines
