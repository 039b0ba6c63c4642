"""The business speaks first: a conversation with a customer who may never have written,
on one of the workspace's numbers. The first message of such a conversation is a template
(sending/actions.py send_template), since no 24-hour window is open."""

import phonenumbers
from django.db import IntegrityError, transaction

from tenants import audit
from whatsapp import hook_events
from whatsapp.errors import ActionError
from whatsapp.models import Contact, Conversation
from whatsapp.realtime import events as realtime


def normalise_number(to, default_country=""):
    """The WhatsApp id (E.164 digits, no '+') of a number as someone typed it: with +country
    code, with 00, or national in the workspace's default country. Raises ActionError."""
    typed = " ".join(str(to or "").split())
    if not typed:
        raise ActionError("Type the customer's phone number.")
    if typed.startswith("00"):
        typed = "+" + typed[2:]
    region = (default_country or "").upper() or None
    try:
        parsed = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None and not typed.startswith("+") and not region:
        raise ActionError(
            f"{typed} has no country code: start it with + and the country code, "
            "or set the workspace's default country."
        )
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ActionError(f"{typed} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def start_conversation(actor, *, tenant, phone_number, to):
    """The conversation with the customer at `to` (any number a person typed) on the
    workspace's business number `phone_number`, found or made with its contact. A new one
    is written in the audit log by `actor` and shown live in open inboxes."""
    if phone_number is None or phone_number.tenant_id != tenant.pk:
        raise ActionError("Choose one of the workspace's business numbers to send from.")
    wa_id = normalise_number(to, tenant.default_country)
    with transaction.atomic():
        contact = _contact(tenant, wa_id)
        if contact.blocked:
            raise ActionError(f"{contact.display_name} is blocked: unblock them before writing to them.")
        conversation, created = _conversation(tenant, contact, phone_number)
        if created:
            audit.record(
                tenant,
                audit.Action.CONVERSATION_STARTED,
                actor=actor,
                target=f"{contact.display_name} from {phone_number.display_phone_number}",
                details={"conversation": conversation.pk, "contact": contact.pk},
            )
            realtime.conversation_changed(conversation)
            hook_events.conversation_created(conversation)
    return conversation


def _contact(tenant, wa_id):
    try:
        with transaction.atomic():
            return Contact.objects.get_or_create(tenant=tenant, wa_id=wa_id)[0]
    except IntegrityError:  # someone made them at the same moment
        return Contact.objects.get(tenant=tenant, wa_id=wa_id)


def _conversation(tenant, contact, phone_number):
    try:
        with transaction.atomic():
            return Conversation.objects.get_or_create(tenant=tenant, contact=contact, phone_number=phone_number)
    except IntegrityError:
        return Conversation.objects.get(tenant=tenant, contact=contact, phone_number=phone_number), False


def existing_conversation(tenant, phone_number, wa_id):
    """The conversation with this WhatsApp id on this business number, if there is one."""
    return (
        Conversation.objects.select_related("contact")
        .filter(tenant=tenant, phone_number=phone_number, contact__wa_id=wa_id)
        .first()
    )
