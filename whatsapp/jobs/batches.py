"""Tasks whose jobs a worker runs many at once.

A task registers a function that runs the jobs of a batch together (`run(arguments)`: a list
of each job's args), the batch's size, and an SQL expression over the job's row naming the
group its jobs take turns by (a webhook event's tenant): a worker that claims one such job
claims up to `size` ready jobs of the task in one statement, ordered by priority and then by
turns, one group's oldest job after another's (whatsapp/jobs/worker.py `_claim_batch`). Each
job keeps its row: its claim, its end, and its recovery when a worker dies with it
(maintenance enqueues jobs left running again) are those of any job, so a batch's work must be
safe to run again, as every job's here is.

Nothing here imports models at module level: the registering modules load with the app.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Batching:
    run: Callable[[list], None]
    size: int
    group_sql: str


_registered = {}


def run_in_batches(task, run, size, group_sql):
    """Let workers run `task`'s jobs `size` at a time with `run` (see the module)."""
    _registered[task.module_path] = Batching(run=run, size=size, group_sql=group_sql)


def batching_for(task_path):
    return _registered.get(task_path)
