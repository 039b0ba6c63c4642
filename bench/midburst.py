"""A customer's message in the middle of a burst: one worker drains a burst of status
webhooks for workspace A (the statuses of a campaign it sent: sent, delivered and read for
each message) while customers of A and of another workspace B write. For each customer's
message, the time from its webhook POST to its message.created on each of its workspace's
agents' websockets, and where that time went; the burst's drain rate, and the CPU per
drained event of the worker, the web server and the agents' sockets.

The burst is stored before the worker starts, as the endpoint stores it (one statement per
body: the event and its job), so the web server only serves the customers' messages and the
sockets: what is measured is the worker's claim order under a backlog, and the burst's live
events on the way to the sockets."""

import asyncio
import statistics
import time

import httpx
import psycopg
from django.utils import timezone

from bench.load import PHONE_NUMBER_ID
from bench.procs import WEBHOOK_WORKER_THREADS, cpu_seconds
from bench.realtime import agent_sessions, connect_agents
from bench.setup import database_dsn, make_tenant
from whatsapp.simulator import payloads

OTHER_PHONE_NUMBER_ID = "900000021"
AGENTS = 5  # per workspace: every A agent also gets the burst's tick events
DRAIN_TIMEOUT_SECONDS = 600
PENDING_SQL = "SELECT count(*) FROM whatsapp_webhookevent WHERE tenant_id = %s AND state = 'pending'"


class Workspace:
    def __init__(self, slug, phone_number_id):
        self.slug, self.phone_number_id = slug, phone_number_id
        self.tenant, self.secret = make_tenant(slug, phone_number_id)
        self.session_keys = agent_sessions(self.tenant, AGENTS)
        self.arrivals, self.sent_at = {}, {}  # token: monotonic times
        self.sent_clock = {}  # token: wall-clock time, to set beside the rows' times

    def body(self, index, token):
        customer = f"1777{self.tenant.pk:02d}{index:05d}"
        return payloads.encode(payloads.text_message(self.phone_number_id, customer, f"Hi {token}"))

    async def post(self, client, url, body):
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": payloads.sign(body, self.secret)}
        answer = await client.post(f"{url}/webhooks/whatsapp/{self.slug}/", content=body, headers=headers)
        answer.raise_for_status()


def campaign_statuses(tenant, statuses):
    """A campaign of statuses / 3 messages, one per customer and conversation, written with
    COPY; returns the bodies of their statuses (every message sent, then delivered, then
    read), as Meta would post them."""
    from bench.seed import copy_rows
    from whatsapp.models import Contact, Conversation, Message, PhoneNumber

    count = statuses // 3
    number = PhoneNumber.objects.get(tenant=tenant)
    copy_rows(Contact, ({"tenant_id": tenant.pk, "wa_id": f"1999{i:08d}"} for i in range(count)))
    contacts = dict(Contact.objects.filter(tenant=tenant).values_list("pk", "wa_id"))
    copy_rows(
        Conversation,
        ({"tenant_id": tenant.pk, "contact_id": pk, "phone_number_id": number.pk} for pk in sorted(contacts)),
    )
    conversations = Conversation.objects.filter(tenant=tenant).values_list("pk", "contact_id")
    recipients = {pk: contacts[contact_id] for pk, contact_id in conversations}
    copy_rows(
        Message,
        (
            {
                "tenant_id": tenant.pk,
                "conversation_id": pk,
                "direction": "out",
                "type": "text",
                "text": "Our spring sale starts today",
                "wamid": f"wamid.burst.{pk}",
                "status": "sent",
            }
            for pk in sorted(recipients)
        ),
    )
    return [
        payloads.encode(payloads.status(number.phone_number_id, f"wamid.burst.{pk}", status, recipients[pk]))
        for status in payloads.STATUS_ORDER
        for pk in sorted(recipients)
    ]


def store_burst(workspace, statuses):
    """Store the burst as the endpoint does; returns how many events and how long it took."""
    from django.db import transaction

    from bench.process_cost import store_bodies

    bodies = campaign_statuses(workspace.tenant, statuses)
    started = time.monotonic()
    for start in range(0, len(bodies), 1000):
        with transaction.atomic():  # fewer commits to wait for; each body is still one statement
            store_bodies(workspace.tenant.pk, workspace.secret, bodies[start : start + 1000])
    return len(bodies), round(time.monotonic() - started, 1)


