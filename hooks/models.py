"""Endpoints (where a workspace wants to hear), events (what happened, written in the
transaction that made it happen) and deliveries (one event to one endpoint, until it gets a 2xx)."""

import secrets

from django.db import models
from django.utils import timezone

from inbox.crypto import EncryptedTextField
from tenants.models import Tenant

SECRET_PREFIX = "whsec_"


def new_secret():
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    import base64

    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id():
    """`msg_` and 26 base32 characters: the time in milliseconds first, so ids sort by time."""
    import base64
    import time

    raw = int(time.time() * 1000).to_bytes(6, "big") + secrets.token_bytes(10)
    return "msg_" + base64.b32encode(raw).decode().rstrip("=").lower()


class Endpoint(models.Model):
    """A URL of another system that takes some of a workspace's events. `active` is the
    admin's switch; `disabled_reason` says why the system turned it off (empty otherwise).
    `dispatch_at` is when its delivery job is due (empty: none is waiting): see delivery.py."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="Failing: nothing is sent before this.")
    dispatch_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "active"], name="hooks_endpoint_tenant")]

    def __str__(self):
        return self.url

    def signing_secrets(self, now=None):
        """The secrets that sign now: the current one, and the previous one during its overlap."""
        now = now or timezone.now()
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class Event(models.Model):
    """Something that happened, as receivers see it. `sequence` counts the conversation's
    events (1, 2, …) so receivers can order them; `public_id` is the `webhook-id`."""

    public_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=60)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="hooks_event_recent")]

    def __str__(self):
        return f"{self.public_id} {self.type}"

    def body(self):
        """The JSON the receivers get: the same bytes for every attempt (see payload.py)."""
        from .payload import body

        return body(self)


class ConversationSequence(models.Model):
    """The last sequence number given to an event of a conversation. A counter of our own
    (no foreign key), bumped by one INSERT … ON CONFLICT in the emitting transaction."""

    conversation_id = models.BigIntegerField(primary_key=True)
    last = models.PositiveBigIntegerField(default=0)


class Delivery(models.Model):
    """One event for one endpoint. Pending until a 2xx answer (succeeded) or until it has
    failed for OUTGOING_WEBHOOKS_RETRY_HOURS (failed). The last attempt's answer is kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    give_up_at = models.DateTimeField(help_text="Still failing then: failed, no more retries.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="hooks_delivery_once")]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="hooks_delivery_due",
            ),
            models.Index(fields=["endpoint", "-id"], name="hooks_delivery_log"),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
