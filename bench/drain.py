"""The backlog drain (issue 16's processing target): a burst of webhooks of the bench's mix
(bench/load.py `realistic_bodies`, what the ingest runs post) is stored as the endpoint stores
it, with the web server idle, and ONE `webhooks` worker process, started beforehand and idle,
drains the whole burst. Reported: events per second from the first claim to the last job's
end, the worker's CPU per event and PostgreSQL's (its backends for the bench's database, read
from /proc), both from the moment the burst is committed to the drain's end.

The burst is stored in one transaction, so the worker finds all of it at once (the
customers' messages' notifications and its poll wake it), as it would after an outage or a
campaign's replies arriving faster than it drains; a worker already running, as in
production, so its start-up is not counted."""

import time

import psycopg

from bench import load
from bench.procs import WEBHOOK_WORKER_THREADS, cpu_seconds
from bench.setup import database_dsn, make_tenant

DRAIN_TIMEOUT_SECONDS = 600
TARGET_EVENTS_PER_SECOND = 1000
PENDING_SQL = "SELECT count(*) FROM whatsapp_webhookevent WHERE tenant_id = %s AND state = 'pending'"
BACKENDS_SQL = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def run(processes, mode, threads_list=None):
    """One drain per thread count (the default configuration's first); returns their figures."""
    threads_list = threads_list or mode.get("drain_threads") or [WEBHOOK_WORKER_THREADS]
    runs = [drain(processes, mode["drain_events"], threads) for threads in threads_list]
    return {"events": mode["drain_events"], "default_threads": WEBHOOK_WORKER_THREADS, "runs": runs}


def drain(processes, events, threads):
    from django_tasks_db.models import DBTaskResult

    from bench.ingest import vacuum
    from tenants.models import Tenant
    from whatsapp.models import WebhookEvent

    slug = f"drain-{threads}t"
    Tenant.objects.filter(slug=slug).delete()  # a run with --keep-data
    tenant, secret = make_tenant(slug, load.PHONE_NUMBER_ID)
    bodies = load.realistic_bodies(events, seed=16)
    vacuum(DBTaskResult._meta.db_table)
    name = f"drain-worker-{threads}"
    worker = processes.worker(name, queues="webhooks", threads=threads)
    try:
        _wait_until_ready(name, worker)
        with psycopg.connect(database_dsn(), autocommit=True) as database:
            stored_in, since = _store(tenant, secret, bodies)
            backends = Backends(database)
            worker_cpu = cpu_seconds(worker.pid)
            deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
            while (left := database.execute(PENDING_SQL, (tenant.pk,)).fetchone()[0]) and time.monotonic() < deadline:
                backends.sample()
                time.sleep(0.1)
            backends.sample()
            worker_cpu = cpu_seconds(worker.pid) - worker_cpu
    finally:
        processes.stop(name)
    out = {"threads": threads, "stored_seconds": stored_in, "left": left} | _span(tenant, since)
    done = max(1, out["drained"])
    out["worker_cpu_ms_per_event"] = round(1000 * worker_cpu / done, 2)
    out["postgres_cpu_ms_per_event"] = round(1000 * backends.seconds() / done, 2)
    events_of = WebhookEvent.objects.filter(tenant=tenant)
    out["with_messages"] = events_of.filter(item_counts__has_key="messages").count()
    out["failed"] = events_of.filter(state="failed").count()
    out["met"] = out["events_per_second"] >= TARGET_EVENTS_PER_SECOND and not left and not out["failed"]
    print(f"  drain, 1 worker process × {threads} thread(s): {out}", flush=True)
    return out


def _wait_until_ready(name, worker, timeout=30):
    """Until the worker's heartbeat is recorded (its threads start right after), and a second."""
    from whatsapp.jobs.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while not WorkerHeartbeat.objects.filter(worker_id=name).exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"The drain's worker did not start (exit code {worker.poll()}).")
        time.sleep(0.1)
    time.sleep(1)


def _store(tenant, secret, bodies):
    """Store the bodies as the endpoint does, in one transaction; returns the seconds it took
    and the time of its commit (every job is enqueued after that)."""
    from django.db import transaction
    from django.utils import timezone

    from bench.process_cost import store_bodies

    started = time.monotonic()
    since = timezone.now()
    with transaction.atomic():
        store_bodies(tenant.pk, secret, bodies)
    return round(time.monotonic() - started, 1), since


def _span(tenant, since):
    """The burst's jobs: how many ran, from the first claim to the last end."""
    from django.db.models import Count, Max, Min
    from django_tasks_db.models import DBTaskResult

    jobs = DBTaskResult.objects.filter(queue_name="webhooks", enqueued_at__gte=since, status="SUCCESSFUL")
    span = jobs.aggregate(first=Min("started_at"), last=Max("finished_at"), n=Count("id"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["n"] else 0
    return {
        "drained": span["n"],
        "seconds": round(seconds, 1),
        "events_per_second": round(span["n"] / seconds, 1) if seconds else 0,
    }


class Backends:
    """The CPU time PostgreSQL's backends for the bench's database used since the first
    sample (a backend that connects later counts from its start; one that ends counts up to
    its last sample)."""

    def __init__(self, database):
        self.database = database
        self.first, self.last = {}, {}
        self.sample(starting=True)

    def sample(self, starting=False):
        for (pid,) in self.database.execute(BACKENDS_SQL).fetchall():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                self.first.setdefault(pid, seconds if starting else 0.0)
                self.last[pid] = seconds

    def seconds(self):
        return sum(self.last[pid] - self.first[pid] for pid in self.last)
