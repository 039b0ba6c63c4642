"""Data protection: everything about one contact as a file, a contact erased with all their
data (files in storage included), and each workspace's retention period enforced.

Files are deleted from storage before their rows: if storage fails, the rows stay and the
deletion can simply run again; the reverse order would leave files nobody can find."""

import json
import logging
import re
import shutil
import tempfile
import zipfile
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

import hooks
from tenants import audit
from tenants.models import Tenant
from whatsapp import webhook_body
from whatsapp.models import (
    Conversation,
    GraphCall,
    MediaFile,
    Message,
    MessageStatus,
    Note,
    StatusUpdate,
    WebhookEvent,
    WebhookReject,
)

logger = logging.getLogger(__name__)

EXPORT_SPOOL_BYTES = 8 * 1024 * 1024  # larger exports go to a temporary file, not memory
PURGE_BATCH = 500
PURGE_LIMIT_PER_RUN = 5000  # messages per tenant per run; the task runs again while more remain
PURGE_EVERY = timedelta(hours=1)
# Posts refused for their signature matter only while someone looks into them. No
# workspace keeps its data for less (tenants.models.MIN_RETENTION_DAYS).
REJECTS_KEPT = timedelta(days=7)
DELETED = "[deleted contact]"


# --- Export -------------------------------------------------------------------------------


def _user(user):
    return user.email if user is not None else None


def _message_record(message, statuses, file_name):
    return {
        "id": message.pk,
        "direction": message.direction,
        "type": message.type,
        "text": message.text,
        "content": message.content,
        "wamid": message.wamid,
        "reply_to_wamid": message.reply_to_wamid,
        "status": message.status,
        "error_code": message.error_code,
        "error_title": message.error_title,
        "error_detail": message.error_detail,
        "timestamp": message.timestamp,
        "author": _user(message.author),
        "reactions": message.reactions,
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "status_updates": statuses.get(message.wamid, []),
        "file": file_name,
    }


def _status_updates(tenant, wamids):
    found = {}
    for update in StatusUpdate.objects.filter(tenant=tenant, wamid__in=wamids).order_by("timestamp"):
        found.setdefault(update.wamid, []).append(
            {
                "status": update.status,
                "timestamp": update.timestamp,
                "error_code": update.error_code,
                "error_title": update.error_title,
                "pricing_category": update.pricing_category,
            }
        )
    return found


def _export_conversation(conversation, archive):
    messages = list(conversation.messages.select_related("author").order_by("timestamp", "pk"))
    statuses = _status_updates(conversation.tenant, [m.wamid for m in messages if m.wamid])
    files = {f.message_id: f for f in MediaFile.objects.filter(message__conversation=conversation)}
    records = []
    for message in messages:
        records.append(_message_record(message, statuses, _add_file(archive, files.get(message.pk))))
    return {
        "id": conversation.pk,
        "business_number": conversation.phone_number.display_phone_number,
        "status": conversation.status,
        "assignee": _user(conversation.assignee),
        "labels": [label.name for label in conversation.labels.all()],
        "created_at": conversation.created_at,
        "last_activity_at": conversation.last_activity_at,
        "messages": records,
        "notes": [
            {
                "author": _user(note.author),
                "text": note.text,
                "timestamp": note.timestamp,
                "mentions": [_user(user) for user in note.mentions.all()],
            }
            for note in conversation.notes.select_related("author").order_by("timestamp", "pk")
        ],
    }


def _add_file(archive, media_file):
    """Copy a stored file into the archive in chunks; returns its name there, or None."""
    if media_file is None or media_file.state != MediaFile.State.STORED or not media_file.file:
        return None
    name = f"media/{media_file.message_id}-{media_file.filename or 'file'}"
    try:
        with media_file.file.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
    except FileNotFoundError:
        logger.warning("Export: media file %s is missing from storage", media_file.pk)
        return None
    return name


