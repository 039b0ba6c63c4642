"""(e) The API's send: authenticated `POST /api/v1/messages` (a text to an open
conversation) through the whole Django stack under Uvicorn, closed-loop at a fixed
concurrency, against the bare limit (bench/bare.py: the same server, one signed INSERT)
measured in the same run with the same client. Then a worker sends every accepted message
through the fake Graph API, which must see each exactly once. Queries per request are
counted in this process on the same view; CPU per request is the web process's."""

import asyncio
import collections
import hashlib
import hmac
import json
import time

import httpx
import psycopg

from bench import bare, outbound
from bench.ingest import BARE_SERVERS
from bench.procs import cpu_seconds, free_port
from bench.setup import database_dsn, make_tenant

PHONE_NUMBER_ID = "900000003"
CONVERSATIONS = 200
CONCURRENCY = 16
TARGET_SHARE = 0.1  # of the bare limit
TARGET_P99_MS = 250


async def _closed_loop(url, seconds, request_for):
    """CONCURRENCY clients, each sending its next request when the last is answered, for
    `seconds`. Returns (accepted answers' bodies, latencies in ms, statuses)."""
    accepted, latencies, statuses = [], [], collections.Counter()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one_client(client_index):
            sequence = 0
            while time.monotonic() < stop:
                method_path, kwargs = request_for(client_index, sequence)
                began = time.perf_counter()
                try:
                    response = await client.post(method_path, **kwargs)
                except httpx.HTTPError as error:
                    statuses[type(error).__name__] += 1
                    continue
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] += 1
                if response.status_code in (200, 201):
                    accepted.append(response.content)
                sequence += 1

        await asyncio.gather(*(one_client(index) for index in range(CONCURRENCY)))
    return accepted, latencies, statuses


async def _paced(url, seconds, rate, request_for):
    """Open loop: requests started at `rate` a second whatever the answers, for `seconds`;
    the latency a client sees at that rate."""
    accepted, latencies, statuses = [], [], collections.Counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(sequence):
            path, kwargs = request_for(sequence % CONCURRENCY, sequence)
            began = time.perf_counter()
            try:
                response = await client.post(path, **kwargs)
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
                return
            latencies.append((time.perf_counter() - began) * 1000)
            statuses[response.status_code] += 1
            if response.status_code in (200, 201):
                accepted.append(response.content)

        start, tasks = time.monotonic(), []
        for sequence in range(int(seconds * rate)):
            await asyncio.sleep(max(0, start + sequence / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(sequence)))
        await asyncio.gather(*tasks)
    return accepted, latencies, statuses


def _summary(accepted, latencies, statuses, seconds):
    latencies = sorted(latencies)
    p = lambda share: round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 1) if latencies else 0  # noqa: E731
    return {
        "accepted_per_second": round(len(accepted) / seconds, 1),
        "p50_ms": p(0.5),
        "p99_ms": p(0.99),
        "statuses": {str(key): value for key, value in statuses.items()},
    }


