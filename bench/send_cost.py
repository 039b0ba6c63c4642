"""The CPU cost of sending one message, in this process: `python -m bench.send_cost [-n 400]`
(in bench/run's environment: PostgreSQL and Redis running, .venv/bin/python).

Queues N text messages over N/2 conversations, starts the fake Graph API (answering at once,
in a process of its own so its CPU does not count), then sends them:
1. by calling the send task's function directly, first to warm up, then timed
   (time.process_time and queries per send), then under cProfile;
2. through the worker's runner loop (send jobs claimed in batches, sent side by side, settled
   together), so the task backend's share shows too.
It prints ms CPU/send, queries/send, one send's SQL and the profile's top functions.
"""

import argparse
import cProfile
import io
import os
import pstats
import time

# Its own database, so a concurrent bench/run keeps inbox_bench (read by bench.setup at import).
os.environ.setdefault("BENCH_DATABASE", "inbox_send_cost")

from bench import outbound, procs, setup

PHONE_NUMBER_ID = "900000008"
WARM_UP = 20


class PhaseTimer:
    """CPU spent in each step of a send, by wrapping the module attributes the send calls."""

    STEPS = [
        ("claim", "whatsapp.sending.delivery", "claim_batch"),
        ("(throttle)", "whatsapp.cloud.throttle", "_places"),
        ("Graph API call", "whatsapp.cloud.api", "send_messages"),
        ("(call log)", "whatsapp.cloud.api", "_save_calls"),
        ("mark_sent", "whatsapp.sending.delivery", "mark_sent_batch"),
        ("(statuses)", "whatsapp.sending.delivery", "apply_statuses"),
        ("(hand-over)", "whatsapp.sending.delivery", "_hand_over_batch"),
        ("(render)", "whatsapp.realtime.events", "message_html"),
        ("(publish)", "whatsapp.realtime.events", "_send"),
    ]

    def __init__(self):
        self.spent = {label: 0.0 for label, _module, _name in self.STEPS}
        self.originals = []

    def __enter__(self):
        import importlib

        for label, module_name, path in self.STEPS:
            owner = importlib.import_module(module_name)
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            original = getattr(owner, name)
            self.originals.append((owner, name, original))
            setattr(owner, name, self._timed(label, original))
        return self

    def __exit__(self, *exc_info):
        for module, name, original in self.originals:
            setattr(module, name, original)

    def _timed(self, label, function):
        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] += time.process_time() - started

        return timed


class QueryCounter:
    """Counts the queries this connection runs (cheaper than capturing them)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.send_cost", description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=400)
    parser.add_argument("--top", type=int, default=30, help="profile lines to print")
    parser.add_argument("--keep-data", action="store_true", help="reuse the database instead of recreating it")
    parser.add_argument("--profile-worker", action="store_true", help="profile the runner loop too (its figures grow)")
    args = parser.parse_args()

    setup.fresh_database(keep=args.keep_data)
    processes = procs.Processes(setup.ENVIRONMENT)
    port = procs.free_port()
    fake_url = f"http://127.0.0.1:{port}"
    processes.spawn("fake-graph", "fake Graph API", ["-m", "whatsapp.simulator.fake_graph", "--port", str(port)])
    try:
        os.environ["WHATSAPP_GRAPH_URL"] = setup.ENVIRONMENT["WHATSAPP_GRAPH_URL"] = fake_url
        setup.django_setup()
        tenant = _tenant(fake_url)
        _direct(tenant, args.messages, args.top)
        _through_worker(tenant, args.messages, args.top if args.profile_worker else 0)
    finally:
        processes.stop()


def _tenant(fake_url):
    import httpx

    from tenants.models import Tenant

    slug = f"sendcost{int(time.time())}"
    Tenant.objects.filter(slug__startswith="sendcost").delete()
    tenant, secret = setup.make_tenant(slug, PHONE_NUMBER_ID, messages_per_second=1000)
    outbound._wait_for(fake_url)
    httpx.post(
        f"{fake_url}/_fake/numbers", json={"phone_number_id": PHONE_NUMBER_ID, "webhook_url": "", "app_secret": secret}
    ).raise_for_status()
    return tenant


def _in_sending_order(tenant, count, run):
    """Queued message ids, every conversation's first message before any second one, so
    each send is its conversation's turn (as the hand-over makes it in a worker)."""
    from whatsapp.models import Message

    ids = _queue_from_the_composer(tenant, count, run)
    turns = dict(Message.objects.filter(pk__in=ids).values_list("pk", "text"))
    return sorted(ids, key=lambda pk: (turns[pk], pk))


