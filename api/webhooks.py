"""Outgoing webhook endpoints: list, create (its `whsec_` secret answered once), read, change,
delete, rotate the secret, enable and disable, send a test event, the delivery log, and
sending events again. Endpoints hold secrets, so every operation needs the manage scope.
Changes go through the hooks actions the admins' webhook pages use."""

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from hooks import actions as hooks
from hooks.access import access_delivery, access_endpoint
from hooks.models import Delivery
from inbox import paging

from . import auth
from .common import PathId, answer, cursor, page
from .idempotency import idempotent
from .messages import ERRORS
from .models import Scope

router = Router(tags=["webhooks"])

ENDPOINT_FIELDS = (
    "id", "url", "description", "event_types", "active", "disabled_at", "disabled_reason", "consecutive_failures",
    "created_at", "updated_at",
)  # fmt: skip


class EndpointCreate(Schema):
    url: str = Field(max_length=2000, description="An https URL whose host resolves to public addresses only.")
    event_types: list[str] = Field(max_length=100, description="The event types it takes (see docs/webhooks.md).")
    description: str = Field("", max_length=200)


class EndpointChange(Schema):
    """Only the fields given change."""

    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=200)


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    active: bool
    disabled_at: datetime | None
    disabled_reason: str
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="Shown this once: it signs every request (Standard Webhooks).")
    previous_secret_until: datetime | None = Field(description="Until then the previous secret signs too.")


class EndpointList(Schema):
    data: list[EndpointOut]


class DeliveryOut(Schema):
    id: int
    event_id: str
    type: str
    status: str
    attempts: int
    response_status: int | None
    response_ms: int | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending.")
    error: str
    created_at: datetime


class DeliveryPage(Schema):
    data: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilter(Schema):
    status: Delivery.Status | None = None
    cursor: str | None = None


class TestOut(Schema):
    event_id: str
    type: str


class Redelivery(Schema):
    since: datetime = Field(description="Every failed delivery of an event created at this time or later.")


class RedeliveryOut(Schema):
    count: int


@router.get("/webhooks", response={200: EndpointList, **ERRORS}, operation_id="list_webhooks")
def list_webhooks(request):
    """The workspace's endpoints, oldest first (their secrets are never shown again)."""
    auth.require(request, Scope.MANAGE)
    endpoints = request.auth.tenant.webhook_endpoints.order_by("created_at", "pk")
    return {"data": [endpoint_out(endpoint) for endpoint in endpoints]}


@router.post(
    "/webhooks", response={201: EndpointWithSecret, **ERRORS}, summary="Add an endpoint", operation_id="create_webhook"
)
@idempotent(secrets=["secret"])
def create_webhook(request, body: EndpointCreate):
    """The endpoint with its `secret`: keep it, it is not shown again (rotate it to get a new
    one). A URL that is not https or resolves to a private address is an `unsafe-url` problem."""
    auth.require(request, Scope.MANAGE)
    endpoint = hooks.create_endpoint(
        auth.actor(request),
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        request=request,
    )
    return answer(EndpointWithSecret, endpoint_out(endpoint, with_secret=True), status=201)


@router.get("/webhooks/{int:endpoint_id}", response={200: EndpointOut, **ERRORS}, operation_id="read_webhook")
def read_webhook(request, endpoint_id: PathId):
    auth.require(request, Scope.MANAGE)
    return endpoint_out(_endpoint(request, endpoint_id))


@router.patch("/webhooks/{int:endpoint_id}", response={200: EndpointOut, **ERRORS}, operation_id="change_webhook")
def change_webhook(request, endpoint_id: PathId, body: EndpointChange):
    auth.require(request, Scope.MANAGE)
    endpoint = _endpoint(request, endpoint_id)
    endpoint = hooks.update_endpoint(
        auth.actor(request),
        endpoint,
        url=endpoint.url if body.url is None else body.url,
        event_types=endpoint.event_types if body.event_types is None else body.event_types,
        description=endpoint.description if body.description is None else body.description,
        request=request,
    )
    return endpoint_out(endpoint)


@router.delete("/webhooks/{int:endpoint_id}", response={204: None, **ERRORS}, operation_id="delete_webhook")
def delete_webhook(request, endpoint_id: PathId):
    """The endpoint goes, with its delivery log."""
    auth.require(request, Scope.MANAGE)
    hooks.delete_endpoint(auth.actor(request), _endpoint(request, endpoint_id), request=request)
    return Status(204, None)


@router.post(
    "/webhooks/{int:endpoint_id}/rotate-secret",
    response={200: EndpointWithSecret, **ERRORS},
    operation_id="rotate_webhook_secret",
)
@idempotent(secrets=["secret"])
def rotate_webhook_secret(request, endpoint_id: PathId):
    """A new `secret` signs from now on, shown this once; the previous one signs too until
    `previous_secret_until`, so the receiver can switch without missing an event."""
    auth.require(request, Scope.MANAGE)
    endpoint = hooks.rotate_secret(auth.actor(request), _endpoint(request, endpoint_id), request=request)
    return answer(EndpointWithSecret, endpoint_out(endpoint, with_secret=True))


