"""The logs pages, for tenant admins: every webhook Meta sent, the posts refused for their
signature (counted per minute), and our Graph API calls."""

import json
import re
from datetime import timedelta

from django.contrib import messages as flash
from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inbox import paging
from tenants.access import tenant_view
from tenants.models import Role
from whatsapp import webhook_body
from whatsapp.logs import actions as log_actions
from whatsapp.models import GraphCall, WebhookEvent, WebhookReject

# A search for a wamid or a phone number (or a phone number or user id) reads the identifiers
# each event names (WebhookEvent.search_terms, a GIN index on PostgreSQL): fast over any dates.
# Other text reads the bodies themselves: a trigram index would make that instant, but it cost
# a quarter of the webhook's ingest rate (bench/, 1,479/s with it, 1,995/s without). So
# without dates a search looks at this many recent days (~65 ms at 120,000 events).
SEARCH_DAYS = 7
IDENTIFIER = re.compile(r"wamid\.[A-Za-z0-9_=+/.-]{1,250}|\d{7,20}")
QUERY_MAX = 200  # characters of a text search
# Sends and read receipts go to /messages; uploads, media URLs and downloads are the rest.
GRAPH_KINDS = ["messages", "media"]
KINDS = [
    "messages",
    "statuses",
    "errors",
    "message_template_status_update",
    "phone_number_quality_update",
    "account_update",
    "user_preferences",
]


def access_event(membership, event_id):
    try:
        return WebhookEvent.objects.get(pk=event_id, tenant=membership.tenant)
    except (WebhookEvent.DoesNotExist, ValueError):
        raise Http404("No such event.")


def access_reject(membership, reject_id):
    try:
        return WebhookReject.objects.get(pk=reject_id, tenant=membership.tenant)
    except WebhookReject.DoesNotExist:
        raise Http404("No such minute of rejected posts.")


def pretty_body(body):
    """The body indented for reading, or as stored when it is no JSON object (a failed
    event's, possibly nested too deeply for the parser or the encoder)."""
    try:
        return json.dumps(webhook_body.read_payload(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


def filter_events(tenant, params):
    """Events matching the page's filters (key_page orders and pages them)."""
    events = WebhookEvent.objects.filter(tenant=tenant).defer("body")
    if params.get("state") in WebhookEvent.State.values:
        events = events.filter(state=params["state"])
    if params.get("kind"):
        events = events.filter(Q(item_counts__has_key=params["kind"]) | Q(fields__contains=params["kind"]))
    if text := params.get("q", "").strip()[:QUERY_MAX]:
        events = events.filter(_text_search(text))
    return paging.between_dates(events, params, "received_at")


def _text_search(text):
    """Events naming the identifier `text` (a wamid, or a number of 7 to 20 digits; a leading
    + is dropped) by their search terms; for other text, events whose body holds it."""
    identifier = text.removeprefix("+")
    if connection.vendor == "postgresql" and IDENTIFIER.fullmatch(identifier):
        return Q(search_terms__contains=[identifier])
    return Q(body__contains=text)


def filter_calls(tenant, params):
    """Graph API calls matching the page's filters."""
    calls = GraphCall.objects.filter(tenant=tenant)
    if params.get("state") == "ok":
        calls = calls.filter(status_code__lt=400)
    elif params.get("state") == "error":
        calls = calls.filter(Q(status_code__gte=400) | Q(status_code__isnull=True))
    if params.get("kind") == "messages":
        calls = calls.filter(path__endswith="/messages")
    elif params.get("kind") == "media":
        calls = calls.exclude(path__endswith="/messages")
    if text := params.get("q", "")[:QUERY_MAX]:
        calls = calls.filter(Q(path__contains=text) | Q(error_message__contains=text))
    return paging.between_dates(calls, params, "started_at")


def filter_rejects(tenant, params):
    """Minutes with posts refused for their signature, in the page's dates."""
    return paging.between_dates(WebhookReject.objects.filter(tenant=tenant).defer("sample"), params, "minute")


def key_page(tenant, rows, params, by):
    """A page of one of the logs, newest first by `by`; its key is one of the tenant's rows."""
    return paging.key_page(rows, params, scope=rows.model.objects.filter(tenant=tenant), by=by)


def with_search_window(params):
    """The filters, with `since` set SEARCH_DAYS back when a text search names no dates (the
    form then shows the date, so the admin sees the window and can widen it)."""
    if not params.get("q") or params.get("since") or params.get("until"):
        return params
    params = params.copy()
    params["since"] = (timezone.localdate() - timedelta(days=SEARCH_DAYS)).isoformat()
    return params


@require_GET
@tenant_view(role=Role.ADMIN)
def logs(request, membership):
    params = with_search_window(request.GET)
    page = key_page(membership.tenant, filter_events(membership.tenant, params), params, "received_at")
    return render(
        request,
        "whatsapp/logs.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "events": page.pop("rows"),
            **page,
            "states": WebhookEvent.State.choices,
            "kinds": KINDS,
            "search_days": SEARCH_DAYS,
        },
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def graph_calls(request, membership):
    page = key_page(membership.tenant, filter_calls(membership.tenant, request.GET), request.GET, "started_at")
    return render(
        request,
        "whatsapp/graph_calls.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "calls": page.pop("rows"),
            **page,
            "kinds": GRAPH_KINDS,
        },
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def rejects(request, membership):
    page = key_page(membership.tenant, filter_rejects(membership.tenant, request.GET), request.GET, "minute")
    return render(
        request,
        "whatsapp/log_rejects.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "rejects": page.pop("rows"),
            **page,
            "sample_bytes": WebhookReject.SAMPLE_BYTES,
        },
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def reject_detail(request, membership, reject_id):
    reject = access_reject(membership, reject_id)
    return render(
        request, "whatsapp/log_reject.html", {"tenant": membership.tenant, "membership": membership, "reject": reject}
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def event_detail(request, membership, event_id):
    event = access_event(membership, event_id)
    return render(
        request,
        "whatsapp/log_event.html",
        {"tenant": membership.tenant, "membership": membership, "event": event, "pretty_body": pretty_body(event.body)},
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def replay(request, membership, event_id):
    event = access_event(membership, event_id)
    try:
        log_actions.replay_webhook(membership, event, request=request)
    except log_actions.ReplayRefused as error:
        flash.error(request, str(error))
    else:
        flash.success(request, f"Event {event.pk} is queued for processing again.")
    return redirect("whatsapp:log_event", slug=membership.tenant.slug, event_id=event.pk)
