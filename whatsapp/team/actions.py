"""What admins manage for their team: labels, saved replies, message templates and the
WhatsApp connection. Deleting a label or a saved reply and changing the connection are
written in the audit log (the workspace's inbox settings are changed through
tenants/workspace.py, which audits too)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from tenants import audit
from tenants.models import Tenant
from whatsapp import message_types
from whatsapp.cloud import api as cloud_api
from whatsapp.errors import ActionError
from whatsapp.models import CannedResponse, Connection, Label, MessageTemplate
from whatsapp.realtime import events as realtime
from whatsapp.sending import delivery

logger = logging.getLogger(__name__)

TEMPLATE_SYNC_EVERY = timedelta(hours=1)


def create_label(membership, name):
    """The workspace's label of this name, made if new, in the next colour of the palette."""
    name = " ".join(name.split())[: Label.NAME_MAX]
    if not name:
        raise ActionError("A label needs a name.")
    color = Label.COLORS[Label.objects.filter(tenant=membership.tenant).count() % len(Label.COLORS)]
    label, _ = Label.objects.get_or_create(tenant=membership.tenant, name=name, defaults={"color": color})
    return label


def delete_label(membership, label, *, request=None):
    """Delete the label, and so take it off every conversation that has it; open inboxes drop
    it live (label.deleted)."""
    with transaction.atomic():
        label_id, labelled = label.pk, label.conversations.count()
        label.delete()
        audit.record(
            membership.tenant,
            audit.Action.LABEL_DELETED,
            actor=membership.user,
            target=f"Label {label.name}",
            details={"conversations": labelled},
            request=request,
        )
        realtime.label_deleted(membership.tenant_id, label_id)


def save_canned_response(tenant, shortcut, text):
    shortcut = shortcut.strip().lstrip("/").lower()
    text = text.replace("\r\n", "\n").strip()
    if not shortcut or not shortcut.replace("-", "").replace("_", "").isalnum():
        raise ActionError("A shortcut is one word: letters, digits, - and _.")
    if not text:
        raise ActionError("A saved reply needs text.")
    response, _ = CannedResponse.objects.update_or_create(
        tenant=tenant,
        shortcut=shortcut[: CannedResponse.SHORTCUT_MAX],
        defaults={"text": text[: message_types.TEXT_MAX]},
    )
    return response


def delete_saved_reply(membership, response, *, request=None):
    """Delete a saved reply. Inboxes open now offer it until they reload: saved replies come
    with the page, not live."""
    with transaction.atomic():
        response.delete()
        audit.record(
            membership.tenant,
            audit.Action.SAVED_REPLY_DELETED,
            actor=membership.user,
            target=f"/{response.shortcut}",
            request=request,
        )


def sync_templates(tenant):
    """Bring the tenant's templates up to date with Meta's list. Returns how many there are."""
    connection = Connection.objects.select_related("tenant").get(tenant=tenant)
    number = tenant.phone_numbers.first()
    if number is None:
        raise ActionError("Connect a business number first.")
    fetched = cloud_api.fetch_templates(number, connection)
    with transaction.atomic():
        for fields in fetched:
            if fields["meta_id"]:
                MessageTemplate.objects.update_or_create(tenant=tenant, meta_id=fields.pop("meta_id"), defaults=fields)
        Connection.objects.filter(pk=connection.pk).update(templates_synced_at=timezone.now())
    return len(fetched)


def tenants_due_for_template_sync(now=None):
    due = (now or timezone.now()) - TEMPLATE_SYNC_EVERY
    connections = Connection.objects.filter(tenant__active=True, sending_paused_reason="")
    return [c.tenant_id for c in connections.exclude(templates_synced_at__gt=due).only("tenant_id")]


def note_sync_attempt(tenant_id):
    Connection.objects.filter(tenant_id=tenant_id).update(templates_synced_at=timezone.now())


@task()
def sync_templates_job(tenant_id):
    """sync_templates in the background (hourly, and on Meta's template webhooks)."""
    try:
        sync_templates(Tenant.objects.get(pk=tenant_id))
    except (cloud_api.CloudAPIError, ActionError) as error:
        logger.warning("Template sync for tenant %s failed: %s", tenant_id, error)
        note_sync_attempt(tenant_id)  # try again at the next hourly turn, not every 30 s


CONNECTION_FIELDS = ("waba_id", "app_secret", "verify_token", "access_token")


def save_connection(connection, *, request=None):
    """Save a workspace's WhatsApp connection as edited (its WABA id and secrets), from the
    connection page or Django admin. The audit log names the fields that changed, never their
    values; a replaced access token resumes sending that was paused for the old one."""
    with transaction.atomic():
        stored = Connection.objects.select_for_update().filter(pk=connection.pk).first() if connection.pk else None
        changed = [name for name in CONNECTION_FIELDS if getattr(connection, name) != getattr(stored, name, None)]
        connection.save()
        if changed:
            audit.record(
                connection.tenant,
                audit.Action.TOKEN_REPLACED if "access_token" in changed else audit.Action.CONNECTION_CHANGED,
                actor=getattr(request, "user", None),
                target="WhatsApp connection",
                details={"fields": changed},
                request=request,
            )
    if stored is not None and stored.access_token and "access_token" in changed:
        delivery.token_replaced(connection)
    return connection
