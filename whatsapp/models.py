import re
import uuid
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from inbox.crypto import EncryptedTextField, mask
from tenants.models import Tenant
from whatsapp import message_types
from whatsapp.message_types import FOLLOWUP_TYPES

SERVICE_WINDOW = timedelta(hours=24)
TEMPLATE_VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")
WINDOW_CLOSING_SOON = timedelta(hours=2)


class Connection(models.Model):
    """A tenant's link to the WhatsApp Business Cloud API. Secrets are encrypted at rest."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="whatsapp")
    waba_id = models.CharField("WABA id", max_length=64)
    app_secret = EncryptedTextField(help_text="The Meta app's secret; signs every webhook.")
    verify_token = EncryptedTextField(help_text="Your string for Meta's webhook verification handshake.")
    access_token = EncryptedTextField(help_text="A system-user access token for the Graph API.")
    sending_paused_reason = models.CharField(
        max_length=255, blank=True, help_text="Set when Meta refused the token; cleared when it is replaced."
    )
    templates_synced_at = models.DateTimeField(null=True, blank=True)
    app_id = models.CharField(
        "Meta app id", max_length=64, blank=True, help_text="Needed to upload a business profile photo."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"WhatsApp for {self.tenant} (WABA {self.waba_id}, token {mask(self.access_token)})"

    @property
    def sending_paused(self):
        return bool(self.sending_paused_reason)


class PhoneNumber(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="phone_numbers")
    phone_number_id = models.CharField(max_length=64, help_text="Meta's id of the business number.")
    display_phone_number = models.CharField(max_length=32)
    verified_name = models.CharField(max_length=200, blank=True)
    quality_rating = models.CharField(max_length=32, blank=True)
    messaging_limit = models.CharField(max_length=64, blank=True)
    name_status = models.CharField(max_length=32, blank=True, help_text="Meta's review of the display name.")
    messages_per_second = models.PositiveIntegerField(
        default=80, help_text="Meta's throughput for this number: 80 by default, up to 1,000 after an upgrade."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "phone_number_id"], name="phone_number_unique_per_tenant")
        ]

    def __str__(self):
        return self.display_phone_number


class Contact(models.Model):
    """A WhatsApp user. Meta names them by phone (wa_id), by business-scoped user id, or both."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contacts")
    wa_id = models.CharField(max_length=32, blank=True, db_index=True)
    user_id = models.CharField("business-scoped user id", max_length=128, blank=True)
    profile_name = models.CharField(max_length=200, blank=True, help_text="The name the customer set in WhatsApp.")
    name = models.CharField(max_length=200, blank=True, help_text="The name your team gave them.")
    blocked = models.BooleanField(default=False)
    marketing_opted_out = models.BooleanField(default=False, help_text="The customer stopped marketing messages.")
    marketing_opted_out_at = models.DateTimeField(null=True, blank=True)
    marketing_opt_out_source = models.CharField(max_length=200, blank=True, help_text="How they stopped them.")
    marketing_opted_in_at = models.DateTimeField(null=True, blank=True)
    marketing_opt_in_source = models.CharField(
        max_length=200, blank=True, help_text="Where they agreed to marketing messages (a form, the shop…)."
    )
    marketing_opt_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True, help_text="Your team's notes; the customer never sees them.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Custom fields: name → text.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "wa_id"], condition=~Q(wa_id=""), name="contact_unique_wa_id"),
            models.UniqueConstraint(
                fields=["tenant", "user_id"], condition=~Q(user_id=""), name="contact_unique_user_id"
            ),
        ]
        # The contacts page pages by key, newest first. Full-text indexes are PostgreSQL-only
        # and live in migration 0004_contacts_search.
        indexes = [models.Index(fields=["tenant", "-id"], name="contact_newest")]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.name or self.profile_name or self.phone or self.user_id

    @property
    def phone(self):
        return f"+{self.wa_id}" if self.wa_id else ""

    @property
    def recipient(self):
        """Who the Graph API addresses: the phone number when known, else the user id."""
        return self.wa_id or self.user_id


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        SNOOZED = "snoozed", "Snoozed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_message_preview = models.CharField(max_length=message_types.PREVIEW_MAX, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    window_closes_at = models.DateTimeField(
        null=True, blank=True, help_text="24 hours after the customer's last message."
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    labels = models.ManyToManyField("Label", blank=True, related_name="conversations")
    read_receipt_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer's messages were last marked read."
    )
    typing_indicated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "contact", "phone_number"], name="conversation_unique_per_contact_and_number"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "-last_activity_at"], name="conversation_recent"),
            # The dashboard: conversations by status, and windows that close soon.
            models.Index(fields=["tenant", "status"], name="conversation_status"),
            models.Index(fields=["tenant", "window_closes_at"], name="conversation_window"),
        ]

    def __str__(self):
        return f"{self.contact} ↔ {self.phone_number}"

    @property
    def window_is_open(self):
        return self.window_closes_at is not None and self.window_closes_at > timezone.now()

    @property
    def window_closing_soon(self):
        return self.window_is_open and self.window_closes_at - timezone.now() < WINDOW_CLOSING_SOON


