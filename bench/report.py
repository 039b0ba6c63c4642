"""The one table: every figure beside its target, as Markdown (stdout and results/latest.md)."""

import os
import platform
from datetime import UTC, datetime


def _ok(flag):
    return "met" if flag else "**not met**"


def _rate(result):
    sustained = result.get("sustained")
    return sustained["achieved_rate"] if sustained else 0


def render(results):
    rows = []
    add = rows.append
    if "ingest" in results:
        _ingest(results["ingest"], add)
    if "drain" in results:
        _drain(results["drain"], add)
    if "realtime" in results:
        _realtime(results["realtime"], add)
    if "midburst" in results:
        _midburst(results["midburst"], add)
    elif "ingest" in results:
        add(
            (
                "webhook → browser",
                "a customer's message posted in the middle of a 30,000-status burst",
                "not measured by this run (bench/run --only midburst)",
                "p50 < 250 ms; fair across workspaces",
                "n/a",
            )
        )
    if "pages" in results:
        _pages(results["pages"], add)
    if "outbound" in results:
        _outbound(results["outbound"], add)
    if "api" in results:
        from bench import api

        api.report_rows(results["api"], add)
    if "hooks" in results:
        _hooks(results["hooks"], add)
    for role, peak in results.get("memory_mb", {}).items():
        target = role.startswith(("web", "worker"))
        add(
            (
                "memory",
                f"peak RSS, {role}",
                f"{peak} MB",
                "< 200 MB" if target else "",
                _ok(peak < 200) if target else "",
            )
        )
    header = [
        f"# Benchmark results ({results['mode']} run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {os.cpu_count()} cores, {_memory_gb()} GB, {platform.python_implementation()} "
        f"{platform.python_version()}, PostgreSQL and Redis on the same machine. Run time: {results['minutes']} min.",
        "",
        "| part | measure | figure | target | stands |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(header + [f"| {' | '.join(str(cell) for cell in row)} |" for row in rows])


def _memory_gb():
    try:
        with open("/proc/meminfo") as meminfo:
            return round(int(meminfo.readline().split()[1]) / 1024 / 1024)
    except OSError:
        return "?"


def _ingest(ingest, add):
    bare = _rate(ingest["bare"]) if "bare" in ingest else 0
    if bare:
        b = ingest["bare"]["sustained"]
        add(
            (
                "ingest",
                "bare limit: raw ASGI + psycopg INSERT (Uvicorn)",
                f"{bare:.0f}/s (p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, lost {ingest['bare']['lost']})",
                "",
                "",
            )
        )
    bare_daphne = _rate(ingest["bare-daphne"]) if "bare-daphne" in ingest else 0
    if bare_daphne:
        b = ingest["bare-daphne"]["sustained"]
        add(
            (
                "ingest",
                "the same bare app under Daphne (Daphne's own ceiling)",
                f"{bare_daphne:.0f}/s = {bare_daphne / bare:.2f} × bare (p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, "
                f"lost {ingest['bare-daphne']['lost']})",
                "",
                "",
            )
        )
    for label, name in (
        ("uvicorn", "inbox under Uvicorn"),
        ("daphne", "inbox under Daphne"),
    ):
        if label not in ingest:
            continue
        result = ingest[label]
        sustained = result["sustained"]
        rate = _rate(result)
        ratio = rate / bare if bare else 0
        figure = (
            f"{rate:.0f}/s = {ratio:.2f} × bare (p50 {sustained['p50_ms']} ms, p99 {sustained['p99_ms']} ms, "
            f"lost {result['lost']})"
            if sustained
            else f"no rate passed (lost {result['lost']})"
        )
        if label == "daphne" and bare_daphne and sustained:
            figure += f"; {rate / bare_daphne:.2f} × the bare app under Daphne"
        target = "≥ 0.5 × bare, p50 < 250 ms, < 1% over 1 s, no loss"
        add(("ingest", name, figure, target, _ok(ratio >= 0.5 and result["lost"] == 0)))
    if "drain" in ingest:
        _drain(ingest["drain"], add)
    cost = ingest.get("processing_cost")
    if cost:
        add(
            (
                "ingest",
                f"worker CPU per event of the mix ({cost['events']} events, runner loop in the bench's process)",
                f"{cost['cpu_ms_per_event']} ms/event, {cost['queries_per_event']} queries/event",
                "≤ 1 ms/event",
                _ok(cost["cpu_ms_per_event"] <= 1),
            )
        )


def _drain(drain, add):
    """The target's row (the default configuration), then the others as context."""
    for run in drain["runs"]:
        figure = (
            f"{run['events_per_second']} events/s ({run['drained']} in {run['seconds']} s, {run['left']} left, "
            f"{run['failed']} failed; {run['with_messages']} with customers' messages); CPU per event: worker "
            f"{run['worker_cpu_ms_per_event']} ms, PostgreSQL {run['postgres_cpu_ms_per_event']} ms"
        )
        measure = (
            f"draining a burst of {drain['events']:,} webhooks of the mix, web server idle, "
            f"1 worker process × {run['threads']} thread(s)"
        )
        if run["threads"] == drain["default_threads"]:
            add(("ingest", measure + " (the default)", figure, "≥ 1,000 events/s from one process", _ok(run["met"])))
        else:
            add(("ingest", measure, figure, "(context)", ""))


def _realtime(realtime, add):
    for result in realtime.values():
        if not isinstance(result, dict) or "p50_ms" not in result:
            continue
        figure = (
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, first socket p50 "
            f"{result['first_socket_p50_ms']} ms ({result['received']}/{result['expected']} events received"
            + (
                f"; worker × {result['worker_threads']} threads: claim after {result['claim_wait_p50_ms']} ms, "
                f"run {result['run_p50_ms']} ms (p50)"
                if "run_p50_ms" in result
                else ""
            )
            + _live_steps(result)
            + ")"
        )
        good = result["p50_ms"] < 50 and result["p99_ms"] < 250 and result["received"] == result["expected"]
        add(("webhook → browser", f"{result['label']}", figure, "p50 < 50 ms, p99 < 250 ms", _ok(good)))


def _live_steps(result):
    """Under load: the probes' p50 steps and who used the cores (CPU ms per status webhook)."""
    steps, cpu = result.get("steps") or {}, result.get("cpu")
    text = ""
    if steps:
        text += (
            f"; p50 steps: stored {steps.get('stored_p50_ms')} ms, claimed {steps.get('claim_wait_p50_ms')} ms "
            f"later, the message stored {steps.get('in_batch_p50_ms')} ms into its batch of "
            f"{steps.get('batch_p50_ms')} ms, on the socket {steps.get('to_socket_p50_ms')} ms after"
        )
    if cpu:
        shares = ", ".join(f"{name} {ms}" for name, ms in cpu["ms_per_status_webhook"].items())
        text += f"; cores {round(100 * cpu['busy'])}% busy of {cpu['cores']}, CPU ms per status webhook: {shares}"
    return text


def _midburst(midburst, add):
    statuses, drain = midburst["statuses"], midburst["drain"]
    where = f"{midburst['agents']} sockets, 1 worker process × {midburst['worker_threads']} thread"
    rows = (
        ("burst", f"a customer's message posted in the middle of a {statuses:,}-status burst ({where})"),
        ("other", "another workspace's customer's message during that burst"),
    )
    for key, measure in rows:
        result = midburst[key]
        figure = (
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, first socket p50 {result['first_socket_p50_ms']} "
            f"ms ({result['received']}/{result['expected']} events received, {result['elsewhere']} in the other "
            f"workspace; p50 steps: stored {result.get('stored_p50_ms')} ms, claimed {result.get('claim_wait_p50_ms')} "
            f"ms later, the message stored {result.get('in_batch_p50_ms')} ms into its batch of "
            f"{result.get('batch_p50_ms')} ms, on the socket {result.get('to_socket_p50_ms')} ms after)"
        )
        good = result["p50_ms"] < 250 and result["received"] == result["expected"] and not result["elsewhere"]
        target = "p50 < 250 ms" if key == "burst" else "p50 < 250 ms, fair across workspaces"
        add(("webhook → browser", measure, figure, target, _ok(good)))
    add(
        (
            "webhook → browser",
            f"draining that burst ({statuses:,} status webhooks stored before the worker starts)",
            f"{drain['events_per_second']} events/s ({drain['drained']} in {drain['seconds']} s, "
            f"{drain['left']} left); CPU per event: worker {drain['worker_cpu_ms_per_event']} ms, web server "
            f"{drain['web_cpu_ms_per_event']} ms, the agents' sockets {drain['client_cpu_ms_per_event']} ms",
            "(context)",
            "",
        )
    )


def _pages(pages, add):
    seed = pages["seed"]
    add(("pages", "seed (COPY)", f"{seed['seconds']} s for {seed['summary']}", "", ""))
    if "catch_up_seconds" in seed:
        add(
            (
                "pages",
                "dashboard facts after the bulk load",
                f"recounted in {seed['catch_up_seconds']} s (the maintenance job's work, done before measuring)",
                "",
                "",
            )
        )
    for page in pages["pages"]:
        if page.get("skipped"):
            add(("pages", page["name"], page["skipped"], "< 150 ms", "n/a"))
            continue
        figure = (
            f"{page['server_ms']} ms server, {page['queries']} queries "
            f"({page['queries_small']} on a small tenant), HTTP {page['http_ms']} ms"
        )
        good = page["server_ms"] < 150 and page["queries"] == page["queries_small"]
        add(("pages", page["name"], figure, "< 150 ms, queries flat", _ok(good)))


def _outbound(outbound, add):
    for run in outbound["runs"]:
        clean = run["duplicates"] == 0 and run["missing"] == 0 and run["in_order"]
        cpu = run.get("worker_cpu_ms_per_message")
        figure = (
            f"{run['per_second']} msg/s ({run['sent']}/{run['messages']} sent, {run['duplicates']} duplicates, "
            f"{run['missing']} missing, order {'kept' if run['in_order'] else 'BROKEN'}; worker CPU {cpu} ms/msg; "
            f"busiest second of a number {run.get('busiest_second')})"
        )
        label = f"fake answering in {outbound['delay_ms']} ms, {run['label']}"
        if run.get("limit"):
            good = clean and run["per_second"] >= 0.9 * run["limit"] and run["busiest_second"] <= run["limit"]
            add(("outbound", label, figure, f"holds {run['limit']}/s, never more in a second, each once", _ok(good)))
        elif run["workers"] == 1:
            good = clean and run["per_second"] >= 300 and cpu is not None and cpu <= 2
            add(("outbound", label, figure, "≥ 300 msg/s from one process, ≤ 2 ms CPU/msg, each once", _ok(good)))
        else:
            add(("outbound", label, figure, "(context), each once", _ok(clean)))
    cost = outbound.get("cost")
    if cost:
        add(
            (
                "outbound",
                f"worker CPU and queries per send ({cost['sends']} sends, runner loop in the bench's process, "
                "fake answering at once)",
                f"{cost['cpu_ms_per_send']} ms/send, {cost['queries_per_send']} queries/send",
                "≤ 2 ms/send",
                _ok(cost["cpu_ms_per_send"] <= 2),
            )
        )


def _hooks(hooks, add):
    steady, outage = hooks["steady"], hooks["outage"]
    add(
        (
            "outgoing webhooks",
            f"delivered/s, 1 worker, receiver answering in {hooks['delay_ms']} ms "
            f"({steady['events']} events at {steady['rate']}/s)",
            f"{steady['per_second']}/s, {steady['missing']} lost, {steady['doubled']} doubled, "
            f"last {steady['lag_after_last_event_s']} s after the last event; "
            f"worker CPU {steady.get('worker_cpu_ms_per_event', '?')} ms per event",
            "500/s, none lost or doubled",
            _ok(steady["per_second"] >= 500 * 0.95 and not steady["missing"] and not steady["doubled"]),
        )
    )
    add(
        (
            "outgoing webhooks",
            f"receiver down {outage['downtime_s']:g} s ({outage['events']} events meanwhile)",
            f"all in {outage['all_in_s_after_return']} s after it returned; "
            f"{outage['missing']} lost, {outage['doubled']} doubled",
            "every event delivered",
            _ok(not outage["missing"]),
        )
    )
