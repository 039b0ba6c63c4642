"""Run the benchmarks and print one table: `bench/run [--quick] [--only ingest,realtime,…]`."""

import argparse
import json
import time
from pathlib import Path

from bench import procs, report, setup

STAGES = ["ingest", "realtime", "midburst", "outbound", "pages", "api", "hooks"]

MODES = {
    # rates: the steps of the ingest ramp; the first failing one is bisected `bisect` times.
    "quick": {
        "rates": [250, 500, 1000, 1500, 2000, 3000, 4000],
        "duration": 3,
        "bisect": 1,
        "drain_events": 6000,
        "probes": 20,
        "load_seconds": 8,
        "burst_statuses": 6000,
        "burst_probes": 20,
        "outbound_messages": 400,
        "outbound_workers": [(1, 8)],
        "cost_events": 600,
        "scale": 0.05,
        "page_runs": 3,
        "api_seconds": 5,
        "hooks_rate": 500,
        "hooks_seconds": 10,
        "hooks_downtime": 10,
    },
    "full": {
        "rates": [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000],
        "duration": 6,
        "bisect": 2,
        "drain_events": 30000,
        "drain_threads": "others",  # the default's, then the others of 1-3 threads as context
        "probes": 60,
        "load_seconds": 20,
        "burst_statuses": 30000,
        "burst_probes": 20,
        "outbound_messages": 2000,
        "outbound_workers": [(1, 8), (2, 8)],
        "cost_events": 3000,
        "scale": 1.0,
        "page_runs": 7,
        "api_seconds": 15,
        "hooks_rate": 500,
        "hooks_seconds": 30,
        "hooks_downtime": 60,
    },
}


def main():
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few minutes, less data (default: full run)")
    parser.add_argument(
        "--only", default=",".join(STAGES), help=f"stages to run, of {','.join(STAGES)}, drain (ingest's drain alone)"
    )
    parser.add_argument("--keep-data", action="store_true", help="reuse inbox_bench as it is (seeded data too)")
    parser.add_argument("--scale", type=float, help="seed scale factor (1.0 = 100k contacts, 2M messages)")
    parser.add_argument("--hooks-downtime", type=float, help="seconds the webhook receiver is down (full: 60)")
    parser.add_argument("--drain-threads", help="threads of the drain's worker, e.g. 1,2,3 (default: the default's)")
    parser.add_argument("--results", default=str(Path(__file__).parent / "results" / "latest.md"))
    args = parser.parse_args()
    mode = dict(MODES["quick" if args.quick else "full"])
    if args.scale:
        mode["scale"] = args.scale
    if args.hooks_downtime is not None:
        mode["hooks_downtime"] = args.hooks_downtime
    mode["keep_data"] = args.keep_data
    mode["drain_threads"] = drain_threads(args.drain_threads or mode.get("drain_threads"))
    stages = [stage for stage in args.only.split(",") if stage]

    started = time.monotonic()
    setup.fresh_database(keep=args.keep_data)
    setup.django_setup()
    processes = procs.Processes(setup.ENVIRONMENT)
    results = {"mode": "quick" if args.quick else "full", "stages": stages}
    try:
        for stage in [*STAGES, "drain"]:  # drain: the ingest stage's drain alone
            if stage in stages:
                print(f"== {stage}", flush=True)
                results[stage] = globals()[f"run_{stage}"](processes, mode, results)
    finally:
        processes.stop()
    results["memory_mb"] = {role: round(peak) for role, peak in sorted(processes.peaks.items())}
    results["minutes"] = round((time.monotonic() - started) / 60, 1)
    table = report.render(results)
    print(table)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(table + "\n")
    Path(args.results).with_suffix(".json").write_text(json.dumps(results, indent=1, default=str) + "\n")


def run_ingest(processes, mode, results):
    from bench import ingest

    ramp = (mode["rates"], mode["duration"], mode["bisect"])
    out = {}
    print("  bare ASGI + psycopg (Uvicorn)", flush=True)
    out["bare"] = ingest.bare_limit(processes, *ramp)
    print("  bare ASGI + psycopg (Daphne)", flush=True)
    out["bare-daphne"] = ingest.bare_limit(processes, *ramp, server="daphne")
    for server in ("uvicorn", "daphne"):
        print(f"  inbox, {server}", flush=True)
        out[server] = ingest.inbox_ingest(processes, server, *ramp, label=server)
    ingest.drop_backlog()
    if "drain" not in results["stages"]:  # else that stage runs it
        out["drain"] = run_drain(processes, mode, results)
    from bench import process_cost

    out["processing_cost"] = process_cost.measure(mode["cost_events"])
    print(f"  processing cost in this process: {out['processing_cost']}", flush=True)
    for result in out.values():
        result.pop("acknowledged", None)
    return out


def run_drain(processes, mode, results):
    from bench import drain

    return drain.run(processes, mode)


def drain_threads(given):
    """The drain's thread counts: the default configuration's first."""
    if given == "others":
        return [procs.WEBHOOK_WORKER_THREADS, *(n for n in (1, 2, 3) if n != procs.WEBHOOK_WORKER_THREADS)]
    return [int(n) for n in given.split(",")] if given else [procs.WEBHOOK_WORKER_THREADS]


def run_realtime(processes, mode, results):
    from bench import realtime

    ingest = results.get("ingest", {}).get("uvicorn", {}).get("sustained") or {}
    return realtime.run(processes, mode, ingest.get("achieved_rate"))


def run_midburst(processes, mode, results):
    from bench import midburst

    return midburst.run(processes, mode)


def run_outbound(processes, mode, results):
    from bench import outbound

    return outbound.run(processes, mode)


def run_hooks(processes, mode, results):
    from bench import hooks

    return hooks.run(processes, mode)


def run_pages(processes, mode, results):
    from bench import pages, seed

    seeded = seed.run(mode["scale"], reuse=mode.get("keep_data", False))
    seeded["catch_up_seconds"] = seed.catch_up()
    return {"seed": seeded, **pages.run(processes, seeded, mode)}


def run_api(processes, mode, results):
    from bench import api

    return api.run(processes, mode)


if __name__ == "__main__":
    main()
