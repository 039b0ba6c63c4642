"""Bounded bodies on the endpoints anyone can flood: refused before being read whole."""

import asyncio

from inbox.body_limit import RequestBodyLimit

LIMIT = 1000


async def app(scope, receive, send):
    """Stands in for Django: reads the whole body and answers with its size."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(path, chunks, content_length=None):
    """Run the middleware on a request whose body arrives in chunks; returns (status,
    body, chunks the server had to hand over)."""
    handed, sent = [], []
    headers = [(b"content-length", str(content_length).encode())] if content_length is not None else []
    scope = {"type": "http", "path": path, "headers": headers}

    async def receive():
        chunk = chunks[len(handed)] if len(handed) < len(chunks) else b""
        handed.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": len(handed) < len(chunks)}

    async def send(message):
        sent.append(message)

    limited = RequestBodyLimit(app, {"/webhooks/": LIMIT, "/accounts/": 100})
    asyncio.run(limited(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], len(handed)


def test_a_body_within_the_limit_reaches_the_app_whole():
    assert call("/webhooks/whatsapp/acme/", [b"x" * 400, b"x" * 600]) == (200, b"1000", 2)


def test_a_chunked_body_over_the_limit_is_refused_at_the_first_byte_past_it():
    endless = [b"x" * 300] * 10_000  # 3 MB that would keep coming
    status, body, handed = call("/webhooks/whatsapp/acme/", endless)
    assert status == 413 and b"over 1000 bytes" in body
    assert handed == 4  # 1,200 bytes read, not 3 MB


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    assert call("/webhooks/whatsapp/acme/", [b"x" * 10], content_length=LIMIT + 1)[::2] == (413, 0)


def test_login_pages_have_a_smaller_limit_and_other_paths_none():
    assert call("/accounts/login/", [b"x" * 101])[0] == 413
    assert call("/t/acme/inbox/c/1/send-file/", [b"x" * 5000]) == (200, b"5000", 1)
