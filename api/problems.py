"""Errors as RFC 9457 problem details (`application/problem+json`): `type` (stable, one per
kind of error, documented in docs/api.md), `title`, `status`, `detail`, and extra members
where they help (`errors` for invalid fields, `meta_code` for an error Meta gave)."""

import json

from django.http import HttpResponse

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

# type: (status, title)
KINDS = {
    "bad-request": (400, "Bad request"),
    "invalid-json": (400, "The body is not valid JSON"),
    "unauthorized": (401, "A valid API key is required"),
    "insufficient-scope": (403, "The key lacks the scope for this"),
    "insufficient-role": (403, "Only an owner's key may do this"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "body-too-large": (413, "The body is too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "The request is not valid"),
    "action-refused": (422, "The inbox refused the request"),
    "idempotency-key-reused": (422, "The Idempotency-Key was used for another request"),
    "meta-error": (422, "WhatsApp refused the request"),
    "unsafe-url": (422, "The URL may not be called"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Internal error"),
    "meta-unavailable": (502, "WhatsApp could not be reached"),
}

# Statuses Django or a server may answer with on its own, and the problem each stands for.
BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "insufficient-scope",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


class Problem(Exception):
    """Raise to answer with a problem. `extra` adds members; `headers` adds headers."""

    def __init__(self, kind, detail="", *, status=None, headers=None, **extra):
        self.kind = kind
        self.status = status or KINDS[kind][0]
        self.detail = str(detail)
        self.headers = headers or {}
        self.extra = extra
        super().__init__(kind, detail)

    def body(self):
        return {
            "type": TYPE_BASE + self.kind,
            "title": KINDS[self.kind][1],
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def response(problem):
    answer = HttpResponse(json.dumps(problem.body()), status=problem.status, content_type=CONTENT_TYPE)
    for name, value in problem.headers.items():
        answer[name] = value
    return answer


def for_status(status, detail=""):
    """The problem for a status Django or the server chose (404, 405, 413, …)."""
    kind = BY_STATUS.get(status, "internal-error" if status >= 500 else "bad-request")
    return Problem(kind, detail, status=status)
