"""(d) Outbound: queued messages of one number sent to the fake Graph API answering each
send in 100 ms, by worker processes running several sends at once (db_worker --threads);
every message sent exactly once, in order per conversation (checked by
biz_opaque_callback_data at the fake)."""

import collections
import time

import httpx

from bench.procs import free_port
from bench.setup import make_tenant

DELAY_SECONDS = 0.1
MESSAGES_PER_CONVERSATION = 2
PHONE_NUMBER_ID = "900000002"


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
    tenant, secret = make_tenant("outbound", PHONE_NUMBER_ID, messages_per_second=1000)
    _wait_for(fake_url)
    # No webhook URL: this stage measures sending alone (ingest is measured above).
    httpx.post(
        f"{fake_url}/_fake/numbers", json={"phone_number_id": PHONE_NUMBER_ID, "webhook_url": "", "app_secret": secret}
    ).raise_for_status()
    runs = []
    try:
        for run_index, (workers, threads) in enumerate(mode["outbound_workers"]):
            count = mode["outbound_messages"] * workers
            runs.append(_one_run(processes, fake_url, tenant, workers, threads, count, run_index))
            print(f"  {runs[-1]}", flush=True)
    finally:
        processes.stop("fake-graph")
    return {"delay_ms": int(DELAY_SECONDS * 1000), "runs": runs}


def _one_run(processes, fake_url, tenant, workers, threads, count, run_index):
    from whatsapp.models import Message

    httpx.post(f"{fake_url}/_fake/reset").raise_for_status()
    httpx.post(f"{fake_url}/_fake/script", json={"kind": "delay", "seconds": DELAY_SECONDS, "times": 10**6})
    names = [f"sender-{run_index}-{index}" for index in range(workers)]
    for name in names:
        processes.worker(name, queues="default", threads=threads, env={"WHATSAPP_GRAPH_URL": fake_url})
        processes.wait_for_log(name, "Listening for task notifications")
    started_cpu = _cpu(processes, names)  # start-up (imports) is not the sends' cost
    ids = queue_messages(tenant, count, run_index)  # one commit: NOTIFY wakes the workers
    deadline = time.monotonic() + 60 + count / 5
    pending = Message.objects.filter(pk__in=ids, status__in=["queued", "sending"])
    while time.monotonic() < deadline and pending.exists():
        time.sleep(0.5)
    cpu = _cpu(processes, names) - started_cpu
    processes.stop(*names)
    sent = httpx.get(f"{fake_url}/_fake/sent", params={"phone_number_id": PHONE_NUMBER_ID}, timeout=30).json()["data"]
    return {**_check(sent, ids, workers, threads, count), "worker_cpu_ms_per_message": round(1000 * cpu / count, 1)}


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
