"""API v1: the NinjaAPI, its error handlers (every error a problem document) and its routers.
Schema at /api/v1/openapi.json, interactive docs at /api/v1/docs (assets from our static files)."""

import logging

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from hooks.actions import ActionError as HookRefused
from hooks.safety import UnsafeURL
from whatsapp.cloud.api import CloudAPIError
from whatsapp.contacts.actions import ContactConflict
from whatsapp.errors import ActionError
from whatsapp.templates_admin.drafts import DraftError

from . import contacts, conversations, messages, numbers, problems, resources, templates, webhooks
from .auth import ApiKeyAuth
from .common import strict_json
from .problems import Problem

logger = logging.getLogger(__name__)

DESCRIPTION = """The team inbox's REST API. Authenticate with `Authorization: Bearer <key>` (keys are
made by workspace admins). Errors are `application/problem+json` (RFC 9457). See docs/api.md."""


class StrictJSON(Parser):
    """JSON that every field can hold (common.strict_json)."""

    def parse_body(self, request):
        return strict_json(request.body)


api = NinjaAPI(
    parser=StrictJSON(),
    title="Team Inbox API",
    version="1",
    description=DESCRIPTION,
    auth=ApiKeyAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
for router in (
    messages.router,
    conversations.router,
    contacts.router,
    templates.router,
    numbers.router,
    resources.router,
    webhooks.router,
):
    api.add_router("", router)


@api.get("/problems/{kind}", auth=None, tags=["problems"], operation_id="describe_problem", response={200: dict})
def describe_problem(request, kind: str):
    """What a problem `type` means: each error's `type` is this URL."""
    if kind not in problems.KINDS:
        raise Problem("not-found", "No such problem type.")
    status, title = problems.KINDS[kind]
    return {"type": problems.TYPE_BASE + kind, "title": title, "status": status, "documentation": "docs/api.md#errors"}


def _handler(exception_type):
    def register(function):
        api.add_exception_handler(exception_type, lambda request, error: problems.response(function(error)))
        return function

    return register


@_handler(Problem)
def _problem(error):
    return error


@_handler(ValidationError)
def _invalid(error):
    fields = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", "")), "type": item.get("type")}
        for item in error.errors[:50]
    ]
    first = fields[0] if fields else {"loc": [], "msg": ""}
    detail = f"{'.'.join(first['loc'][1:]) or 'body'}: {first['msg']}"
    return Problem("validation-error", detail, errors=fields)


@_handler(AuthenticationError)
def _unauthenticated(error):
    return Problem("unauthorized", "A valid key is required.", headers={"WWW-Authenticate": 'Bearer realm="api"'})


@_handler(HttpError)
def _http_error(error):
    if isinstance(error.__cause__, Problem):
        return error.__cause__
    if isinstance(error.__cause__, RequestDataTooBig):
        return Problem("body-too-large", "The body is larger than this endpoint takes.")
    if error.status_code == 400 and str(error).startswith("Cannot parse request body"):
        return Problem("invalid-json", "The body could not be read as JSON.")
    return problems.for_status(error.status_code, str(error))


@_handler(RequestDataTooBig)
def _too_big(error):
    return Problem("body-too-large", "The body is larger than this endpoint takes.")


@_handler(MultiPartParserError)
@_handler(SuspiciousOperation)
@_handler(BadRequest)
def _unreadable(error):
    return Problem("bad-request", f"The request could not be read: {error}"[:300])


@_handler(Http404)
def _not_found(error):
    return Problem("not-found", str(error) or "No such resource.")


@_handler(PermissionDenied)
def _forbidden(error):
    return Problem("insufficient-scope", str(error) or "This key may not do that.")


@_handler(ContactConflict)
def _conflict(error):
    return Problem("conflict", str(error))


@_handler(DraftError)
def _draft_refused(error):
    fields = [{"loc": ["body", name], "msg": message, "type": "template"} for name, message in error.errors.items()]
    return Problem("validation-error", str(error), errors=fields)


@_handler(ActionError)
def _refused(error):
    cause = error.__cause__
    if isinstance(cause, CloudAPIError):  # an action that asked Meta, which said no
        kind = "meta-unavailable" if cause.is_outage else "meta-error"
        return Problem(kind, str(error), meta_code=cause.code, meta_message=cause.message)
    return Problem("action-refused", str(error))


@_handler(HookRefused)
def _hook_refused(error):
    if isinstance(error.__cause__, UnsafeURL):  # the SSRF guard: a URL the inbox will not call
        return Problem("unsafe-url", str(error), errors=[{"loc": ["body", "url"], "msg": str(error), "type": "url"}])
    return Problem("action-refused", str(error))


@_handler(CloudAPIError)
def _meta_error(error):
    if error.is_outage:
        return Problem("meta-unavailable", error.for_agent, meta_code=error.code)
    return Problem("meta-error", error.for_agent, meta_code=error.code, meta_message=error.message)


@_handler(Exception)
def _unexpected(error):
    logger.error("API request failed", exc_info=error)
    return Problem("internal-error", "Something went wrong on our side.")