def export_contact(contact, *, actor=None, request=None):
    """A ZIP of everything about the contact: contact.json (the contact, their
    conversations with every message, status and note) and their files under media/.
    Returns an open file positioned at its start. The audit log records the export."""
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        conversations = Conversation.objects.filter(contact=contact).select_related(
            "phone_number", "assignee", "tenant"
        )
        document = {
            "exported_at": timezone.now(),
            "workspace": contact.tenant.slug,
            "contact": {
                "id": contact.pk,
                "wa_id": contact.wa_id,
                "user_id": contact.user_id,
                "profile_name": contact.profile_name,
                "name": contact.name,
                "blocked": contact.blocked,
                "marketing_opted_out": contact.marketing_opted_out,
                "created_at": contact.created_at,
                "updated_at": contact.updated_at,
            },
            "conversations": [_export_conversation(conversation, archive) for conversation in conversations],
        }
        archive.writestr("contact.json", json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
    spool.seek(0)
    audit.record(
        contact.tenant, audit.Action.CONTACT_EXPORTED, actor=actor, target=f"Contact #{contact.pk}", request=request
    )
    return spool


# --- Erasure ------------------------------------------------------------------------------


def _delete_stored_files(media_files):
    for media_file in media_files:
        if media_file.file:
            media_file.file.storage.delete(media_file.file.name)


def contact_summary(contact):
    messages = Message.objects.filter(conversation__contact=contact)
    return {
        "conversations": Conversation.objects.filter(contact=contact).count(),
        "messages": messages.count(),
        "files": MediaFile.objects.filter(message__in=messages).exclude(file="").count(),
        "notes": Note.objects.filter(conversation__contact=contact).count(),
    }


def delete_contact(contact, *, actor=None, request=None):
    """Erase the contact: conversations, messages, notes, statuses, files in storage, and
    their traces in stored webhooks (redacted, see `redact_webhook_events`). The audit log
    keeps that it happened and the counts, never who the contact was."""
    counts = contact_summary(contact)
    _delete_stored_files(MediaFile.objects.filter(message__conversation__contact=contact).exclude(file=""))
    wamids = list(
        Message.objects.filter(conversation__contact=contact, wamid__isnull=False).values_list("wamid", flat=True)
    )
    recipients = [name for name in (contact.wa_id, contact.user_id) if name]
    with transaction.atomic():
        counts["webhook_events_redacted"] = redact_webhook_events(contact)
        for start in range(0, len(wamids), PURGE_BATCH):
            StatusUpdate.objects.filter(tenant=contact.tenant, wamid__in=wamids[start : start + PURGE_BATCH]).delete()
        StatusUpdate.objects.filter(tenant=contact.tenant, recipient__in=recipients).delete()
        contact_id = contact.pk
        conversation_ids = list(contact.conversations.values_list("pk", flat=True))
        counts["outgoing_webhook_events_deleted"] = hooks.forget_contact(
            contact.tenant_id, contact_id, conversation_ids
        )
        contact.delete()
        audit.record(
            contact.tenant,
            audit.Action.CONTACT_DELETED,
            actor=actor,
            target=f"Contact #{contact_id}",
            details=counts,
            request=request,
        )
    return counts


def _concerns(item, names):
    if not isinstance(item, dict):
        return False
    keys = ("from", "from_user_id", "recipient_id", "recipient_user_id", "wa_id", "user_id")
    return any(item.get(key) in names for key in keys)


def redact_payload(payload, names):
    """The payload without the messages, statuses, contacts and marketing preferences of
    these wa_ids/user ids."""
    for _entry, _field, value in webhook_body.changes(payload):
        for key in ("messages", "statuses", "contacts", "user_preferences"):
            if isinstance(value.get(key), list):
                value[key] = [item for item in value[key] if not _concerns(item, names)]
    return payload


def redact_webhook_events(contact):
    """Stored webhooks that mention the contact lose every item about them; what remains
    (other customers' items in the same batch) stays replayable. The row itself stays, so a
    resend of the same body by Meta counts as a delivery and cannot bring the contact back."""
    names = {name for name in (contact.wa_id, contact.user_id) if name}
    if not names:
        return 0
    pattern = re.compile("|".join(rf"(?<![\w]){re.escape(name)}(?![\w])" for name in names))
    mentions = Q()
    for name in names:
        mentions |= Q(body__contains=name)
    redacted = 0
    for event in WebhookEvent.objects.filter(mentions, tenant=contact.tenant).iterator():
        try:
            body = json.dumps(redact_payload(webhook_body.read_payload(event.body), names), ensure_ascii=False)
        except (ValueError, RecursionError):  # a failed event's body: the pattern below still applies
            body = event.body
        body = pattern.sub(DELETED, body)  # a number left anywhere else (a system message's text)
        note = "Redacted: the items of a deleted contact were removed."
        WebhookEvent.objects.filter(pk=event.pk).update(body=body, error=f"{event.error}\n{note}".strip())
        redacted += 1
    return redacted


# --- Retention ----------------------------------------------------------------------------


def purge_expired_data(now=None):
    """Delete every workspace's rejected posts older than REJECTS_KEPT, then, for each
    workspace with a retention period: older messages (their files in storage first), notes,
    statuses, webhooks and Graph API calls, in batches. Returns True when a workspace had
    more than one run's worth left."""
    now = now or timezone.now()
    WebhookReject.objects.filter(minute__lt=now - REJECTS_KEPT).delete()
    more = False
    for tenant in Tenant.objects.filter(retention_days__isnull=False):
        counts = purge_tenant(tenant, now - timedelta(days=tenant.retention_days))
        more = more or counts["messages"] >= PURGE_LIMIT_PER_RUN
        if any(counts.values()):
            audit.record(
                tenant, audit.Action.RETENTION_PURGED, target=f"Older than {tenant.retention_days} days", details=counts
            )
    return more


def purge_tenant(tenant, cutoff):
    counts = {"messages": 0, "files": 0}
    # A message still on its way out is never pulled from under its send job.
    expired = Message.objects.filter(tenant=tenant, timestamp__lt=cutoff).exclude(
        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING], direction=Message.Direction.OUT
    )
    while counts["messages"] < PURGE_LIMIT_PER_RUN:
        ids = list(expired.order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            break
        files = list(MediaFile.objects.filter(message_id__in=ids).exclude(file=""))
        _delete_stored_files(files)
        with transaction.atomic():
            Message.objects.filter(pk__in=ids).delete()
        counts["messages"] += len(ids)
        counts["files"] += len(files)
    counts["notes"] = Note.objects.filter(tenant=tenant, timestamp__lt=cutoff).delete()[0]
    counts["statuses"] = StatusUpdate.objects.filter(tenant=tenant, received_at__lt=cutoff).delete()[0]
    counts["webhook_events"] = WebhookEvent.objects.filter(tenant=tenant, received_at__lt=cutoff).delete()[0]
    counts["graph_calls"] = GraphCall.objects.filter(tenant=tenant, started_at__lt=cutoff).delete()[0]
    counts["outgoing_webhook_events"] = hooks.forget_before(tenant.pk, cutoff)
    Conversation.objects.filter(tenant=tenant, last_activity_at__lt=cutoff).exclude(last_message_preview="").update(
        last_message_preview=""
    )
    return counts


def enqueue_purge_if_due():
    """Called by the maintenance job every 30 s: queue the purge when none is waiting or
    running and the last one finished more than PURGE_EVERY ago."""
    from django_tasks_db.models import DBTaskResult

    runs = DBTaskResult.objects.filter(task_path=purge_expired_data_job.module_path)
    if runs.filter(status__in=["READY", "RUNNING"]).exists():
        return False
    if runs.filter(status="SUCCESSFUL", finished_at__gt=timezone.now() - PURGE_EVERY).exists():
        return False
    purge_expired_data_job.enqueue()
    return True


@task(queue_name="default")
def purge_expired_data_job():
    """Each workspace's retention period (hourly, from the maintenance job); runs again at
    once while a workspace has more than one run's worth left."""
    if purge_expired_data():
        purge_expired_data_job.enqueue()
