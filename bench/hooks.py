"""(e) Outgoing webhooks: events recorded at `hooks_rate` per second (in transactions of
EVENTS_PER_COMMIT, as actions record them) for one endpoint, delivered by one worker process
to a local receiver answering each POST in 50 ms. Every event must arrive, none twice (by
webhook-id). Then the receiver goes down for `hooks_downtime` seconds while events keep
coming, and every event must arrive after it returns."""

import collections
import time

import httpx

from bench.procs import LOG_DIR, free_port
from bench.setup import make_tenant

RECEIVER_DELAY = 0.05
EVENTS_PER_COMMIT = 25
CONVERSATIONS = 200
WORKER_THREADS = 4


class Receiver:
    def __init__(self, processes):
        self.processes, self.port = processes, free_port()
        self.log = LOG_DIR / "hook-receiver-ids.log"
        self.log.write_text("")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self):
        arguments = [
            "-m",
            "bench.hook_receiver",
            "--port",
            str(self.port),
            "--log",
            str(self.log),
            "--delay",
            str(RECEIVER_DELAY),
        ]
        self.processes.spawn("hook-receiver", "webhook receiver", arguments)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.post(self.url, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("The webhook receiver did not start.")

    def stop(self):
        self.processes.stop("hook-receiver")

    def received(self):
        """(webhook-id, time) of every POST it answered (its start-up probe excluded)."""
        rows = (line.split() for line in self.log.read_text().splitlines() if line.strip())
        return [(webhook_id, float(at)) for webhook_id, at in rows if webhook_id != "-"]


def emit_for(tenant_id, seconds, rate, start_index=0):
    """Record `rate` events a second for `seconds`; returns their ids."""
    from django.db import transaction

    import hooks
    from hooks.event_types import CONTACT_UPDATED

    ids, index, started = [], start_index, time.monotonic()
    commits = int(seconds * rate / EVENTS_PER_COMMIT)
    for commit in range(commits):
        due = started + commit * EVENTS_PER_COMMIT / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)  # pacing the producer
        items = []
        for _ in range(EVENTS_PER_COMMIT):
            items.append(({"contact": {"id": index, "name": f"Contact {index}"}}, 1 + index % CONVERSATIONS))
            index += 1
        with transaction.atomic():
            ids += [event.public_id for event in hooks.emit_many(tenant_id, CONTACT_UPDATED, items)]
    return ids, time.monotonic() - started


def wait_for(receiver, ids, seconds):
    wanted = set(ids)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if wanted <= {webhook_id for webhook_id, _ in receiver.received()}:
            return True
        time.sleep(0.25)
    return False


def check(receiver, ids, since):
    received = [(webhook_id, at) for webhook_id, at in receiver.received() if at >= since]
    counts = collections.Counter(webhook_id for webhook_id, _ in received)
    wanted = set(ids)
    times = sorted(at for webhook_id, at in received if webhook_id in wanted)
    return {
        "events": len(ids),
        "delivered": len(wanted & set(counts)),
        "missing": len(wanted - set(counts)),
        "doubled": sum(n - 1 for webhook_id, n in counts.items() if webhook_id in wanted and n > 1),
        "per_second": round((len(times) - 1) / (times[-1] - times[0]), 1) if len(times) > 1 else 0,
        "last_at": times[-1] if times else None,
    }


def run(processes, mode):
    from hooks import actions
    from tenants.models import Membership

    rate, seconds, downtime = mode["hooks_rate"], mode["hooks_seconds"], mode["hooks_downtime"]
    tenant, _ = make_tenant("hooks", "900000003")
    receiver = Receiver(processes)
    receiver.start()
    owner = Membership.objects.get(tenant=tenant)
    actions.create_endpoint(owner, url=receiver.url, event_types=["contact.updated"], description="bench")
    processes.worker("hooks-worker", queues="hooks", threads=WORKER_THREADS)
    processes.wait_for_log("hooks-worker", "Listening for task notifications")
    try:
        from bench.procs import cpu_seconds

        cpu_before = cpu_seconds(processes.pid("hooks-worker")) or 0
        started = time.time()
        ids, took = emit_for(tenant.pk, seconds, rate)
        emitted_at = time.time()
        wait_for(receiver, ids, 60 + seconds)
        steady = check(receiver, ids, started)
        cpu = (cpu_seconds(processes.pid("hooks-worker")) or 0) - cpu_before
        steady["worker_cpu_ms_per_event"] = round(1000 * cpu / max(len(ids), 1), 2)
        steady.update(
            rate=rate,
            emit_rate=round(len(ids) / took, 1),
            lag_after_last_event_s=round((steady.pop("last_at") or emitted_at) - emitted_at, 2),
        )
        print(f"  steady: {steady}", flush=True)

        receiver.stop()
        outage_started = time.time()
        down_ids, _ = emit_for(tenant.pk, downtime, rate, start_index=len(ids))
        receiver.start()
        returned = time.time()
        wait_for(receiver, down_ids, 300 + downtime)
        outage = check(receiver, down_ids, outage_started)
        outage.update(
            downtime_s=downtime, all_in_s_after_return=round((outage.pop("last_at") or returned) - returned, 1)
        )
        print(f"  outage: {outage}", flush=True)
    finally:
        processes.stop("hooks-worker", "hook-receiver")
    return {"delay_ms": int(RECEIVER_DELAY * 1000), "steady": steady, "outage": outage}
