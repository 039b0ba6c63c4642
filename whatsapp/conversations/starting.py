"""Starting a conversation with a number the inbox may not know yet."""

from django.db import transaction

from whatsapp.errors import ActionError
from whatsapp.models import Contact, Conversation

WA_ID_DIGITS = (7, 15)  # E.164 numbers: at most 15 digits


def start_conversation(actor, *, tenant, phone_number, to):
    """The conversation between `phone_number` (a business number of `tenant`) and `to` (a
    phone number, with or without +, spaces or dashes), made with its contact if new."""
    digits = "".join(character for character in str(to) if character.isdigit())
    if not WA_ID_DIGITS[0] <= len(digits) <= WA_ID_DIGITS[1] or str(to).strip().lstrip("+")[:1] == "0":
        raise ActionError(f"{str(to)[:40]!r} is not a phone number in international format, such as +15551234567.")
    if phone_number.tenant_id != tenant.pk:
        raise ActionError("No such business number.")
    with transaction.atomic():
        contact, _ = Contact.objects.get_or_create(tenant=tenant, wa_id=digits)
        conversation, _ = Conversation.objects.get_or_create(tenant=tenant, contact=contact, phone_number=phone_number)
    return conversation
