"""(d) Outbound: queued messages sent to the fake Graph API answering each send in 100 ms by
worker processes (send jobs claimed in batches, sent side by side): over 4 numbers whose
throughput setting is 1,000/s (the issue's target: 300 msg/s from one process, 2 ms of worker
CPU per message), and over one number at the default 80/s (the rate holds and no second
sees more). Every message must be sent exactly once, in order per conversation (checked by
biz_opaque_callback_data at the fake)."""

import collections
import time

import httpx

from bench.procs import free_port
from bench.setup import make_tenant

DELAY_SECONDS = 0.1
MESSAGES_PER_CONVERSATION = 2
PHONE_NUMBER_ID = "900000002"
TOP_TIER_NUMBERS = ["900000021", "900000022", "900000023", "900000024"]
DEFAULT_RATE_MESSAGES = 400
WARM_UP_MESSAGES = 40


def queue_messages(tenant, count, run):
    """`count` queued messages over count/2 conversations, each with its send job, as the
    composer makes them."""
    from django.db import transaction

    from whatsapp.models import Contact, Conversation, Message, PhoneNumber
    from whatsapp.sending import delivery

    number = PhoneNumber.objects.get(tenant=tenant)
    ids = []
    with transaction.atomic():
        for index in range(count // MESSAGES_PER_CONVERSATION):
            contact = Contact.objects.create(tenant=tenant, wa_id=f"1777{run:02d}{index:05d}", profile_name="Out")
            conversation = Conversation.objects.create(tenant=tenant, contact=contact, phone_number=number)
            for turn in range(MESSAGES_PER_CONVERSATION):
                message = Message.objects.create(
                    tenant=tenant, conversation=conversation, direction="out", text=f"Reply {turn}", status="queued"
                )
                delivery.queue(message)
                ids.append(message.pk)
    return ids


def run(processes, mode):
    port = free_port()
    fake_url = f"http://127.0.0.1:{port}"
    processes.spawn(
        "fake-graph",
        "fake Graph API",
        ["-m", "whatsapp.simulator.fake_graph", "--port", str(port), "--status-delay", "0.3"],
    )
    _wait_for(fake_url)
    top_tier = [_tenant(fake_url, f"outbound-{n}", number, 1000) for n, number in enumerate(TOP_TIER_NUMBERS)]
    default_rate = [_tenant(fake_url, "outbound-default", PHONE_NUMBER_ID, 80)]
    runs = []
    try:
        for run_index, (workers, threads) in enumerate(mode["outbound_workers"]):
            count = mode["outbound_messages"] * workers
            runs.append(_one_run(processes, fake_url, top_tier, workers, threads, count, run_index))
            print(f"  {runs[-1]}", flush=True)
        index = len(runs)
        runs.append(_one_run(processes, fake_url, default_rate, 1, 8, DEFAULT_RATE_MESSAGES, index, limit=80))
        print(f"  {runs[-1]}", flush=True)
        cost = in_process_cost(fake_url, top_tier[0], mode["outbound_messages"] // 4)
        print(f"  in this process: {cost}", flush=True)
    finally:
        processes.stop("fake-graph")
    return {"delay_ms": int(DELAY_SECONDS * 1000), "runs": runs, "cost": cost}


def in_process_cost(fake_url, tenant, count):
    """CPU and queries per send of the worker's runner loop on this thread (its sending
    threads included), the fake answering at once: the figures /proc cannot split by query.
    After a few sends untimed: this process's first sends import PyWA, build the TLS context,
    the clients and the sending threads, and compile the templates, about a second of CPU a
    worker spends once at start-up (the runs above leave it out too), which counted in 500
    sends as 1-2 ms each."""
    from django.conf import settings
    from django.db import connection

    from bench.process_cost import QueryCounter, runner

    httpx.post(f"{fake_url}/_fake/reset").raise_for_status()
    settings.WHATSAPP_GRAPH_URL = fake_url
    worker, counter = runner("default", "bench-send-cost"), QueryCounter()
    queue_messages(tenant, WARM_UP_MESSAGES, run=98)
    while worker._run_one():
        pass
    ids = queue_messages(tenant, count, run=99)
    with connection.execute_wrapper(counter):
        started = time.process_time()
        while worker._run_one():
            pass
        cpu = time.process_time() - started
    return {
        "sends": len(ids),
        "cpu_ms_per_send": round(1000 * cpu / len(ids), 2),
        "queries_per_send": round(counter.count / len(ids), 2),
    }


def _tenant(fake_url, slug, phone_number_id, per_second):
    tenant, secret = make_tenant(slug, phone_number_id, messages_per_second=per_second)
    # No webhook URL: this stage measures sending alone (ingest is measured above).
    httpx.post(
        f"{fake_url}/_fake/numbers", json={"phone_number_id": phone_number_id, "webhook_url": "", "app_secret": secret}
    ).raise_for_status()
    return tenant


def _one_run(processes, fake_url, tenants, workers, threads, count, run_index, limit=None):
    from whatsapp.models import Message

    httpx.post(f"{fake_url}/_fake/reset").raise_for_status()
    httpx.post(f"{fake_url}/_fake/script", json={"kind": "delay", "seconds": DELAY_SECONDS, "times": 10**6})
    names = [f"sender-{run_index}-{index}" for index in range(workers)]
    for name in names:
        processes.worker(name, queues="default", threads=threads, env={"WHATSAPP_GRAPH_URL": fake_url})
        processes.wait_for_log(name, "Listening for task notifications")
    started_cpu = _cpu(processes, names)  # start-up (imports) is not the sends' cost
    ids = []
    for tenant in tenants:  # one commit each: NOTIFY wakes the workers
        ids += queue_messages(tenant, count // len(tenants), run_index)
    deadline = time.monotonic() + 60 + count / 5
    pending = Message.objects.filter(pk__in=ids, status__in=["queued", "sending"])
    while time.monotonic() < deadline and pending.exists():
        time.sleep(0.5)
    cpu = _cpu(processes, names) - started_cpu
    processes.stop(*names)
    sent = []
    for tenant in tenants:
        number = tenant.phone_numbers.get().phone_number_id
        sent += httpx.get(f"{fake_url}/_fake/sent", params={"phone_number_id": number}, timeout=30).json()["data"]
    result = _check(sent, ids, workers, threads, len(ids))
    result["label"] = f"{len(tenants)} number{'s' if len(tenants) > 1 else ''} at {limit or 1000}/s, {result['label']}"
    result["numbers"], result["limit"] = len(tenants), limit
    result["busiest_second"] = _busiest_second(sent)
    return {**result, "worker_cpu_ms_per_message": round(1000 * cpu / len(ids), 2)}


def _busiest_second(sent):
    """The most sends the fake took for one number within one second (by the clock's seconds,
    as the throughput limit counts them)."""
    per_second = collections.Counter((record["phone_number_id"], int(record["time"])) for record in sent)
    return max(per_second.values(), default=0)


def _cpu(processes, names):
    from bench.procs import cpu_seconds

    return sum(cpu_seconds(processes.pid(name)) or 0 for name in names)


def _check(sent, ids, workers, threads, count):
    from whatsapp.models import Message

    trackers = collections.Counter(record["body"].get("biz_opaque_callback_data") for record in sent)
    wanted = {f"message:{pk}" for pk in ids}
    times = sorted(record["time"] for record in sent)
    span = (times[-1] - times[0]) if len(times) > 1 else 0
    order = collections.defaultdict(list)
    conversation_of = dict(Message.objects.filter(pk__in=ids).values_list("pk", "conversation_id"))
    for record in sorted(sent, key=lambda record: record["time"]):
        pk = int(record["body"]["biz_opaque_callback_data"].split(":")[1])
        order[conversation_of.get(pk)].append(pk)
    label = f"{workers} worker process{'es' if workers > 1 else ''} × {threads} threads"
    return {
        "label": label,
        "workers": workers,
        "threads": threads,
        "messages": count,
        "sent": len(wanted & set(trackers)),
        "per_second": round((len(times) - 1) / span, 1) if span else 0,
        "duplicates": sum(n - 1 for n in trackers.values() if n > 1),
        "missing": len(wanted - set(trackers)),
        "in_order": all(pks == sorted(pks) for pks in order.values()),
        "target": "80/s per number" if workers == 1 else "",
        "target_rate": 80,
    }


def _wait_for(url):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_fake/sent", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("The fake Graph API did not start.")
