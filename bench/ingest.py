"""(a) Webhook ingest: signed, realistic webhooks at rising rates against the bare limit
(a raw ASGI + psycopg insert of the same bodies) and the inbox under Uvicorn and Daphne;
then every acknowledged body is looked up in the database (zero loss)."""

import json
import subprocess
import sys
import tempfile
import time

import psycopg

from bench import bare
from bench.load import PHONE_NUMBER_ID
from bench.procs import BASE_DIR, free_port
from bench.setup import database_dsn, make_tenant


def ramp(processes, port, secret, rates, duration, bisect, slug="", path=""):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--port",
        str(port),
        "--secret",
        secret,
        "--rates",
        ",".join(map(str, rates)),
        "--duration",
        str(duration),
        "--bisect",
        str(bisect),
        "--out",
        out,
    ]
    command += ["--slug", slug] if slug else ["--path", path]
    sampler_stop = time.monotonic() + duration * (len(rates) + bisect + 2) * 3 + 120
    load = subprocess.Popen(command, cwd=BASE_DIR, env=processes.environment, stdout=subprocess.PIPE, text=True)
    for line in load.stdout:  # one line per step, as it ends
        processes.sample()
        step = json.loads(line)
        print(
            f"    {step['target_rate']:>5}/s -> {step['achieved_rate']:>7}/s  p50 {step['p50_ms']:>7} ms  "
            f"p99 {step['p99_ms']:>7} ms  {'ok' if step['passed'] else 'FAIL ' + str(step['statuses'])}",
            flush=True,
        )
        if time.monotonic() > sampler_stop:
            break
    load.wait(60)
    with open(out) as result:
        return json.load(result)


def stored_hashes(table, tenant_id=None):
    with psycopg.connect(database_dsn()) as connection:
        if tenant_id is None:
            rows = connection.execute(f"SELECT body_sha256 FROM {table}")
        else:
            rows = connection.execute(f"SELECT body_sha256 FROM {table} WHERE tenant_id = %s", (tenant_id,))
        return {row[0] for row in rows}


BARE_SERVERS = {
    "uvicorn": lambda port: [
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ],
    "daphne": lambda port: ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.bare:app"],
}


def bare_limit(processes, rates, duration, bisect, server="uvicorn"):
    """The bare app under `server`: under Daphne it shows what Daphne itself allows."""
    secret = "bare-app-secret-0123456789"
    with psycopg.connect(database_dsn(), autocommit=True) as connection:
        connection.execute(bare.TABLE_SQL)
        connection.execute("TRUNCATE bench_bare_event")
    port = free_port()
    processes.spawn(
        "bare", "bare ASGI", BARE_SERVERS[server](port), env={"BARE_DSN": database_dsn(), "BARE_SECRET": secret}
    )
    processes.wait_healthy("bare", f"http://127.0.0.1:{port}")
    try:
        result = ramp(processes, port, secret, rates, duration, bisect, path="/hook")
    finally:
        processes.stop("bare")
    result["lost"] = len(set(result["acknowledged"]) - stored_hashes("bench_bare_event"))
    return result


def inbox_ingest(processes, server, rates, duration, bisect, env=None, label=None):
    """The inbox's webhook under `server`, on a tenant of its own."""
    from whatsapp.models import WebhookEvent

    slug = f"ingest-{label or server}"
    tenant, secret = make_tenant(slug, PHONE_NUMBER_ID)
    url = processes.web(slug, server, env)
    try:
        result = ramp(processes, int(url.rsplit(":", 1)[1]), secret, rates, duration, bisect, slug=slug)
    finally:
        processes.stop(slug)
    result["lost"] = len(set(result["acknowledged"]) - stored_hashes(WebhookEvent._meta.db_table, tenant.pk))
    result["tenant_id"] = tenant.pk
    return result


def drop_backlog():
    """Throw away the processing jobs the ingest runs left, so later stages start clean."""
    from django_tasks_db.models import DBTaskResult

    from whatsapp.models import WebhookEvent

    DBTaskResult.objects.filter(queue_name="webhooks", status="READY").delete()
    WebhookEvent.objects.filter(tenant__slug__startswith="ingest-", state="pending").update(
        state="failed", error="Benchmark backlog, not processed."
    )
    vacuum(DBTaskResult._meta.db_table)


def vacuum(table):
    """What autovacuum does in time: tens of thousands of deleted jobs otherwise slow every
    worker's claim query (measured 20 ms a claim) until it runs."""
    with psycopg.connect(database_dsn(), autocommit=True) as connection:
        connection.execute(f"VACUUM ANALYZE {table}")
