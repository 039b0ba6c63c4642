"""API keys and the answers kept for idempotent retries. A key belongs to a workspace, not
to the person who made it; only a keyed hash of its secret is stored."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class Scope(models.TextChoices):
    READ = "read", "Read"
    SEND = "send", "Send"
    MANAGE = "manage", "Manage"


class ApiKey(models.Model):
    """One key. The secret itself is shown once, when it is made (see api/keys.py); the
    row keeps its `prefix` (the public part, to find the row and to show) and its HMAC."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="The key's public start, shown in lists.")
    secret_hash = models.CharField(max_length=64, help_text="HMAC-SHA256 of the secret with API_KEY_HASH_SECRET.")
    scopes = models.JSONField(default=list, help_text="read, send, manage.")
    rate_limit_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests a second; empty: API_RATE_LIMIT_PER_SECOND."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def per_second(self):
        return self.rate_limit_per_second or settings.API_RATE_LIMIT_PER_SECOND

    def allows(self, scope):
        return scope in self.scopes


class IdempotentRequest(models.Model):
    """A POST made with an Idempotency-Key, and the answer it got. The row is inserted in the
    transaction that does the work, so a concurrent retry waits on the unique key and then
    finds the answer; a failed attempt leaves no row."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(default=0, help_text="0 while the work is under way.")
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique")]
        indexes = [models.Index(fields=["api_key", "created_at"], name="api_idempotency_created")]


class ContactImport(models.Model):
    """A CSV of contacts sent to `POST /contacts/imports`, imported by a job in chunks; its
    counts grow as it goes, so a client can follow the progress."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    content = models.BinaryField(help_text="The uploaded file; emptied once imported.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    problem = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
