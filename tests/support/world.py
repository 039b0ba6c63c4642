"""A tenant with one of everything, made with the ORM (works with and without a live
stack): a contact and their conversation, messages, a stored photo, a note, a label, a
saved reply, a template, a webhook event, a minute of rejected posts, a Graph API call, an
audit entry, a pending invitation, an API key, an outgoing webhook endpoint with one delivery. The isolation
and browser tests fill every URL's ids from it."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from api import keys
from hooks.models import Delivery, Endpoint, Event, new_secret
from tenants import audit
from tenants.models import Invitation, Membership
from whatsapp.models import (
    CannedResponse,
    Contact,
    Conversation,
    GraphCall,
    Label,
    MediaFile,
    Message,
    MessageTemplate,
    Note,
    PhoneNumber,
    WebhookEvent,
    WebhookReject,
)
from whatsapp.simulator import payloads

from .media_files import png


@dataclass
class World:
    tenant: object
    contact: Contact
    conversation: Conversation
    message: Message
    media_file: MediaFile
    note: Note
    label: Label
    canned: CannedResponse
    template: MessageTemplate
    event: WebhookEvent
    call: GraphCall
    member: Membership
    invitation: Invitation
    reject: WebhookReject
    endpoint: Endpoint
    delivery: Delivery
    extra: dict = field(default_factory=dict)


def build_world(tenant, member, customer="15557770000", name="Ada"):
    """One of everything for `tenant`; `member` is one of its memberships."""
    number = PhoneNumber.objects.filter(tenant=tenant).first()
    contact = Contact.objects.create(tenant=tenant, wa_id=customer, profile_name=name)
    now = timezone.now()
    conversation = Conversation.objects.create(
        tenant=tenant,
        contact=contact,
        phone_number=number,
        last_inbound_at=now,
        window_closes_at=now + timedelta(hours=20),
        last_message_preview="Hello",
    )
    message = Message.objects.create(
        tenant=tenant,
        conversation=conversation,
        direction="in",
        type="text",
        text="Hello",
        content={"type": "text", "text": {"body": "Hello"}},
        wamid=f"wamid.{tenant.slug}.{customer}.1",
        status="read",
    )
    photo = Message.objects.create(
        tenant=tenant,
        conversation=conversation,
        direction="in",
        type="image",
        content={"type": "image", "image": {"mime_type": "image/png", "caption": "the receipt"}},
        wamid=f"wamid.{tenant.slug}.{customer}.2",
        status="read",
    )
    media_file = MediaFile(
        tenant=tenant,
        message=photo,
        mime_type="image/png",
        filename="receipt.png",
        state=MediaFile.State.STORED,
        size=len(png()),
        meta_media_id="media-1",
    )
    media_file.file.save("receipt.png", ContentFile(png()), save=True)
    note = Note.objects.create(tenant=tenant, conversation=conversation, author=member.user, text="VIP customer")
    label = Label.objects.create(tenant=tenant, name="Billing")
    canned = CannedResponse.objects.create(tenant=tenant, shortcut="thanks", text="Thank you!")
    template = MessageTemplate.objects.create(
        tenant=tenant,
        meta_id=f"tpl-{tenant.slug}",
        name="order_update",
        language="en",
        status="APPROVED",
        category="UTILITY",
        components=[{"type": "BODY", "text": "Your order {{1}} is on its way."}],
    )
    body = payloads.encode(payloads.text_message(number.phone_number_id, customer, "Hello", name=name))
    event = WebhookEvent.objects.create(
        tenant=tenant,
        body=body.decode(),
        body_sha256=f"{tenant.slug}-sha",
        signature="valid",
        state="failed",
        error="For the test",
    )
    call = GraphCall.objects.create(
        tenant=tenant, method="POST", path=f"/v24.0/{number.phone_number_id}/messages", status_code=200
    )
    reject = WebhookReject.objects.create(
        tenant=tenant,
        minute=now.replace(second=0, microsecond=0),
        missing=2,
        sample=b'{"forged": true}',
        sample_reason="missing",
        sample_size=16,
    )
    audit.record(tenant, audit.Action.SETTINGS_CHANGED, actor=member.user, target="For the test")
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=f"invited@{tenant.slug}.test",
        invited_by=member.user,
        nonce=f"nonce-{tenant.slug}",
        expires_at=now + timedelta(days=7),
    )
    endpoint = Endpoint.objects.create(
        tenant=tenant,
        url=f"https://hooks.{tenant.slug}.example/in",
        event_types=["contact.updated"],
        secret=new_secret(),
    )
    hook_event = Event.objects.create(tenant=tenant, type="contact.updated", data={"contact": {"id": contact.pk}})
    delivery = Delivery.objects.create(endpoint=endpoint, event=hook_event, give_up_at=now + timedelta(days=2))
    return World(
        tenant,
        contact,
        conversation,
        message,
        media_file,
        note,
        label,
        canned,
        template,
        event,
        call,
        member,
        invitation,
        reject,
        endpoint,
        delivery,
        extra={"api_key": keys.create_key(tenant, name="World", scopes=["read"])[0]},
    )
