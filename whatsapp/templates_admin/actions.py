"""Creating, editing and deleting message templates. Each goes to Meta first (a template
exists once Meta has it), is then stored as Meta described it, audited and published
(template.updated); Meta's review outcome arrives later in a message_template_status_update
webhook (whatsapp/webhook/account_updates.py), which is published the same way."""

from django.db import transaction

from tenants import audit
from whatsapp.cloud import api as cloud_api
from whatsapp.cloud.account import at_meta, connection_of
from whatsapp.errors import ActionError
from whatsapp.media import rules as media_rules
from whatsapp.models import MessageTemplate
from whatsapp.realtime import events as realtime
from whatsapp.templates_admin.drafts import MEDIA_HEADERS, DraftError

# Meta lets these be edited; a template under review, or disabled, cannot be.
EDITABLE_STATUSES = ("APPROVED", "REJECTED", "PAUSED")


def submit_template(membership, draft, *, request=None):
    """Create the template at Meta and so submit it for review. Raises DraftError naming the
    fields Meta would refuse, ActionError when Meta refuses it."""
    draft.check()
    tenant = membership.tenant
    if MessageTemplate.objects.filter(tenant=tenant, name=draft.name, language=draft.language).exists():
        raise DraftError({"name": f"Name: {draft.name} already exists in {draft.language}; edit that one."})
    connection = connection_of(tenant)
    _upload_header_example(connection, draft)
    created = at_meta(cloud_api.create_template, connection, draft.meta_template(), meta_words_only=True)
    fields = {
        "name": draft.name,
        "language": draft.language,
        "category": str(created.get("category") or draft.category).upper(),
        "components": draft.meta_components()["components"],
    }
    with transaction.atomic():
        # Meta's review webhook may have come first and made the row: its status is the newer.
        template, made = MessageTemplate.objects.get_or_create(
            tenant=tenant,
            meta_id=str(created["id"]),
            defaults=fields | {"status": str(created.get("status") or "PENDING").upper()},
        )
        if not made:
            MessageTemplate.objects.filter(pk=template.pk).update(**fields)
            template.refresh_from_db()
        _audit(membership, audit.Action.TEMPLATE_SUBMITTED, template, request)
        realtime.template_changed(template)
    return template


def edit_template(membership, template, draft, *, request=None):
    """Submit new components (and category) for an existing template; Meta reviews it again.
    Its name and language cannot change."""
    if template.status not in EDITABLE_STATUSES:
        raise ActionError(
            f"Template {template.name} is {template.status.lower() or 'not reviewed yet'}: Meta lets you edit "
            "approved, rejected or paused templates only."
        )
    draft.name, draft.language = template.name, template.language
    draft.check()
    connection = connection_of(membership.tenant)
    _upload_header_example(connection, draft)
    meta = draft.meta_components()
    meta["category"] = draft.category
    at_meta(cloud_api.edit_template, connection, template.meta_id, meta, meta_words_only=True)
    with transaction.atomic():
        MessageTemplate.objects.filter(pk=template.pk).update(components=meta["components"], category=draft.category)
        # Back to review, unless Meta's webhook about this edit has come first.
        MessageTemplate.objects.filter(pk=template.pk, status=template.status).update(status="PENDING", reason="")
        template.refresh_from_db()
        _audit(membership, audit.Action.TEMPLATE_EDITED, template, request)
        realtime.template_changed(template)
    return template


def delete_template(membership, template, *, request=None):
    """Delete the template at Meta (this language only) and here."""
    at_meta(
        cloud_api.delete_template,
        connection_of(membership.tenant),
        template.name,
        template.meta_id,
        meta_words_only=True,
    )
    with transaction.atomic():
        template_id = template.pk
        template.delete()
        template.pk = template_id
        _audit(membership, audit.Action.TEMPLATE_DELETED, template, request)
        realtime.template_changed(template, deleted=True)


def _upload_header_example(connection, draft):
    """A media header's new example file, checked as WhatsApp checks files, goes to Meta's
    resumable upload; the draft then names its handle."""
    if draft.header_format not in MEDIA_HEADERS or draft.header_file is None:
        return
    upload, kind = draft.header_file, MEDIA_HEADERS[draft.header_format]
    try:
        checked = media_rules.check_outbound_file(upload)
    except media_rules.FileRefused as error:
        raise DraftError({"header_file": f"Header example: {error}"})
    if checked.kind != kind or (kind == "document" and checked.mime_type != "application/pdf"):
        wanted = "a PDF" if kind == "document" else f"an {kind}" if kind == "image" else f"a {kind}"
        raise DraftError({"header_file": f"Header example: {checked.filename} is not {wanted}."})
    if not connection.app_id:
        raise DraftError({"header_file": "Header example: set the Meta app id on the WhatsApp connection page first."})
    upload.seek(0)
    content = upload.read()
    draft.header_handle = at_meta(
        cloud_api.upload_example, connection, content, checked.mime_type, draft.name, meta_words_only=True
    )


def _audit(membership, action, template, request):
    audit.record(
        membership.tenant,
        action,
        actor=audit.acting(membership),
        target=f"Template {template.name} ({template.language})",
        details={"category": template.category},
        request=request,
    )
