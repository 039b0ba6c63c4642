"""Every change to a workspace's webhook endpoints, by an admin on the pages (views.py) or
a key with the manage scope through the API (api/webhooks.py; its ApiActor stands for the
membership). Each checks the role, writes the audit log, and returns what it changed; bad
input raises ActionError with words for the admin."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from tenants import audit
from tenants.models import AuditEvent, Role

from . import event_types as types
from .delivery import wake
from .models import Delivery, Endpoint, new_secret
from .outbox import record
from .safety import UnsafeURL, check_endpoint_url
from .subscriptions import forget_subscriptions

Action = AuditEvent.Action
DESCRIPTION_MAX = Endpoint._meta.get_field("description").max_length
URL_MAX = Endpoint._meta.get_field("url").max_length
ENDPOINTS_MAX = 20


class ActionError(Exception):
    """The change cannot be made; the message says why, in words for the admin."""


def _require_admin(membership):
    if not membership.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins manage webhooks.")


def _who(membership):
    """The member's email, or the name of what acts without one (an API key)."""
    return membership.user.email if membership.user is not None else membership.audit_name


def _clean(url, event_types, description):
    chosen = list(dict.fromkeys(event_types or []))
    if not chosen:
        raise ActionError("Choose at least one event type.")
    unknown = [value for value in chosen if value not in types.SUBSCRIBABLE]
    if unknown:
        raise ActionError(f"Unknown event type: {', '.join(unknown)[:100]}.")
    description = (description or "").replace("\x00", "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ActionError(f"Keep the description under {DESCRIPTION_MAX} characters.")
    url = (url or "").strip()
    if not url or len(url) > URL_MAX:
        raise ActionError(f"Enter the endpoint's URL (up to {URL_MAX} characters).")
    try:
        check_endpoint_url(url)
    except UnsafeURL as error:
        raise ActionError(str(error)) from error
    return url, chosen, description


def _changed(endpoint):
    forget_subscriptions()
    transaction.on_commit(forget_subscriptions)  # for a lookup made inside the transaction


def create_endpoint(membership, *, url, event_types, description="", request=None):
    _require_admin(membership)
    url, event_types, description = _clean(url, event_types, description)
    with transaction.atomic():
        if Endpoint.objects.filter(tenant=membership.tenant).count() >= ENDPOINTS_MAX:
            raise ActionError(f"A workspace can have up to {ENDPOINTS_MAX} endpoints.")
        endpoint = Endpoint.objects.create(
            tenant=membership.tenant, url=url, event_types=event_types, description=description, secret=new_secret()
        )
        audit.record(
            membership.tenant,
            Action.WEBHOOK_ENDPOINT_CREATED,
            actor=audit.acting(membership),
            target=url,
            details={"endpoint": endpoint.pk, "event_types": event_types},
            request=request,
        )
        _changed(endpoint)
    return endpoint


def update_endpoint(membership, endpoint, *, url, event_types, description="", request=None):
    _require_admin(membership)
    url, event_types, description = _clean(url, event_types, description)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk, tenant=membership.tenant)
        before = {"url": endpoint.url, "event_types": endpoint.event_types, "description": endpoint.description}
        endpoint.url, endpoint.event_types, endpoint.description = url, event_types, description
        endpoint.save(update_fields=["url", "event_types", "description", "updated_at"])
        after = {"url": url, "event_types": event_types, "description": description}
        changes = {key: after[key] for key in after if after[key] != before[key]}
        if changes:
            audit.record(
                membership.tenant,
                Action.WEBHOOK_ENDPOINT_CHANGED,
                actor=audit.acting(membership),
                target=url,
                details={"endpoint": endpoint.pk, "changed": sorted(changes), "event_types": event_types},
                request=request,
            )
        _changed(endpoint)
    return endpoint