class Label(models.Model):
    COLORS = ["#128c7e", "#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#9a6700", "#57606a"]

    NAME_MAX = 40

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=NAME_MAX)
    color = models.CharField(max_length=7, default="#128c7e")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="label_unique_name")]
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def css_class(self):
        """Colours come from a fixed palette, styled in CSS (no inline styles)."""
        return f"label-color-{self.COLORS.index(self.color) if self.color in self.COLORS else 0}"


class CannedResponse(models.Model):
    """A saved reply, inserted with /shortcut in the composer."""

    SHORTCUT_MAX = 40

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="canned_responses")
    shortcut = models.SlugField(max_length=SHORTCUT_MAX)
    text = models.TextField(max_length=message_types.TEXT_MAX)  # it is sent as a text message

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "shortcut"], name="canned_unique_shortcut")]
        ordering = ["shortcut"]

    def __str__(self):
        return f"/{self.shortcut}"


class Note(models.Model):
    """A private note in a conversation's thread: never sent to WhatsApp."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("Conversation", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    TEXT_MAX = 10000

    text = models.TextField(max_length=TEXT_MAX)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "timestamp"], name="note_thread_order")]

    is_note = True  # threads mix notes and messages


class Notification(models.Model):
    """Something a person should see: a mention, for now."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    conversation = models.ForeignKey("Conversation", on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "tenant", "read_at"], name="notification_unread")]


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


# How far along a message is. A status only ever replaces one of lower rank, so a late
# "delivered" never overwrites "read". Failed is final. Meta's "played" (a voice note was
# listened to) implies read.
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
    MessageStatus.FAILED: 9,
}


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "From the customer"
        OUT = "out", "To the customer"

    # No index on the tenant alone: the indexes below start with it. With one, a tenant's
    # date range could be planned as a read of all its rows (see WebhookEvent.tenant).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="messages", db_index=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    type = models.CharField(max_length=32, default="text")
    text = models.TextField(blank=True)
    content = models.JSONField(default=dict, blank=True, help_text="The message object, as Meta sent it.")
    wamid = models.CharField(max_length=255, null=True, blank=True, help_text="Meta's message id.")
    reply_to_wamid = models.CharField(max_length=255, blank=True, help_text="The message this one quotes.")
    target_wamid = models.CharField(
        max_length=255, blank=True, help_text="The message a reaction, edit or deletion applies to."
    )
    reactions = models.JSONField(default=dict, blank=True, help_text="Current reaction by who: customer or user id.")
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_detail = models.TextField(blank=True)
    timestamp = models.DateTimeField(default=timezone.now, help_text="Meta's time for the message.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a waiting message is tried again.")
    waiting_reason = models.CharField(max_length=255, blank=True, help_text="Why a queued message is waiting.")
    outcome_unknown = models.BooleanField(
        default=False, help_text="The send may or may not have reached Meta; never re-sent without a person."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "wamid"], name="message_unique_wamid_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["conversation", "timestamp", "id"], name="message_thread_order"),
            models.Index(fields=["tenant", "target_wamid"], name="message_followups", condition=~Q(target_wamid="")),
            # The dashboard's aggregates over a date range read only this index on PostgreSQL.
            models.Index(
                fields=["tenant", "timestamp"],
                include=["id", "direction", "type", "status", "author", "conversation"],
                name="message_tenant_time",
            ),
            # The dashboard's response times: a conversation's customer messages and the team's
            # replies (dashboard/timing.py: the probes there repeat this condition exactly).
            models.Index(
                fields=["conversation", "timestamp", "id"],
                include=["direction", "author"],
                condition=~Q(type__in=(*FOLLOWUP_TYPES, "system"))
                & (Q(direction="in") | (Q(direction="out", author__isnull=False) & ~Q(status="failed"))),
                name="message_waits",
            ),
            models.Index(fields=["tenant", "timestamp"], condition=Q(status="failed"), name="message_failures"),
            # The dashboard's team table: each member's messages in a date range.
            models.Index(
                fields=["tenant", "timestamp"],
                include=["author", "conversation"],
                condition=~Q(type__in=(*FOLLOWUP_TYPES, "system")) & Q(direction="out", author__isnull=False),
                name="message_authored",
            ),
        ]

    def __str__(self):
        return f"{self.direction} {self.type} {self.wamid or self.pk}"

    @property
    def body(self):
        """The type's own part of Meta's message object (a dict, or a list for contacts)."""
        return self.content.get(self.type) if isinstance(self.content, dict) else None

    @property
    def forwarded(self):
        context = self.content.get("context") or {}
        return context.get("forwarded") or context.get("frequently_forwarded")

    @property
    def ticks(self):
        return self.status if self.direction == self.Direction.OUT else ""

    @staticmethod
    def with_quotes(messages):
        """Set `.quoted` on each message that replies to another, wherever in the thread it is:
        one query for them all."""
        wanted = {m.reply_to_wamid for m in messages if m.reply_to_wamid}
        found = {}
        if wanted:
            tenant_id = messages[0].tenant_id
            found = {m.wamid: m for m in Message.objects.filter(tenant_id=tenant_id, wamid__in=wanted)}
        for message in messages:
            message.quoted = found.get(message.reply_to_wamid)
        return messages


