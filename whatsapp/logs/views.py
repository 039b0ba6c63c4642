"""The logs pages, for tenant admins: every webhook Meta sent, the posts refused for their
signature (counted per minute), and our Graph API calls."""

import json
from datetime import datetime, time, timedelta

from django.contrib import messages as flash
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants import audit
from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.models import GraphCall, WebhookEvent, WebhookReject
from whatsapp.webhook import ingest

PAGE_SIZE = 50
# A text search reads the bodies themselves: a trigram index would make it instant, but it
# cost a quarter of the webhook's ingest rate (bench/, 1,479/s with it, 1,995/s without).
# So without dates a search looks at this many recent days (~65 ms at 120,000 events).
SEARCH_DAYS = 7
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
        return json.dumps(ingest.read_payload(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


def _day(value, end=False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def _by_date_and_key(rows, model, tenant, params, time_field):
    """Date filters and key paging, shared by both logs: a page costs the same with a
    million rows as with fifty."""
    if since := _day(params.get("since")):
        rows = rows.filter(**{f"{time_field}__gte": since})
    if until := _day(params.get("until"), end=True):
        rows = rows.filter(**{f"{time_field}__lte": until})
    key = _int(params.get("before"))
    before = model.objects.filter(tenant=tenant, pk=key).values(time_field, "pk").first() if key else None
    if before:
        rows = rows.filter(
            Q(**{f"{time_field}__lt": before[time_field]})
            | Q(**{time_field: before[time_field], "pk__lt": before["pk"]})
        )
    return rows.order_by(f"-{time_field}", "-pk")


def filter_events(tenant, params):
    """Events matching the page's filters, newest first. Paging is by key (`before`), so a
    page costs the same with a million events as with fifty."""
    events = WebhookEvent.objects.filter(tenant=tenant).defer("body")
    if params.get("state") in WebhookEvent.State.values:
        events = events.filter(state=params["state"])
    if params.get("kind"):
        events = events.filter(Q(item_counts__has_key=params["kind"]) | Q(fields__contains=params["kind"]))
    if params.get("q"):
        events = events.filter(body__contains=params["q"][:200])
    return _by_date_and_key(events, WebhookEvent, tenant, params, "received_at")


def filter_calls(tenant, params):
    """Graph API calls matching the page's filters, newest first."""
    calls = GraphCall.objects.filter(tenant=tenant)
    if params.get("state") == "ok":
        calls = calls.filter(status_code__lt=400)
    elif params.get("state") == "error":
        calls = calls.filter(Q(status_code__gte=400) | Q(status_code__isnull=True))
    if params.get("kind") == "messages":
        calls = calls.filter(path__endswith="/messages")
    elif params.get("kind") == "media":
        calls = calls.exclude(path__endswith="/messages")
    if params.get("q"):
        calls = calls.filter(Q(path__contains=params["q"][:200]) | Q(error_message__contains=params["q"][:200]))
    return _by_date_and_key(calls, GraphCall, tenant, params, "started_at")


def filter_rejects(tenant, params):
    """Minutes with posts refused for their signature, newest first."""
    rejects = WebhookReject.objects.filter(tenant=tenant).defer("sample")
    return _by_date_and_key(rejects, WebhookReject, tenant, params, "minute")


def with_search_window(params):
    """The filters, with `since` set SEARCH_DAYS back when a text search names no dates (the
    form then shows the date, so the admin sees the window and can widen it)."""
    if not params.get("q") or params.get("since") or params.get("until"):
        return params
    params = params.copy()
    params["since"] = (timezone.localdate() - timedelta(days=SEARCH_DAYS)).isoformat()
    return params


def key_page(rows, params):
    """The template context of one page of `rows` (ordered by _by_date_and_key): the rows,
    the key of the next older page if there is one, and the filters to keep in its link."""
    page = list(rows[: PAGE_SIZE + 1])
    query = params.copy()
    query.pop("before", None)
    return {
        "rows": page[:PAGE_SIZE],
        "older_before": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
        "filters": params,
        "query": query.urlencode(),
    }


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
@tenant_view(role=Role.ADMIN)
def logs(request, membership):
    params = with_search_window(request.GET)
    page = key_page(filter_events(membership.tenant, params), params)
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
        },
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def graph_calls(request, membership):
    page = key_page(filter_calls(membership.tenant, request.GET), request.GET)
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
    page = key_page(filter_rejects(membership.tenant, request.GET), request.GET)
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
        ingest.replay_event(event)
    except ingest.ReplayRefused as error:
        flash.error(request, str(error))
    else:
        audit.record(
            membership.tenant,
            audit.Action.WEBHOOK_REPLAYED,
            actor=request.user,
            target=f"Webhook {event.pk}",
            request=request,
        )
        flash.success(request, f"Event {event.pk} is queued for processing again.")
    return redirect("whatsapp:log_event", slug=membership.tenant.slug, event_id=event.pk)