async def probe_during_drain(url, web_pid, workspaces, probes, start_worker):
    """Connect every agent, start the worker, then post `probes` customers' messages, the
    workspaces in turn, spread over the rest of the drain of the first workspace's burst.
    Returns the events drained meanwhile and the CPU seconds the worker, the web server and
    this process (the agents' sockets) used from the first message to the drain's end."""
    burst = workspaces[0]
    agents = []
    for workspace in workspaces:
        agents += await connect_agents(url, workspace.slug, workspace.session_keys, workspace.arrivals)
    async with (
        httpx.AsyncClient(timeout=10) as client,
        await psycopg.AsyncConnection.connect(database_dsn(), autocommit=True) as database,
    ):

        async def pending():
            return (await (await database.execute(PENDING_SQL, (burst.tenant.pk,))).fetchone())[0]

        for workspace in workspaces:  # processed first (messages go first): the pages' paths warm
            await workspace.post(client, url, workspace.body(99999, "warmup"))
        worker_pid = start_worker().pid
        if not await _wait_for_arrivals(workspaces, ["warmup"], 60):
            raise RuntimeError("The warm-up messages did not reach the agents' sockets within 60 s.")

        def cpu():
            return {"worker": cpu_seconds(worker_pid), "web": cpu_seconds(web_pid), "client": time.process_time()}

        drain = {"cpu": cpu(), "pending_before": await pending(), "since": time.monotonic()}
        drain["probes_since"] = timezone.now()
        for index in range(probes):
            workspace = workspaces[index % len(workspaces)]
            token = f"probe{index}-{time.monotonic_ns()}"
            workspace.sent_at[token], workspace.sent_clock[token] = time.monotonic(), time.time()
            await workspace.post(client, url, workspace.body(index, token))
            left = await pending()
            if not left:
                break
            await asyncio.sleep(_next_wait(drain, left, probes - index - 1))
        await _wait_for_arrivals(workspaces, None, 15)
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while (left := await pending()) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # the last live events to the sockets
        drain["cpu"] = {name: seconds - drain["cpu"][name] for name, seconds in cpu().items()}
        drain["drained"] = drain["pending_before"] - left
        drain["left"] = left
    for task in agents:
        task.cancel()
    await asyncio.gather(*agents, return_exceptions=True)
    return drain


def _next_wait(drain, left, probes_left):
    """The wait before the next message that spreads the ones left over the drain's rest,
    by the rate the worker has drained the burst at so far."""
    done, elapsed = drain["pending_before"] - left, time.monotonic() - drain["since"]
    if done <= 0:
        return 0.5
    return min(5.0, max(0.05, left / (done / elapsed) / (probes_left + 1)))


