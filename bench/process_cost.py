"""The CPU cost of processing stored webhooks, in this process: `python -m bench.process_cost
[-n 3000]` (in bench/run's environment: PostgreSQL and Redis running, .venv/bin/python).

Stores N bodies of the bench's mix (bench/load.py `realistic_bodies`: single statuses,
customers' messages, batches of statuses, mixed batches, resends) as the webhook endpoint
does, each with its processing job, then runs the `db_worker` runner loop (queue `webhooks`)
on this thread until no job is left. It prints the process's CPU time and the
queries per event (this process only: PostgreSQL's own CPU is not in it), so the figure holds
on a machine other work shares.
"""

import argparse
import os
import time

# Its own database, so a concurrent bench/run keeps inbox_bench (read by bench.setup at import).
os.environ.setdefault("BENCH_DATABASE", "inbox_process_cost")

from bench import load, setup
from bench.send_cost import QueryCounter


def store_bodies(tenant_id, secret, bodies):
    """Store each body as the endpoint does (signature checked, body and job in one statement)."""
    import hashlib
    import hmac

    from whatsapp.webhook import ingest, storage

    for body in bodies:
        header = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        storage.store(tenant_id, body, ingest.Received.read(secret, body, header))


def runner(queue_name, worker_id):
    """A db_worker of one thread over `queue_name`, to run with `_run_one()` on this thread."""
    from whatsapp.jobs.worker import ThreadedWorker

    return ThreadedWorker(
        threads=1,
        queue_names=[queue_name],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def process_all(worker_id):
    worker = runner("webhooks", worker_id)
    while worker._run_one():  # the runner threads' loop, on this thread's connection
        pass


def customer_bodies(count, seed=3):
    """Customers' text messages only, each from a customer of their own (a campaign's replies)."""
    import random

    from whatsapp.simulator import payloads

    rng = random.Random(seed)
    return [
        payloads.encode(payloads.text_message(load.PHONE_NUMBER_ID, f"1556{rng.randrange(10**7):07d}", f"Reply {n}"))
        for n in range(count)
    ]


KINDS = {
    "mix": load.realistic_bodies,
    "statuses": load.status_bodies,
    "messages": customer_bodies,
}


def measure(events, slug_prefix="processcost", kind="mix"):
    """Store `events` bodies of `kind` (KINDS: the bench's mix by default) for a tenant of
    their own, process them in this thread, and return the CPU and queries per event."""
    from django.db import connection

    from tenants.models import Tenant
    from whatsapp.models import WebhookEvent

    Tenant.objects.filter(slug__startswith=slug_prefix).delete()
    tenant, secret = setup.make_tenant(f"{slug_prefix}{int(time.time())}", load.PHONE_NUMBER_ID)
    store_bodies(tenant.pk, secret, load.realistic_bodies(50, seed=7))
    process_all(f"{slug_prefix}-warm")
    store_bodies(tenant.pk, secret, KINDS[kind](events, seed=int(time.time())))
    pending = WebhookEvent.objects.filter(tenant=tenant, state="pending")
    count = pending.count()
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, began = time.process_time(), time.perf_counter()
        process_all(slug_prefix)
        cpu, wall = time.process_time() - started, time.perf_counter() - began
    if pending.exists():
        raise RuntimeError(f"{pending.count()} of {count} events were left pending: the figures are not comparable.")
    return {
        "events": count,
        "cpu_ms_per_event": round(1000 * cpu / count, 2),
        "queries_per_event": round(counter.count / count, 2),
        "events_per_second_wall": round(count / wall),
    }


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.process_cost", description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--events", type=int, default=3000)
    parser.add_argument("--kind", choices=sorted(KINDS), default="mix", help="the bodies: the bench's mix (default)")
    parser.add_argument("--keep-data", action="store_true", help="reuse the database instead of recreating it")
    args = parser.parse_args()

    setup.fresh_database(keep=args.keep_data)
    setup.django_setup()
    result = measure(args.events, kind=args.kind)
    print(
        f"{result['events']} events ({args.kind}): {result['cpu_ms_per_event']:.2f} ms CPU/event, "
        f"{result['queries_per_event']:.2f} queries/event (this thread's), "
        f"{result['events_per_second_wall']} events/s wall on this machine"
    )


if __name__ == "__main__":
    main()
