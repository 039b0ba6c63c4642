"""A webhook receiver for the outgoing webhooks stage: answers every POST with 204 after
`--delay` seconds (many at once), and appends "<webhook-id> <time>" to `--log`, so a
restarted receiver adds to the same record. `python -m bench.hook_receiver --port P --log F`."""

import argparse
import asyncio
import time

import uvicorn


def application(log_path, delay):
    log = open(log_path, "a", buffering=1)  # one line per delivery, flushed at once

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        await asyncio.sleep(delay)
        log.write(f"{headers.get(b'webhook-id', b'-').decode()} {time.time():.3f}\n")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    uvicorn.run(
        application(args.log, args.delay),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=60,
    )


if __name__ == "__main__":
    main()
