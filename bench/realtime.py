"""(b) Webhook to browser: from the POST of a customer's message to the message.created
event on each of 50 agents' websockets, idle and while status webhooks pour in at 1,000/s
(issue 16's figure; half the maximum ingest rate on a machine where that is less)."""

import asyncio
import json
import statistics
import subprocess
import sys
import time

import httpx
import websockets
from django.utils import timezone

from bench.load import PHONE_NUMBER_ID
from bench.procs import BASE_DIR, WEBHOOK_WORKER_THREADS, cpu_seconds, machine_busy_seconds, postgres_cpu_seconds
from bench.setup import database_dsn, make_tenant
from whatsapp.simulator import payloads

AGENTS = 50


def agent_sessions(tenant, count):
    """Logged-in sessions made straight in the database: the session cookies of `count` agents."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tenants.models import Role
    from tenants.setup import add_member

    keys = []
    for index in range(count):
        user = add_member(tenant, f"agent{index}@{tenant.slug}.bench", role=Role.AGENT).user
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


async def agent_socket(url, slug, session_key, ready, arrivals):
    """One agent's browser on the workspace's live events: sets `ready` once connected, then
    records in `arrivals` (token: [monotonic times]) each message.created, by the last word
    of its preview."""
    ws_url = url.replace("http://", "ws://") + f"/ws/t/{slug}/"
    async with websockets.connect(
        ws_url, additional_headers={"Cookie": f"sessionid={session_key}"}, origin=url, max_size=None
    ) as socket:
        ready.set_result(True) if not ready.done() else None
        async for raw in socket:
            if "message.created" not in raw:  # ticks, conversation rows: not parsed, to spare the CPU
                continue
            event = json.loads(raw)
            if event.get("event") == "message.created":
                token = event["data"]["preview"].rsplit(" ", 1)[-1]
                arrivals.setdefault(token, []).append(time.monotonic())


async def connect_agents(url, slug, session_keys, arrivals):
    """Every agent's socket connected; returns their tasks (cancel them to close)."""
    readies = [asyncio.get_running_loop().create_future() for _ in session_keys]
    agents = [
        asyncio.create_task(agent_socket(url, slug, key, ready, arrivals)) for key, ready in zip(session_keys, readies)
    ]
    await asyncio.wait_for(asyncio.gather(*readies), 30)
    return agents


async def probe(url, slug, secret, session_keys, probes, interval, clock=None):
    """Post `probes` customer messages; returns one latency (s) per socket per probe.
    `clock`, a dict, gets each probe's wall-clock time of posting, by token."""
    arrivals, sent_at = {}, {}
    clock = {} if clock is None else clock
    agents = await connect_agents(url, slug, session_keys, arrivals)
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=10) as client:
        warm_up = payloads.encode(payloads.text_message(PHONE_NUMBER_ID, "16660000000", "warm up"))
        await client.post(
            f"{url}/webhooks/whatsapp/{slug}/",
            content=warm_up,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": payloads.sign(warm_up, secret)},
        )
        await asyncio.sleep(1)
        for index in range(probes):
            token = f"probe{index}-{time.monotonic_ns()}"
            body = payloads.encode(payloads.text_message(PHONE_NUMBER_ID, f"1666{index:07d}", f"Hi {token}"))
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": payloads.sign(body, secret)}
            sent_at[token], clock[token] = time.monotonic(), time.time()
            await client.post(f"{url}/webhooks/whatsapp/{slug}/", content=body, headers=headers)
            await asyncio.sleep(interval)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(arrivals.get(t, [])) for t in sent_at) < len(sent_at) * len(agents):
        await asyncio.sleep(0.1)
    for task in agents:
        task.cancel()
    await asyncio.gather(*agents, return_exceptions=True)
    firsts = [min(arrivals[token]) - sent_at[token] for token in sent_at if arrivals.get(token)]
    latencies = [arrival - sent_at[token] for token in sent_at for arrival in arrivals.get(token, [])]
    clock["arrivals"], clock["sent_at"] = arrivals, sent_at
    return latencies, firsts, len(sent_at)


