"""Is every task queue worked? Per queue: the jobs due now, how long the oldest of them has
waited, and how many live workers take it (whatsapp/jobs/heartbeat.py). /healthz reports it
(inbox/health.py) and the dashboard's connection panel says it in words."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, task_backends

from whatsapp.jobs import heartbeat

OK, STALLED, NO_WORKER = "ok", "stalled", "no worker"


@dataclass(frozen=True)
class QueueHealth:
    name: str
    ready: int  # jobs due now
    oldest_seconds: float  # how long the oldest of them has waited
    workers: int  # live workers that take the queue
    stall_seconds: float

    @property
    def state(self):
        """ "no worker" when no live worker takes the queue, "stalled" when its oldest ready
        job has waited longer than QUEUE_STALL_SECONDS, else "ok"."""
        if not self.workers:
            return NO_WORKER
        if self.oldest_seconds > self.stall_seconds:
            return STALLED
        return OK

    def as_json(self):
        return {
            "state": self.state,
            "ready": self.ready,
            "oldest_seconds": self.oldest_seconds,
            "workers": self.workers,
        }


def queue_health(now=None):
    """A QueueHealth for each queue of the task backend, and for any other queue with jobs
    due. Two queries, whatever the number of jobs or workers."""
    now = now or timezone.now()
    backlog = backlog_per_queue(now)
    names = sorted(task_backends[DEFAULT_TASK_BACKEND_ALIAS].queues | set(backlog))
    workers = heartbeat.workers_per_queue(names, now)
    return [
        QueueHealth(name, *backlog.get(name, (0, 0)), workers=workers[name], stall_seconds=settings.QUEUE_STALL_SECONDS)
        for name in names
    ]


def backlog_per_queue(now=None):
    """{queue name: (jobs due now, seconds the oldest of them has waited)}, for the queues
    that have any."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = now or timezone.now()
    # A job without run_after has the far-future sentinel there: it has waited since enqueued.
    due_since = Case(
        When(run_after=get_date_max(), then=F("enqueued_at")), default=Greatest(F("enqueued_at"), F("run_after"))
    )
    rows = DBTaskResult.objects.ready().values("queue_name").annotate(ready=Count("pk"), oldest=Min(due_since))
    return {
        row["queue_name"]: (row["ready"], round((now - row["oldest"]).total_seconds(), 1))
        for row in rows.order_by("queue_name")
    }
