"""The physical limit the issue measures against: a bare ASGI app that checks the
signature and does one INSERT … ON CONFLICT of the same body with psycopg's async pool,
and nothing else (no tenant lookup, no task). Served by Uvicorn (uvloop, httptools):

    BARE_DSN=postgresql://… BARE_SECRET=… uvicorn bench.bare:app
"""

import hashlib
import hmac
import os

from psycopg_pool import AsyncConnectionPool

TABLE_SQL = """CREATE TABLE IF NOT EXISTS bench_bare_event (
    id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL,
    body_sha256 varchar(64) NOT NULL UNIQUE, deliveries integer NOT NULL DEFAULT 1)"""
INSERT_SQL = """INSERT INTO bench_bare_event (body, body_sha256) VALUES (%s, %s)
    ON CONFLICT (body_sha256) DO UPDATE SET deliveries = bench_bare_event.deliveries + 1"""

SECRET = os.environ.get("BARE_SECRET", "").encode()
pool = None


async def app(scope, receive, send):
    global pool
    if scope["type"] != "http":
        return
    if scope["path"] == "/healthz":
        return await _answer(send, 200, b"ok")
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    header = dict(scope["headers"]).get(b"x-hub-signature-256", b"").decode()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header, expected):
        return await _answer(send, 403, b"bad signature")
    if pool is None:
        pool = AsyncConnectionPool(
            os.environ["BARE_DSN"], min_size=1, max_size=8, kwargs={"autocommit": True}, open=False
        )
        await pool.open()
    async with pool.connection() as connection:
        await connection.execute(INSERT_SQL, (body.decode(), hashlib.sha256(body).hexdigest()))
    await _answer(send, 200, b"ok")


async def _answer(send, status, body):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