async def _wait_for_arrivals(workspaces, tokens, seconds):
    """True once each workspace's `tokens` (None: the messages it was sent) reached one of
    its sockets; False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(w.arrivals.get(token) for w in workspaces for token in (tokens or w.sent_at)):
            return True
        await asyncio.sleep(0.05)
    return False


def summary(label, workspace, others):
    """The latencies of one workspace's messages on its own agents' sockets."""
    latencies = [at - sent for token, sent in workspace.sent_at.items() for at in workspace.arrivals.get(token, [])]
    firsts = [min(workspace.arrivals[t]) - sent for t, sent in workspace.sent_at.items() if workspace.arrivals.get(t)]
    ordered = sorted(latencies) or [float("nan")]
    return {
        "label": label,
        "messages": len(workspace.sent_at),
        "expected": len(workspace.sent_at) * AGENTS,
        "received": len(latencies),
        "elsewhere": sum(len(other.arrivals.get(token, [])) for other in others for token in workspace.sent_at),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "first_socket_p50_ms": round(1000 * statistics.median(firsts or [float("nan")]), 1),
    }


def where_the_time_went(workspace, since):
    """p50 of each step of the messages' way, from the bench's clock and the rows' times: the
    webhook stored (its job's row), the job claimed, the message stored within the batch
    (its row), its live event on the first socket; and the claim to the batch's end."""
    from django_tasks_db.models import DBTaskResult

    from whatsapp.models import Message, WebhookEvent
    from whatsapp.webhook.ingest import MESSAGES_PRIORITY

    jobs = DBTaskResult.objects.filter(queue_name="webhooks", priority=MESSAGES_PRIORITY, enqueued_at__gte=since)
    job_of = {
        job.args_kwargs["args"][0]: job for job in jobs.only("args_kwargs", "enqueued_at", "started_at", "finished_at")
    }
    events = WebhookEvent.objects.filter(tenant=workspace.tenant, received_at__gte=since).values_list("pk", "body")
    stored = dict(
        Message.objects.filter(tenant=workspace.tenant, created_at__gte=since).values_list("text", "created_at")
    )
    steps = {"stored": [], "claim_wait": [], "in_batch": [], "to_socket": [], "batch": []}
    for token, sent in workspace.sent_clock.items():
        job = next((job_of.get(pk) for pk, body in events if token in body), None)
        created, arrivals = stored.get(f"Hi {token}"), workspace.arrivals.get(token)
        if not (job and job.finished_at and created and arrivals):
            continue
        on_socket = sent + min(arrivals) - workspace.sent_at[token]
        steps["stored"].append(job.enqueued_at.timestamp() - sent)
        steps["claim_wait"].append((job.started_at - job.enqueued_at).total_seconds())
        steps["in_batch"].append((created - job.started_at).total_seconds())
        steps["to_socket"].append(on_socket - created.timestamp())
        steps["batch"].append((job.finished_at - job.started_at).total_seconds())
    out = {f"{step}_p50_ms": round(1000 * statistics.median(values), 1) for step, values in steps.items() if values}
    out["each_ms"] = [dict(zip(steps, (round(1000 * value, 1) for value in row))) for row in zip(*steps.values())]
    return out


def drain_rate(tenant, since):
    """The burst's events per second: from the first claim of its jobs to the last end."""
    from django.db.models import Count, Max, Min
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(queue_name="webhooks", priority=0, enqueued_at__gte=since)
    span = rows.filter(status="SUCCESSFUL").aggregate(first=Min("started_at"), last=Max("finished_at"), n=Count("id"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["n"] else 0
    return {"drained": span["n"], "seconds": round(seconds, 1), "events_per_second": round(span["n"] / seconds, 1)}


def run(processes, mode):
    from django_tasks_db.models import DBTaskResult

    from bench.ingest import vacuum
    from tenants.models import Tenant

    Tenant.objects.filter(slug__in=["burst-a", "burst-b"]).delete()  # a run with --keep-data
    vacuum(DBTaskResult._meta.db_table)
    burst = Workspace("burst-a", PHONE_NUMBER_ID)
    other = Workspace("burst-b", OTHER_PHONE_NUMBER_ID)
    since = timezone.now()
    stored, seconds = store_burst(burst, mode["burst_statuses"])
    print(f"  stored {stored} status webhooks for {burst.slug} in {seconds} s", flush=True)
    vacuum(DBTaskResult._meta.db_table)
    url = processes.web("burst-web", "uvicorn")
    try:
        drain = asyncio.run(
            probe_during_drain(
                url,
                processes.pid("burst-web"),
                [burst, other],
                mode["burst_probes"],
                lambda: processes.worker("burst-worker", queues="webhooks", threads=WEBHOOK_WORKER_THREADS),
            )
        )
    finally:
        processes.stop(*(name for name in ("burst-web", "burst-worker") if name in processes.running))
    out = {"statuses": stored, "agents": AGENTS, "worker_threads": WEBHOOK_WORKER_THREADS}
    out["drain"] = drain_rate(burst.tenant, since) | {"left": drain["left"]}
    for name, seconds in drain["cpu"].items():  # the agents' sockets run in this process
        out["drain"][f"{name}_cpu_ms_per_event"] = round(1000 * seconds / max(1, drain["drained"]), 2)
    probes_since = drain["probes_since"]
    out["burst"] = summary("in the bursting workspace", burst, [other]) | where_the_time_went(burst, probes_since)
    out["other"] = summary("in another workspace", other, [burst]) | where_the_time_went(other, probes_since)
    for key in ("drain", "burst", "other"):
        print(f"  {key}: {out[key]}", flush=True)
    return out