def summary(label, latencies, firsts, probes):
    ordered = sorted(latencies) or [float("nan")]
    return {
        "label": label,
        "expected": probes * AGENTS,
        "received": len(latencies),
        "first_socket_p50_ms": round(1000 * statistics.median(firsts or [float("nan")]), 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
    }


def task_times(since):
    """Where the probes' time went in the worker: p50 of the wait from the task's row to its
    claim (the wake-up), and of the claim to its end (processing and publishing)."""
    from django_tasks_db.models import DBTaskResult

    from whatsapp.webhook.ingest import MESSAGES_PRIORITY, process_webhook_event

    rows = DBTaskResult.objects.filter(
        task_path=process_webhook_event.module_path,
        priority=MESSAGES_PRIORITY,
        enqueued_at__gte=since,
        status="SUCCESSFUL",
    )
    times = list(rows.values_list("enqueued_at", "started_at", "finished_at"))
    if not times:
        return {}
    return {
        "worker_threads": WEBHOOK_WORKER_THREADS,
        "claim_wait_p50_ms": round(1000 * statistics.median((s - e).total_seconds() for e, s, _ in times), 1),
        "run_p50_ms": round(1000 * statistics.median((f - s).total_seconds() for _, s, f in times), 1),
    }


# Status webhooks a second while the probes run under load: issue 16's figure. Half the
# ingest's maximum is 2,000/s and more on a fast machine, which measures a machine at its
# limit rather than the load.
LOADED_RATE = 1000


def run(processes, mode, ingest_rate=None):
    from django_tasks_db.models import DBTaskResult

    from bench.ingest import vacuum

    vacuum(DBTaskResult._meta.db_table)
    tenant, secret = make_tenant("live", PHONE_NUMBER_ID)
    keys = agent_sessions(tenant, AGENTS)
    out = {}
    for server in ("uvicorn", "daphne"):
        url = processes.web(f"live-{server}", server)
        workers = [f"live-worker-{index}" for index in range(2)]
        for name in workers:
            processes.worker(name, queues="webhooks", threads=WEBHOOK_WORKER_THREADS)
        try:
            since, clock = timezone.now(), {}
            latencies, firsts, sent = asyncio.run(probe(url, "live", secret, keys, mode["probes"], 0.2, clock))
            out[f"{server}_idle"] = summary(f"{server}, idle, {AGENTS} sockets", latencies, firsts, sent)
            out[f"{server}_idle"].update(task_times(since))
            out[f"{server}_idle"]["steps"] = _steps(tenant, clock, since)
            print(f"  {out[f'{server}_idle']}", flush=True)
            rate = min(LOADED_RATE, max(50, int(ingest_rate / 2))) if ingest_rate else LOADED_RATE
            load = _status_load(processes, url, secret, rate, mode["load_seconds"])
            time.sleep(1)
            probes = max(5, int((mode["load_seconds"] - 3) / 0.25))
            since, clock = timezone.now(), {}
            pids = {"web": processes.pid(f"live-{server}"), "load generator": load.pid}
            pids |= {f"worker {index}": processes.pid(name) for index, name in enumerate(workers)}
            cpu = CpuShare(pids)
            latencies, firsts, sent = asyncio.run(probe(url, "live", secret, keys, probes, 0.25, clock))
            cpu.stop(rate)
            load.wait(mode["load_seconds"] + 30)
            out[f"{server}_loaded"] = summary(
                f"{server}, {rate} status webhooks/s, {AGENTS} sockets", latencies, firsts, sent
            )
            out[f"{server}_loaded"].update(task_times(since))
            out[f"{server}_loaded"]["cpu"] = cpu.figures
            out[f"{server}_loaded"]["steps"] = _steps(tenant, clock, since)
            print(f"  {out[f'{server}_loaded']}", flush=True)
        finally:
            processes.stop(f"live-{server}", *workers)
        _drop_status_backlog()
    return out


class CpuShare:
    """Who used the machine's cores while it ran: CPU ms per status webhook of each process
    in `pids` (name: pid), of PostgreSQL, of this process (the agents' sockets, the probes),
    and how busy the cores were."""

    def __init__(self, pids):
        self.pids, self.started = pids, time.monotonic()
        self.before = self._now()

    def _now(self):
        figures = {name: cpu_seconds(pid) or 0 for name, pid in self.pids.items()}
        figures["postgres"] = postgres_cpu_seconds(database_dsn())
        figures["bench (sockets)"] = time.process_time()
        figures["machine"], self.cores = machine_busy_seconds()
        return figures

    def stop(self, rate):
        elapsed, after = time.monotonic() - self.started, self._now()
        used = {name: after[name] - self.before[name] for name in after}
        per_webhook = {name: round(1000 * used[name] / (rate * elapsed), 2) for name in used if name != "machine"}
        self.figures = {
            "busy": round(used["machine"] / (elapsed * self.cores), 2),
            "cores": self.cores,
            "ms_per_status_webhook": per_webhook,
        }


def _steps(tenant, clock, since):
    """Where the probes' time went (bench.midburst.where_the_time_went), p50 of each step."""
    from types import SimpleNamespace

    from bench.midburst import where_the_time_went

    probes = {token: at for token, at in clock.items() if token.startswith("probe")}
    workspace = SimpleNamespace(tenant=tenant, sent_clock=probes, sent_at=clock["sent_at"], arrivals=clock["arrivals"])
    steps = where_the_time_went(workspace, since)
    steps.pop("each_ms", None)
    return steps


def _status_load(processes, url, secret, rate, seconds):
    port = url.rsplit(":", 1)[1]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--port",
            port,
            "--slug",
            "live",
            "--secret",
            secret,
            "--rates",
            str(rate),
            "--duration",
            str(seconds),
            "--bisect",
            "0",
            "--statuses-only",
            "--out",
            "/dev/null",
        ],
        cwd=BASE_DIR,
        env=processes.environment,
        stdout=subprocess.DEVNULL,
    )


def _drop_status_backlog():
    from django_tasks_db.models import DBTaskResult

    from bench.ingest import vacuum

    DBTaskResult.objects.filter(queue_name="webhooks", status="READY").delete()
    vacuum(DBTaskResult._meta.db_table)
