"""Each worker process says it is alive every BEAT_SECONDS: one row per process, upserted.
A worker silent for SILENT_AFTER is taken for dead (killed, out of memory, its machine gone),
and its row is deleted by the next beat of any worker after FORGET_AFTER; a worker that
stops cleanly deletes its own row at once."""

import os
import socket
from datetime import timedelta

from django.utils import timezone

from inbox.lengths import fit
from whatsapp.jobs.models import WorkerHeartbeat

BEAT_SECONDS = 5
SILENT_AFTER = timedelta(seconds=30)
FORGET_AFTER = timedelta(minutes=10)
ANY_QUEUE = "*"


def beat(worker_id, queues, threads, started_at, now=None):
    """Record that this process's worker is alive (one INSERT … ON CONFLICT), and forget
    workers silent for FORGET_AFTER."""
    now = now or timezone.now()
    row = WorkerHeartbeat(
        worker_id=worker_id,
        hostname=fit(WorkerHeartbeat, "hostname", socket.gethostname()),
        pid=os.getpid(),
        queues=list(queues),
        threads=threads,
        started_at=started_at,
        last_seen=now,
    )
    WorkerHeartbeat.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["hostname", "pid", "queues", "threads", "started_at", "last_seen"],
    )
    WorkerHeartbeat.objects.filter(last_seen__lt=now - FORGET_AFTER).delete()


def forget(worker_id):
    """The worker stops: it no longer takes anything."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_workers(now=None):
    return WorkerHeartbeat.objects.filter(last_seen__gte=(now or timezone.now()) - SILENT_AFTER)


def workers_per_queue(queue_names, now=None):
    """{queue name: live workers that take it} for each of `queue_names`."""
    counts = dict.fromkeys(queue_names, 0)
    for queues in live_workers(now).values_list("queues", flat=True):
        for name in queue_names:
            if name in queues or ANY_QUEUE in queues:
                counts[name] += 1
    return counts
