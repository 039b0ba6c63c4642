from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

# Meta resends a webhook for up to 7 days; one purged sooner could come back as new.
MIN_RETENTION_DAYS = 7


class Tenant(models.Model):
    """A company using the inbox. Every tenant-owned row points here."""

    class ReadReceipts(models.TextChoices):
        ON_OPEN = "open", "When an agent opens the conversation"
        ON_REPLY = "reply", "Only when an agent replies"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True, help_text="Inactive tenants get no pages and no webhooks.")
    read_receipts = models.CharField(
        max_length=8,
        choices=ReadReceipts.choices,
        default=ReadReceipts.ON_OPEN,
        help_text="When customers see blue ticks on their messages.",
    )
    auto_assign = models.BooleanField(
        default=False, help_text="Give new conversations to available agents in turn (round robin)."
    )
    require_2fa = models.BooleanField(
        "require two-factor authentication",
        default=False,
        help_text="Members without an authenticator app must set one up before they reach this workspace.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_RETENTION_DAYS)],
        help_text="Delete messages and their files older than this many days. Empty: keep everything.",
    )
    default_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="Where a number typed without its country code is from (ISO code such as ES or MX). "
        "Empty: numbers must start with + and the country code.",
    )
    opt_out_keywords = models.CharField(
        "opt-out keywords",
        max_length=500,
        blank=True,
        default="STOP, BAJA, SAIR, PARAR, CANCELAR, UNSUBSCRIBE, ARRET",
        help_text="A customer's message that is one of these words (any case or accents) stops marketing "
        "messages to them. Separate them with commas.",
    )
    opt_out_reply = models.CharField(
        "opt-out confirmation",
        max_length=1000,
        blank=True,
        default="You will not receive marketing messages from us any more. You can still write to us here.",
        help_text="Sent to a customer who opts out with a keyword.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


# Each role can do everything the roles after it can.
ROLE_RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    available = models.BooleanField(default=True, help_text="Takes new conversations when auto-assignment is on.")
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]
        ordering = ["tenant__name", "user__email"]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"

    def has_role(self, role):
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class Invitation(models.Model):
    """An offer to join a workspace, made to an email address. Nobody joins without
    accepting it through the signed link (see tenants/invitations.py). Open while neither
    accepted nor revoked; usable while open and before `expires_at`. `nonce` is random and
    alone opens nothing: the link is a signature of (id, nonce) with the SECRET_KEY."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Stored lowercased.")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nonce = models.CharField(max_length=64, blank=True, help_text="Emptied once the invitation is closed.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} to {self.tenant} ({self.role})"

    @property
    def is_open(self):
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at


class AppendOnly(Exception):
    """Audit entries are never changed or removed through the application."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnly("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing someone did in a workspace. Append-only: saving an existing entry, updating
    or deleting raises AppendOnly. Entries go when their workspace is deleted."""

    class Action(models.TextChoices):
        LOGIN = "auth.login", "Signed in"
        LOGIN_FAILED = "auth.login_failed", "Failed sign-in"
        LOCKED_OUT = "auth.locked_out", "Locked out after failed sign-ins"
        PASSWORD_CHANGED = "auth.password_changed", "Changed their password"
        PASSWORD_RESET = "auth.password_reset", "Reset their password by email"
        TWO_FACTOR_ENABLED = "auth.2fa_enabled", "Turned on two-factor authentication"
        TWO_FACTOR_DISABLED = "auth.2fa_disabled", "Turned off two-factor authentication"
        INVITATION_CREATED = "invitation.created", "Invited someone"
        INVITATION_RESENT = "invitation.resent", "Resent an invitation"
        INVITATION_REVOKED = "invitation.revoked", "Revoked an invitation"
        INVITATION_ACCEPTED = "invitation.accepted", "Accepted an invitation"
        MEMBER_ADDED = "member.added", "Added a member"
        MEMBER_ROLE_CHANGED = "member.role_changed", "Changed a member's role"
        MEMBER_REMOVED = "member.removed", "Removed a member"
        CONNECTION_CHANGED = "connection.changed", "Changed the WhatsApp connection"
        TOKEN_REPLACED = "connection.token_replaced", "Replaced the access token"
        SETTINGS_CHANGED = "settings.changed", "Changed workspace settings"
        LABEL_DELETED = "label.deleted", "Deleted a label"
        SAVED_REPLY_DELETED = "saved_reply.deleted", "Deleted a saved reply"
        CONTACT_EXPORTED = "contact.exported", "Exported a contact's data"
        CONTACT_DELETED = "contact.deleted", "Deleted a contact and their data"
        WEBHOOK_REPLAYED = "webhook.replayed", "Replayed a webhook"
        RETENTION_PURGED = "retention.purged", "Deleted data past the retention period"
        CONVERSATION_STARTED = "conversation.started", "Started a conversation with a customer"
        API_KEY_CREATED = "api_key.created", "Created an API key"
        API_KEY_REVOKED = "api_key.revoked", "Revoked an API key"
        TEMPLATE_SUBMITTED = "template.submitted", "Submitted a template for review"
        TEMPLATE_EDITED = "template.edited", "Edited a template and submitted it again"
        TEMPLATE_DELETED = "template.deleted", "Deleted a template"
        NUMBER_ADDED = "number.added", "Added a business number"
        NUMBER_REMOVED = "number.removed", "Removed a business number"
        PROFILE_CHANGED = "number.profile_changed", "Changed a number's business profile"
        CONTACT_OPTED_IN = "contact.opted_in", "Recorded a contact's marketing opt-in"
        CONTACT_OPTED_OUT = "contact.opted_out", "Recorded a contact's marketing opt-out"
        WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "Added a webhook endpoint"
        WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint.changed", "Changed a webhook endpoint"
        WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "Rotated a webhook endpoint's secret"
        WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled", "Disabled a webhook endpoint"
        WEBHOOK_ENDPOINT_AUTO_DISABLED = "webhook_endpoint.auto_disabled", "A failing webhook endpoint was disabled"
        WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled", "Enabled a webhook endpoint"
        WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "Deleted a webhook endpoint"
        WEBHOOK_REDELIVERED = "webhook_endpoint.redelivered", "Redelivered webhook events"
        WEBHOOK_TEST_SENT = "webhook_endpoint.test_sent", "Sent a test webhook event"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (scheduled jobs, scripts).",
    )
    actor_email = models.EmailField(blank=True, help_text="Kept when the person's account is deleted.")
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=255, blank=True, help_text="What was acted on, in words.")
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_event_recent"),
            models.Index(fields=["tenant", "action", "-created_at"], name="audit_event_action"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email or 'system'}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit events cannot be deleted.")