def bare_limit(processes, seconds):
    secret = "bare-app-secret-0123456789"
    with psycopg.connect(database_dsn(), autocommit=True) as connection:
        connection.execute(bare.TABLE_SQL)
        connection.execute("TRUNCATE bench_bare_event")
    port = free_port()
    processes.spawn(
        "bare", "bare ASGI", BARE_SERVERS["uvicorn"](port), env={"BARE_DSN": database_dsn(), "BARE_SECRET": secret}
    )
    processes.wait_healthy("bare", f"http://127.0.0.1:{port}")

    def request_for(client_index, sequence):
        body = json.dumps({"client": client_index, "n": sequence, "at": time.time()}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return "/hook", {"content": body, "headers": {"X-Hub-Signature-256": signature}}

    try:
        accepted, latencies, statuses = asyncio.run(_closed_loop(f"http://127.0.0.1:{port}", seconds, request_for))
    finally:
        processes.stop("bare")
    return _summary(accepted, latencies, statuses, seconds)


def open_conversations(tenant):
    """CONVERSATIONS conversations whose 24-hour window is open, as if each customer just wrote."""
    from datetime import timedelta

    from django.utils import timezone

    from whatsapp.models import Contact, Conversation, PhoneNumber

    number = PhoneNumber.objects.get(tenant=tenant)
    now = timezone.now()
    ids = []
    for index in range(CONVERSATIONS):
        contact = Contact.objects.create(tenant=tenant, wa_id=f"1888{index:07d}", profile_name="API")
        conversation = Conversation.objects.create(
            tenant=tenant,
            contact=contact,
            phone_number=number,
            last_inbound_at=now,
            window_closes_at=now + timedelta(hours=24),
        )
        ids.append(conversation.pk)
    return ids


def queries_per_send(raw_key, conversation_id):
    """The queries one send makes, counted on the same view in this process (after a warm-up)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    body = json.dumps({"conversation_id": conversation_id, "text": {"body": "Counting queries"}})
    headers = {"Authorization": f"Bearer {raw_key}"}
    client.post("/api/v1/messages", body, content_type="application/json", headers=headers)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/messages", body, content_type="application/json", headers=headers)
    assert response.status_code == 201, response.content
    return len(captured.captured_queries), json.loads(response.content)["id"]


def run(processes, mode):
    from api import keys

    seconds = mode.get("api_seconds", 5)
    print("  bare ASGI + psycopg (Uvicorn), closed loop", flush=True)
    bare_result = bare_limit(processes, seconds)
    print(f"    {bare_result}", flush=True)

    tenant, secret = make_tenant("api", PHONE_NUMBER_ID, messages_per_second=1000)
    key, raw = keys.create_key(tenant, name="Bench", scopes=["send", "read"], rate_limit_per_second=1_000_000)
    conversations = open_conversations(tenant)
    queries, counted_id = queries_per_send(raw, conversations[0])

    url = processes.web("api-web", "uvicorn")
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}

    def request_for(client_index, sequence):
        conversation = conversations[(client_index * 7919 + sequence) % len(conversations)]
        body = {"conversation_id": conversation, "text": {"body": f"Order {client_index}-{sequence} shipped"}}
        return "/api/v1/messages", {"content": json.dumps(body), "headers": headers}

    print("  inbox, POST /api/v1/messages (Uvicorn), closed loop", flush=True)
    cpu_before = cpu_seconds(processes.pid("api-web")) or 0
    target_rate = max(1.0, round(TARGET_SHARE * bare_result["accepted_per_second"], 1))
    try:
        accepted, latencies, statuses = asyncio.run(_closed_loop(url, seconds, request_for))
        cpu = (cpu_seconds(processes.pid("api-web")) or 0) - cpu_before
        result = _summary(accepted, latencies, statuses, seconds)
        print(f"  inbox, paced at {target_rate}/s (the target share of the bare limit)", flush=True)
        paced = asyncio.run(_paced(url, seconds, target_rate, lambda c, n: request_for(c, n + 10**6)))
    finally:
        processes.stop("api-web")
    result["paced"] = {"rate": target_rate, **_summary(*paced, seconds)}
    result["queries_per_request"] = queries
    result["web_cpu_ms_per_request"] = round(1000 * cpu / max(len(accepted), 1), 2)
    print(f"    {result}", flush=True)
    ids = [json.loads(body)["id"] for body in accepted + paced[0]] + [counted_id]
    result["sent_once"] = _send_all(processes, secret, ids)
    print(f"    sent: {result['sent_once']}", flush=True)
    share = (
        result["accepted_per_second"] / bare_result["accepted_per_second"] if bare_result["accepted_per_second"] else 0
    )
    return {
        "bare": bare_result,
        "inbox": result,
        "share_of_bare": round(share, 3),
        "concurrency": CONCURRENCY,
        "seconds": seconds,
    }


def _send_all(processes, secret, ids):
    """A worker sends what the API accepted through the fake Graph API; each exactly once?"""
    from whatsapp.models import Message

    port = free_port()
    fake_url = f"http://127.0.0.1:{port}"
    processes.spawn("api-fake-graph", "fake Graph API", ["-m", "whatsapp.simulator.fake_graph", "--port", str(port)])
    try:
        outbound._wait_for(fake_url)
        httpx.post(
            f"{fake_url}/_fake/numbers",
            json={"phone_number_id": PHONE_NUMBER_ID, "webhook_url": "", "app_secret": secret},
        ).raise_for_status()
        processes.worker("api-sender", queues="default", threads=16, env={"WHATSAPP_GRAPH_URL": fake_url})
        pending = Message.objects.filter(pk__in=ids, status__in=["queued", "sending"])
        deadline = time.monotonic() + 60 + len(ids) / 20
        while time.monotonic() < deadline and pending.exists():
            time.sleep(0.5)
        processes.stop("api-sender")
        sent = httpx.get(f"{fake_url}/_fake/sent", params={"phone_number_id": PHONE_NUMBER_ID}, timeout=60).json()
    finally:
        processes.stop("api-fake-graph")
    trackers = collections.Counter(record["body"].get("biz_opaque_callback_data") for record in sent["data"])
    wanted = {f"message:{pk}" for pk in ids}
    return {
        "accepted": len(ids),
        "sent": len(wanted & set(trackers)),
        "duplicates": sum(count - 1 for count in trackers.values() if count > 1),
        "missing": len(wanted - set(trackers)),
    }


def report_rows(api, add):
    inbox, bare_result = api["inbox"], api["bare"]
    sent = inbox["sent_once"]
    clean = sent["duplicates"] == 0 and sent["missing"] == 0
    add(
        (
            "api",
            f"bare ASGI + psycopg, closed loop × {api['concurrency']}",
            f"{bare_result['accepted_per_second']}/s",
            "",
            "",
        )
    )
    paced = inbox["paced"]
    add(
        (
            "api",
            f"POST /api/v1/messages accepted (text, open conversation), closed loop × {api['concurrency']}",
            f"{inbox['accepted_per_second']}/s = {api['share_of_bare']} × bare (p50 {inbox['p50_ms']} ms, "
            f"p99 {inbox['p99_ms']} ms at saturation)",
            f"≥ {TARGET_SHARE} × bare",
            "met" if api["share_of_bare"] >= TARGET_SHARE else "**not met**",
        )
    )
    add(
        (
            "api",
            f"the same, paced at {paced['rate']}/s ({TARGET_SHARE} × bare)",
            f"{paced['accepted_per_second']}/s, p50 {paced['p50_ms']} ms, p99 {paced['p99_ms']} ms",
            f"p99 < {TARGET_P99_MS} ms",
            "met"
            if paced["p99_ms"] < TARGET_P99_MS and paced["accepted_per_second"] >= 0.95 * paced["rate"]
            else "**not met**",
        )
    )
    add(
        (
            "api",
            "queries / web CPU per request",
            f"{inbox['queries_per_request']} / {inbox['web_cpu_ms_per_request']} ms",
            "",
            "",
        )
    )
    add(
        (
            "api",
            "accepted messages sent exactly once",
            f"{sent['sent']}/{sent['accepted']} sent, {sent['duplicates']} duplicates, {sent['missing']} missing",
            "each once",
            "met" if clean else "**not met**",
        )
    )