class MessageTemplate(models.Model):
    """A message template, as Meta last described it (status, category and quality webhooks)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="templates")
    meta_id = models.CharField("Meta's template id", max_length=64)
    name = models.CharField(max_length=512, blank=True)
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=32, blank=True)
    category = models.CharField(max_length=32, blank=True)
    quality_score = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    components = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "meta_id"], name="template_unique_per_tenant")]

    def __str__(self):
        return f"{self.name} ({self.language})"

    def _component(self, kind):
        for component in self.components or []:
            if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
                return component
        return {}

    @property
    def body_text(self):
        return self._component("BODY").get("text", "")

    @property
    def variables(self):
        """The placeholders to fill, as (component, name) in order: header first, then body.
        Meta numbers them {{1}}, {{2}} … or names them {{order_id}}."""
        found = []
        for kind in ("HEADER", "BODY"):
            component = self._component(kind)
            if kind == "HEADER" and component.get("format", "TEXT").upper() != "TEXT":
                continue
            for name in TEMPLATE_VARIABLE.findall(component.get("text", "")):
                if (kind, name) not in found:
                    found.append((kind, name))
        return found

    @property
    def variable_count(self):
        return len(self.variables)


class StatusUpdate(models.Model):
    """Every status Meta reported for a message, once each. The message's own status is the
    furthest of these; statuses for a wamid not yet known wait here until it appears."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    wamid = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    timestamp = models.DateTimeField()
    recipient = models.CharField(max_length=128, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_detail = models.TextField(blank=True)
    pricing_category = models.CharField(max_length=64, blank=True)
    tracker = models.CharField(max_length=512, blank=True, help_text="biz_opaque_callback_data")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "wamid", "status"], name="status_update_unique"),
        ]


