"""The logs page: every webhook Meta sent, for tenant admins."""

import json
from datetime import datetime, time

from django.contrib import messages as flash
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_view
from tenants.models import Role

from . import ingest
from .models import WebhookEvent

PAGE_SIZE = 50
KINDS = ["messages", "statuses", "errors", "message_template_status_update", "phone_number_quality_update",
         "account_update", "user_preferences"]


def access_event(membership, event_id):
    try:
        return WebhookEvent.objects.get(pk=event_id, tenant=membership.tenant)
    except (WebhookEvent.DoesNotExist, ValueError):
        raise Http404("No such event.")


def _day(value, end=False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def filter_events(tenant, params):
    """Events matching the page's filters, newest first. Paging is by key (`before`), so a
    page costs the same with a million events as with fifty."""
    events = WebhookEvent.objects.filter(tenant=tenant).defer("body")
    if params.get("state") in WebhookEvent.State.values:
        events = events.filter(state=params["state"])
    if params.get("kind"):
        events = events.filter(Q(item_counts__has_key=params["kind"]) | Q(fields__contains=params["kind"]))
    if since := _day(params.get("since")):
        events = events.filter(received_at__gte=since)
    if until := _day(params.get("until"), end=True):
        events = events.filter(received_at__lte=until)
    if params.get("q"):
        events = events.filter(body__contains=params["q"][:200])
    before = WebhookEvent.objects.filter(tenant=tenant, pk=_int(params.get("before"))).values("received_at", "pk").first()
    if before:
        events = events.filter(
            Q(received_at__lt=before["received_at"]) | Q(received_at=before["received_at"], pk__lt=before["pk"])
        )
    return events.order_by("-received_at", "-pk")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
@tenant_view(role=Role.ADMIN)
def logs(request, membership):
    page = list(filter_events(membership.tenant, request.GET)[: PAGE_SIZE + 1])
    has_older = len(page) > PAGE_SIZE
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "whatsapp/logs.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "events": page[:PAGE_SIZE],
            "older_before": page[PAGE_SIZE - 1].pk if has_older else None,
            "filters": request.GET,
            "query": query.urlencode(),
            "states": WebhookEvent.State.choices,
            "kinds": KINDS,
        },
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def event_detail(request, membership, event_id):
    event = access_event(membership, event_id)
    try:
        pretty = json.dumps(json.loads(event.body), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        pretty = event.body
    return render(
        request,
        "whatsapp/log_event.html",
        {"tenant": membership.tenant, "membership": membership, "event": event, "pretty_body": pretty},
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
        flash.success(request, f"Event {event.pk} is queued for processing again.")
    return redirect("whatsapp:log_event", slug=membership.tenant.slug, event_id=event.pk)
