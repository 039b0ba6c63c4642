"""Bounded request bodies for the endpoints anyone can flood (the webhook, the login pages).

Django's ASGI handler reads a whole body into a spooled file before any view runs, so a
view cannot refuse a huge chunked body early. This ASGI middleware can: a declared
Content-Length over the limit gets 413 before a byte is read, and a body without one is
read up to the limit and refused at the first byte past it, never held whole. Servers that
buffer a request before calling the app (Daphne does) still need a cap in front of them
(the proxy's client_max_body_size); servers that stream it (Uvicorn) are covered here."""

import json


class RequestBodyLimit:
    def __init__(self, app, limits, problem_prefixes=()):
        """`limits`: {path prefix: largest body in bytes}. Paths under `problem_prefixes` (the
        API's) are refused with an RFC 9457 problem document."""
        self.app = app
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))
        self.problem_prefixes = tuple(problem_prefixes)

    def limit_for(self, path):
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), None)

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        problem = scope.get("path", "").startswith(self.problem_prefixes) if self.problem_prefixes else False
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit, problem)
        messages, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > limit:
                return await _too_large(send, limit, problem)
            messages.append(message)
            if not message.get("more_body"):
                break
        return await self.app(scope, _replay(messages, receive), send)


def _replay(messages, receive):
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed


async def _too_large(send, limit, problem=False):
    content_type = b"application/json"
    body = {"error": f"Body over {limit} bytes."}
    if problem:
        content_type = b"application/problem+json"
        body = {
            "type": "/api/v1/problems/body-too-large",
            "title": "The body is too large",
            "status": 413,
            "detail": f"This endpoint takes bodies of up to {limit} bytes.",
        }
    body = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