def _queue_from_the_composer(tenant, count, run):
    """bench/outbound's messages, written by a member as the composer's are (the author is
    shown in each message's HTML)."""
    from accounts.models import User
    from whatsapp.models import Message

    ids = outbound.queue_messages(tenant, count, run)
    Message.objects.filter(pk__in=ids).update(author=User.objects.get(email=f"owner@{tenant.slug}.bench"))
    return ids


def _direct(tenant, count, top):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from whatsapp.sending.delivery import send_message

    ids = _in_sending_order(tenant, count, run=1)
    warm, ids = ids[:WARM_UP], ids[WARM_UP:]
    for pk in warm:
        send_message.call(pk)

    timed, profiled = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    with CaptureQueriesContext(connection) as one_send:
        send_message.call(timed.pop(0))
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, began = time.process_time(), time.perf_counter()
        blocks = []  # CPU of each 10 sends: their median resists the other work on the machine
        for index, pk in enumerate(timed[:-50]):
            if index % 10 == 0:
                blocks.append(time.process_time())
            send_message.call(pk)
        cpu, wall = time.process_time() - started, time.perf_counter() - began
        blocks = sorted(after - before for before, after in zip(blocks, blocks[1:]))
    with PhaseTimer() as phases:
        for pk in timed[-50:]:
            send_message.call(pk)
    timed = timed[:-50]
    profile = cProfile.Profile(time.process_time)  # CPU, not the wait for PostgreSQL
    profile.runcall(lambda: [send_message.call(pk) for pk in profiled])

    _check_sent(warm + timed + profiled)
    print(f"direct calls of send_message ({len(timed)} timed sends)")
    print(
        f"  {cpu / len(timed) * 1000:.2f} ms CPU/send, {wall / len(timed) * 1000:.2f} ms wall/send, "
        f"{counter.count / len(timed):.1f} queries/send; median of blocks of 10: "
        f"{blocks[len(blocks) // 2] / 10 * 1000:.2f} ms CPU/send"
    )
    print(
        "  by step (50 sends; parts in brackets): "
        + ", ".join(f"{label} {spent / 50 * 1000:.2f} ms" for label, spent in phases.spent.items())
    )
    print(f"\none send's {len(one_send.captured_queries)} queries:")
    for query in one_send.captured_queries:
        print(f"  {query['sql'][:150]}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\nprofile of {len(profiled)} sends, by cumulative CPU time:")
    print("\n".join(out.getvalue().splitlines()[4:]))


def _through_worker(tenant, count, top=0):
    """The db_worker's runner loop (whatsapp/jobs/worker.py, which claims send jobs in
    batches) on this thread until no job is left: per message sent, its CPU and queries, the
    job rows' own (claim, result) and the sending threads' included."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from whatsapp.jobs.worker import ThreadedWorker

    DBTaskResult.objects.all().delete()  # the jobs the direct calls made redundant
    ids = _queue_from_the_composer(tenant, count, run=2)
    worker = ThreadedWorker(
        threads=1,
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="send-cost",
        excluded_queue_names=[],
    )
    counter = QueryCounter()
    profile = cProfile.Profile() if top else None
    with connection.execute_wrapper(counter):
        started, began = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        while worker._run_one():
            pass
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - started, time.perf_counter() - began
    _check_sent(ids)
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(top)
    print(f"\nthrough the worker's runner loop ({len(ids)} sends, {worker._finished_tasks} jobs)")
    print(
        f"  {cpu / len(ids) * 1000:.2f} ms CPU/send, {counter.count / len(ids):.1f} queries/send, "
        f"{len(ids) / wall:.0f} sends/s wall from one thread (the fake answering at once)"
    )


def _check_sent(ids):
    from whatsapp.models import Message

    unsent = Message.objects.filter(pk__in=ids).exclude(status="sent").count()
    if unsent:
        raise SystemExit(f"{unsent} of {len(ids)} messages were not sent: the figures are not comparable.")


if __name__ == "__main__":
    main()
