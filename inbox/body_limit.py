"""Bounded request bodies for the endpoints anyone can flood (the webhook, the login pages).

Django's ASGI handler reads a whole body into a spooled file before any view runs, so a
view cannot refuse a huge chunked body early. This ASGI middleware can: a declared
Content-Length over the limit gets 413 before a byte is read, and a body without one is
read up to the limit and refused at the first byte past it, never held whole. Servers that
buffer a request before calling the app (Daphne does) still need a cap in front of them
(the proxy's client_max_body_size); servers that stream it (Uvicorn) are covered here."""

import json


class RequestBodyLimit:
    def __init__(self, app, limits):
        """`limits`: {path prefix: largest body in bytes}."""
        self.app = app
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))

    def limit_for(self, path):
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), None)

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        messages, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > limit:
                return await _too_large(send, limit)
            messages.append(message)
            if not message.get("more_body"):
                break
        return await self.app(scope, _replay(messages, receive), send)


def _replay(messages, receive):
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed


async def _too_large(send, limit):
    body = json.dumps({"error": f"Body over {limit} bytes."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