@router.post("/webhooks/{int:endpoint_id}/enable", response={200: EndpointOut, **ERRORS}, operation_id="enable_webhook")
@idempotent
def enable_webhook(request, endpoint_id: PathId):
    """On again (also after the inbox disabled it): its waiting deliveries are sent."""
    return _switch(request, endpoint_id, True)


@router.post(
    "/webhooks/{int:endpoint_id}/disable", response={200: EndpointOut, **ERRORS}, operation_id="disable_webhook"
)
@idempotent
def disable_webhook(request, endpoint_id: PathId):
    """Off: events are kept for it, not sent, until it is enabled."""
    return _switch(request, endpoint_id, False)


@router.post(
    "/webhooks/{int:endpoint_id}/test",
    response={202: TestOut, **ERRORS},
    summary="Send a test event",
    operation_id="test_webhook",
)
@idempotent
def test_webhook(request, endpoint_id: PathId):
    """A `webhook.test` event to this endpoint alone, delivered like any other; follow it in
    the delivery log."""
    auth.require(request, Scope.MANAGE)
    event = hooks.send_test_event(auth.actor(request), _endpoint(request, endpoint_id), request=request)
    return answer(TestOut, {"event_id": event.public_id, "type": event.type}, status=202)


@router.get(
    "/webhooks/{int:endpoint_id}/deliveries",
    response={200: DeliveryPage, **ERRORS},
    summary="The delivery log",
    operation_id="list_webhook_deliveries",
)
def list_webhook_deliveries(request, endpoint_id: PathId, query: Query[DeliveryFilter]):
    """Newest first, a page at a time; `status` keeps pending, succeeded or failed ones."""
    auth.require(request, Scope.MANAGE)
    deliveries = Delivery.objects.filter(endpoint=_endpoint(request, endpoint_id)).select_related("event")
    if query.status:
        deliveries = deliveries.filter(status=query.status)
    before = cursor(query.cursor)
    if before:
        deliveries = deliveries.filter(pk__lt=before)
    rows, next_key = paging.take(paging.newest_first(deliveries))
    return page([delivery_out(row) for row in rows], next_key)


@router.post(
    "/webhooks/{int:endpoint_id}/deliveries/{int:delivery_id}/redeliver",
    response={202: DeliveryOut, **ERRORS},
    summary="Send one event again",
    operation_id="redeliver_webhook_delivery",
)
@idempotent
def redeliver_webhook_delivery(request, endpoint_id: PathId, delivery_id: PathId):
    """Whatever came of it before; the endpoint must be enabled."""
    auth.require(request, Scope.MANAGE)
    delivery = access_delivery(_endpoint(request, endpoint_id), delivery_id)
    hooks.redeliver(auth.actor(request), delivery, request=request)
    delivery.refresh_from_db()
    return answer(DeliveryOut, delivery_out(delivery), status=202)


@router.post(
    "/webhooks/{int:endpoint_id}/redeliver-failed",
    response={202: RedeliveryOut, **ERRORS},
    summary="Send failed events again",
    operation_id="redeliver_failed_webhooks",
)
@idempotent
def redeliver_failed_webhooks(request, endpoint_id: PathId, body: Redelivery):
    """Every event to this endpoint that failed and was created at `since` or later (a time
    in the past, with its offset); answers how many will be sent again."""
    auth.require(request, Scope.MANAGE)
    endpoint = _endpoint(request, endpoint_id)
    count = hooks.redeliver_failed_since(auth.actor(request), endpoint, body.since, request=request)
    return answer(RedeliveryOut, {"count": count}, status=202)


def _switch(request, endpoint_id, enabled):
    auth.require(request, Scope.MANAGE)
    endpoint = hooks.set_enabled(auth.actor(request), _endpoint(request, endpoint_id), enabled, request=request)
    return answer(EndpointOut, endpoint_out(endpoint))


def _endpoint(request, endpoint_id):
    return access_endpoint(auth.actor(request), endpoint_id)


def endpoint_out(endpoint, with_secret=False):
    out = {field: getattr(endpoint, field) for field in ENDPOINT_FIELDS}
    if with_secret:
        out |= {"secret": endpoint.secret, "previous_secret_until": endpoint.previous_secret_until}
    return out


def delivery_out(delivery):
    pending = delivery.status == Delivery.Status.PENDING
    return {
        "id": delivery.pk,
        "event_id": delivery.event.public_id,
        "type": delivery.event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "response_ms": delivery.response_ms,
        "last_attempt_at": delivery.last_attempt_at,
        "next_attempt_at": delivery.next_attempt_at if pending else None,
        "error": delivery.error,
        "created_at": delivery.created_at,
    }
