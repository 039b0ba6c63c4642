"""Every answer under /api/ that is an error is a problem document, whoever produced it:
the API's own handlers, Django's URL resolver (404), a method the route lacks (405), the
NUL filter (400), or an exception nobody expected (500, logged). Successful answers get the
key's RateLimit-* headers."""

import logging

from . import problems

logger = logging.getLogger(__name__)

PREFIX = "/api/"


class ApiProblems:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(PREFIX):
            return response
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response.setdefault(name, value)
        if response.status_code < 400 or response.get("Content-Type", "").startswith(problems.CONTENT_TYPE):
            return response
        problem = problems.for_status(response.status_code, _detail(response))
        answer = problems.response(problem)
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            if name in response:
                answer[name] = response[name]
        return answer

    def process_exception(self, request, exception):
        if not request.path.startswith(PREFIX):
            return None
        logger.exception("API request failed: %s %s", request.method, request.path)
        return problems.response(problems.Problem("internal-error", "Something went wrong on our side."))


def _detail(response):
    if response.status_code == 404:
        return "No such resource."
    if response.status_code == 405:
        return f"Allowed: {response.get('Allow', '')}."
    if response.get("Content-Type", "").startswith("text/plain") and not getattr(response, "streaming", False):
        return response.content.decode(errors="replace")[:300]
    return ""