class GraphCall(models.Model):
    """One request to the Graph API: what, when, how long, and how it ended. Never a token,
    never a query string (media URLs carry signatures there)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="graph_calls")
    started_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty when no answer came.")
    duration_ms = models.PositiveIntegerField(default=0)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    message = models.ForeignKey("Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["tenant", "-started_at"], name="graph_call_recent")]

    @property
    def ok(self):
        return self.status_code is not None and self.status_code < 400


class WebhookEvent(models.Model):
    """One POST from Meta, stored before anything else happens to it."""

    class Signature(models.TextChoices):
        VALID = "valid", "Valid"
        MISSING = "missing", "Missing"
        INVALID = "invalid", "Invalid"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"  # kept rows only: a post without a valid signature is a WebhookReject

    # No index on the tenant alone: the indexes below start with it. With one, when other
    # tenants had many failed events the planner read all of a tenant's events through it to
    # count its failed ones in 30 days (0.3 s for 600,000 events; the dashboard's health
    # panel), and it was one more entry for every webhook to write (~10% of the door's statement).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_events", db_index=False)
    received_at = models.DateTimeField(default=timezone.now)
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    signature = models.CharField(max_length=10, choices=Signature.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    deliveries = models.PositiveIntegerField(default=1, help_text="How many times Meta sent this same body.")
    fields = models.CharField(max_length=255, blank=True, help_text="changes[].field values")
    item_counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The webhook's statement gives them (webhook_body.search_terms); on PostgreSQL a trigger
    # fills them from the body for a row inserted without (the ORM, COPY: migrations whatsapp
    # 0012 and 0014), and a GIN index serves the logs' search for a wamid or a phone number
    # over any dates.
    search_terms = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The wamids and phone numbers (and ids) the body names, for the logs' search.",
    )

    class Meta:
        constraints = [
            # Meta's retries of a body we already hold add a delivery, not an event.
            models.UniqueConstraint(
                fields=["tenant", "body_sha256"], condition=Q(signature="valid"), name="webhook_event_unique_body"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at"], name="webhook_event_recent"),
            models.Index(fields=["tenant", "state", "-received_at"], name="webhook_event_state"),
            models.Index(
                fields=["tenant", "received_at"], condition=~Q(signature="valid"), name="webhook_event_bad_signature"
            ),
        ]

    def __str__(self):
        return f"webhook {self.pk} ({self.state})"


class WebhookReject(models.Model):
    """The posts of one minute that had no valid signature. Anyone who knows the URL can
    send them, so they are counted, not stored: one row per tenant and minute, written by
    ingest.REJECT_SQL, holding the counts by reason and the minute's first body, cut to
    SAMPLE_BYTES, as a sample."""

    SAMPLE_BYTES = 4096

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_rejects")
    minute = models.DateTimeField(help_text="The minute the posts came in (seconds cut).")
    missing = models.PositiveIntegerField(default=0, help_text="Posts without X-Hub-Signature-256.")
    invalid = models.PositiveIntegerField(default=0, help_text="Posts whose signature did not match the body.")
    sample = models.BinaryField(max_length=SAMPLE_BYTES, help_text="The start of the minute's first body.")
    sample_reason = models.CharField(max_length=10, choices=WebhookEvent.Signature.choices)
    sample_size = models.PositiveIntegerField(help_text="The whole length of the sample's body, in bytes.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "minute"], name="webhook_reject_minute")]

    def __str__(self):
        return f"rejects at {self.minute:%Y-%m-%d %H:%M} ({self.total})"

    @property
    def total(self):
        return self.missing + self.invalid

    @property
    def sample_text(self):
        return bytes(self.sample).decode("utf-8", errors="replace")


def media_upload_path(media_file, filename):
    """Where a file lives in storage: the tenant, then a random folder, so no path can be
    guessed from another, then a name safe for any store."""
    return storage_name(media_file.tenant_id, filename)


def storage_name(tenant_id, filename):
    """`t/<tenant>/<random>/<safe name>`: no file's path can be guessed from another's."""
    try:
        safe = get_valid_filename(display_filename(filename))
    except SuspiciousFileOperation:
        safe = "file"
    return f"t/{tenant_id}/{uuid.uuid4().hex}/{safe[-120:]}"


def display_filename(name):
    """The last part of a name a browser or Meta gave, safe to show and to store."""
    name = PurePath(str(name or "").replace("\\", "/")).name.strip()
    return name[:200] or "file"


class MediaFile(models.Model):
    """The file of an image, video, audio, document or sticker message, kept in our storage
    (Meta's copy expires). Inbound files start pending until the download lands."""

    class State(models.TextChoices):
        PENDING = "pending", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="media_files")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="media_file")
    meta_media_id = models.CharField(max_length=128, blank=True, help_text="Meta's media id, from the webhook.")
    mime_type = models.CharField(max_length=255, blank=True)
    meta_sha256 = models.CharField(max_length=128, blank=True, help_text="Meta's checksum: hex or base64.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Hex SHA-256 of the stored bytes.")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True, help_text="The name shown and offered for download.")
    file = models.FileField(upload_to=media_upload_path, max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True, help_text="Why the download failed, for the agent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "state"], name="media_file_state")]

    def __str__(self):
        return f"{self.message.type} file {self.pk} ({self.state})"


class UploadedMedia(models.Model):
    """A file we uploaded to Meta, by content. Meta keeps uploads for 30 days, so the same
    bytes sent again within that time go by the same media id, not a second upload."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64)
    mime_type = models.CharField(max_length=255)
    meta_media_id = models.CharField(max_length=128)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number", "sha256", "mime_type"], name="uploaded_media_unique_content"
            )
        ]

    def __str__(self):
        return f"media {self.meta_media_id} ({self.sha256[:12]}…)"


class ConversationResolution(models.Model):
    """One time a conversation was marked resolved: the dashboard's resolution time is
    resolved_at - opened_at. Written by whatsapp.resolutions.record_resolution(), from the
    action that resolves a conversation; a conversation resolved again gets another row."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="resolutions")
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="The customer's first message after the previous resolution."
    )
    resolved_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["tenant", "resolved_at"], name="resolution_recent")]

    def __str__(self):
        return f"{self.conversation} resolved at {self.resolved_at:%Y-%m-%d %H:%M}"


# The jobs package keeps its own model beside the worker that writes it.
from whatsapp.jobs.models import WorkerHeartbeat  # noqa: E402,F401
