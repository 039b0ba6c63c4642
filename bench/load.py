"""An open-loop load generator for signed webhooks: requests leave at their planned times,
whatever the server's pace, and each latency counts from the planned time (so a slow
server is not hidden by a waiting client). Runs in its own process, on uvloop, over raw
keep-alive HTTP/1.1 connections to 127.0.0.1 only.

    python -m bench.load --port 8000 --slug acme --secret S --rates 500,1000 --duration 5 --out r.json
"""

import argparse
import asyncio
import hashlib
import json
import random

from whatsapp.simulator import payloads

PHONE_NUMBER_ID = "900000001"
MAX_STEP_EXTRA_SECONDS = 10  # a step's requests must all be answered this long after its end


def status_bodies(count, seed=2):
    """Status updates only: what a number sending at Meta's top tier brings (3 per message)."""
    rng = random.Random(seed)
    return [payloads.encode(_status(rng, f"1555{rng.randrange(10**7):07d}")) for _ in range(count)]


def realistic_bodies(count, seed=1):
    """Signed-body candidates like Meta's traffic: mostly single statuses, customer messages,
    some batches of statuses, and about 1% resends of an earlier body."""
    rng = random.Random(seed)
    bodies = []
    for index in range(count):
        roll = rng.random()
        customer = f"1555{rng.randrange(10**7):07d}"
        if bodies and roll < 0.01:
            bodies.append(bodies[rng.randrange(len(bodies))])
            continue
        if roll < 0.56:
            payload = _status(rng, customer)
        elif roll < 0.81:
            payload = payloads.text_message(PHONE_NUMBER_ID, customer, f"Hello, order {index} please", name="Bench")
        elif roll < 0.96:
            payload = payloads.batch(
                *(_status(rng, f"1555{rng.randrange(10**7):07d}") for _ in range(rng.randint(2, 20)))
            )
        else:
            payload = payloads.batch(
                payloads.text_message(PHONE_NUMBER_ID, customer, "And one more thing"),
                _status(rng, customer),
                _status(rng, customer),
            )
        bodies.append(payloads.encode(payload))
    return bodies


def _status(rng, customer):
    return payloads.status(
        PHONE_NUMBER_ID,
        payloads.new_wamid(),
        rng.choice(payloads.STATUS_ORDER),
        customer,
        tracker=str(rng.randrange(10**9)),
    )


def http_request(host, port, path, body, secret):
    signature = payloads.sign(body, secret)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Hub-Signature-256: {signature}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run_step(host, port, requests, rate, duration, connections):
    """Send len(requests) requests at `rate`/s. Returns latencies (s), status counts and
    the indexes of the requests answered 200."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    latencies, statuses, acknowledged = [], {}, []
    start = loop.time() + 0.1

    async def producer():
        for index in range(len(requests)):
            planned = start + index / rate
            if planned > loop.time() + 0.001:
                await asyncio.sleep(planned - loop.time())
            queue.put_nowait((planned, index))
        for _ in range(connections):
            queue.put_nowait(None)

    async def connection():
        reader = writer = None
        while (item := await queue.get()) is not None:
            planned, index = item
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(requests[index])
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status, writer = "error", None
            latencies.append(loop.time() - planned)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                acknowledged.append(index)
        if writer is not None:
            writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await producer()
    done, pending = await asyncio.wait(tasks, timeout=duration + MAX_STEP_EXTRA_SECONDS)
    for task in pending:
        task.cancel()
    elapsed = loop.time() - start
    unanswered = len(requests) - len(latencies)
    if unanswered:
        statuses["unanswered"] = unanswered
    return latencies, statuses, acknowledged, elapsed


def summary(rate, latencies, statuses, sent, elapsed):
    ordered = sorted(latencies) or [float("inf")]
    ok = statuses.get(200, 0)
    result = {
        "target_rate": rate,
        "sent": sent,
        "ok": ok,
        "achieved_rate": round(ok / elapsed, 1) if elapsed else 0,
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "over_1s_pct": round(100 * sum(1 for value in latencies if value > 1) / max(1, len(latencies)), 2),
        "statuses": {str(key): value for key, value in statuses.items()},
    }
    # Meta's asks, and every request answered 200 while keeping pace.
    result["passed"] = (
        ok == sent
        and result["p50_ms"] < 250
        and result["over_1s_pct"] < 1
        and result["p99_ms"] < 1000
        and result["achieved_rate"] >= 0.95 * rate
    )
    return result


async def ramp(args):
    make = status_bodies if args.statuses_only else realistic_bodies
    bodies = make(int((sum(args.rates) + args.bisect * max(args.rates)) * args.duration) + 100)
    path = f"/webhooks/whatsapp/{args.slug}/" if not args.path else args.path
    cursor, steps, acknowledged = 0, [], set()

    async def step(rate):
        nonlocal cursor
        count = int(rate * args.duration)
        chunk = bodies[cursor : cursor + count]
        cursor += count
        requests = [http_request("127.0.0.1", args.port, path, body, args.secret) for body in chunk]
        latencies, statuses, ok_indexes, elapsed = await run_step(
            "127.0.0.1", args.port, requests, rate, args.duration, args.connections
        )
        acknowledged.update(hashlib.sha256(chunk[index]).hexdigest() for index in ok_indexes)
        result = summary(rate, latencies, statuses, count, elapsed)
        steps.append(result)
        print(json.dumps(result), flush=True)
        await asyncio.sleep(args.pause)
        return result["passed"]

    best, failed_at = None, None
    for rate in args.rates:
        if await step(rate):
            best = rate
        else:
            failed_at = rate
            break
    low = best or 0
    for _ in range(args.bisect if failed_at else 0):
        middle = int((low + failed_at) / 2)
        if middle <= low or middle >= failed_at:
            break
        if await step(middle):
            low = middle
        else:
            failed_at = middle
    passing = [s for s in steps if s["passed"]]
    sustained = max(passing, key=lambda s: s["achieved_rate"]) if passing else None
    return {"steps": steps, "sustained": sustained, "acknowledged": sorted(acknowledged), "sent_bodies": cursor}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slug", default="")
    parser.add_argument("--path", default="")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rates", type=lambda text: [int(v) for v in text.split(",")], required=True)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--bisect", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pause", type=float, default=1.5)
    parser.add_argument("--statuses-only", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        result = uvloop.run(ramp(args))
    except ImportError:
        result = asyncio.run(ramp(args))
    with open(args.out, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