def rotate_secret(membership, endpoint, *, request=None):
    """A new secret signs from now on; the old one signs too for
    OUTGOING_WEBHOOKS_SECRET_OVERLAP_HOURS, so receivers can switch without missing events."""
    _require_admin(membership)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk, tenant=membership.tenant)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = timezone.now() + timedelta(
            hours=settings.OUTGOING_WEBHOOKS_SECRET_OVERLAP_HOURS
        )
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
        audit.record(
            membership.tenant,
            Action.WEBHOOK_ENDPOINT_SECRET_ROTATED,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk, "old_secret_signs_until": endpoint.previous_secret_until.isoformat()},
            request=request,
        )
    return endpoint


def set_enabled(membership, endpoint, enabled, *, request=None):
    """Turn an endpoint off, or on again (also after the system disabled it: its failure
    count starts afresh and its waiting deliveries are sent)."""
    _require_admin(membership)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk, tenant=membership.tenant)
        if endpoint.active == enabled:
            return endpoint
        endpoint.active = enabled
        if enabled:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
            endpoint.consecutive_failures, endpoint.failing_since, endpoint.retry_at = 0, None, None
            endpoint.dispatch_at = None
        else:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), ""
        endpoint.save()
        audit.record(
            membership.tenant,
            Action.WEBHOOK_ENDPOINT_ENABLED if enabled else Action.WEBHOOK_ENDPOINT_DISABLED,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk},
            request=request,
        )
        _changed(endpoint)
        if enabled:
            transaction.on_commit(lambda: wake([endpoint.pk]))
    return endpoint


def delete_endpoint(membership, endpoint, *, request=None):
    """The endpoint goes, with its delivery log."""
    _require_admin(membership)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk, tenant=membership.tenant)
        audit.record(
            membership.tenant,
            Action.WEBHOOK_ENDPOINT_DELETED,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk},
            request=request,
        )
        endpoint.delete()
        _changed(endpoint)


def _retry_now(endpoint, deliveries):
    now = timezone.now()
    count = deliveries.update(
        status=Delivery.Status.PENDING,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=settings.OUTGOING_WEBHOOKS_RETRY_HOURS),
    )
    if count:
        transaction.on_commit(lambda: wake([endpoint.pk]))
    return count


def _require_active(endpoint):
    if not endpoint.active:
        raise ActionError("The endpoint is disabled: enable it first.")


def redeliver(membership, delivery, *, request=None):
    """Send one event to its endpoint again, whatever came of it before."""
    _require_admin(membership)
    endpoint = delivery.endpoint
    _require_active(endpoint)
    with transaction.atomic():
        _retry_now(endpoint, Delivery.objects.filter(pk=delivery.pk, endpoint__tenant=membership.tenant))
        audit.record(
            membership.tenant,
            Action.WEBHOOK_REDELIVERED,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk, "event": delivery.event.public_id},
            request=request,
        )
    return 1


def redeliver_failed_since(membership, endpoint, since, *, request=None):
    """Send again every event of the endpoint that failed and was created at `since` or later."""
    _require_admin(membership)
    _require_active(endpoint)
    if since is None or since > timezone.now():
        raise ActionError("Choose a time in the past.")
    with transaction.atomic():
        failed = Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since)
        count = _retry_now(endpoint, failed)
        audit.record(
            membership.tenant,
            Action.WEBHOOK_REDELIVERED,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk, "failed_since": since.isoformat(), "count": count},
            request=request,
        )
    return count


def send_test_event(membership, endpoint, *, request=None):
    """A `webhook.test` event to this endpoint alone, delivered like any other."""
    _require_admin(membership)
    _require_active(endpoint)
    with transaction.atomic():
        data = {"message": "A test event from the inbox.", "endpoint_id": endpoint.pk, "sent_by": _who(membership)}
        [event] = record(membership.tenant_id, types.TEST, [(data, None)], [endpoint.pk])
        audit.record(
            membership.tenant,
            Action.WEBHOOK_TEST_SENT,
            actor=audit.acting(membership),
            target=endpoint.url,
            details={"endpoint": endpoint.pk, "event": event.public_id},
            request=request,
        )
    return event
