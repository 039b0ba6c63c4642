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


def process_all(worker_id):
    from whatsapp.jobs.worker import ThreadedWorker

    worker = ThreadedWorker(
        threads=1,
        queue_names=["webhooks"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    while worker._run_one():  # the runner threads' loop, on this thread's connection
        pass


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.process_cost", description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--events", type=int, default=3000)
    parser.add_argument("--keep-data", action="store_true", help="reuse the database instead of recreating it")
    args = parser.parse_args()

    setup.fresh_database(keep=args.keep_data)
    setup.django_setup()
    from django.db import connection

    from tenants.models import Tenant
    from whatsapp.models import Message, StatusUpdate, WebhookEvent

    slug = f"processcost{int(time.time())}"
    Tenant.objects.filter(slug__startswith="processcost").delete()
    tenant, secret = setup.make_tenant(slug, load.PHONE_NUMBER_ID)
    warm = load.realistic_bodies(50, seed=7)
    store_bodies(tenant.pk, secret, warm)
    process_all("process-cost-warm")

    bodies = load.realistic_bodies(args.events, seed=int(time.time()))
    store_bodies(tenant.pk, secret, bodies)
    events = WebhookEvent.objects.filter(tenant=tenant, state="pending").count()
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, began = time.process_time(), time.perf_counter()
        process_all("process-cost")
        cpu, wall = time.process_time() - started, time.perf_counter() - began
    left = WebhookEvent.objects.filter(tenant=tenant, state="pending").count()
    if left:
        raise SystemExit(f"{left} of {events} events were left pending: the figures are not comparable.")
    print(
        f"{events} events ({StatusUpdate.objects.filter(tenant=tenant).count()} statuses, "
        f"{Message.objects.filter(tenant=tenant).count()} messages stored in all)"
    )
    print(
        f"  {cpu / events * 1000:.2f} ms CPU/event, {counter.count / events:.2f} queries/event "
        f"(this thread's), {events / wall:.0f} events/s wall on this machine"
    )


if __name__ == "__main__":
    main()
