"""Marketing consent: who agreed to marketing messages (where, when, recorded by whom), who
stopped them (by a keyword, through WhatsApp's own setting, or as an agent recorded it), and
the check that keeps marketing templates from customers who stopped them. The opt-out
confirmation a keyword earns is sent by whatsapp/sending/notices.py."""

import unicodedata

from django.db import transaction
from django.utils import timezone

from tenants import audit
from whatsapp import hook_events
from whatsapp.errors import ActionError
from whatsapp.models import Contact
from whatsapp.realtime import events as realtime

SOURCE_MAX = 200
# Punctuation a customer may add around a keyword ("Stop!", "¡BAJA!") without changing it.
AROUND_A_KEYWORD = " \t\r\n.!¡?¿,;:'\"«»“”"


def marketing_refusal(contact, template):
    """Why `template` may not go to `contact` for lack of consent, in words an agent reads, or
    None when it may. Only marketing templates need consent; utility and authentication
    templates may still be sent to a customer who stopped marketing messages."""
    if str(template.category).upper() != "MARKETING" or not contact.marketing_opted_out:
        return None
    how = f" ({contact.marketing_opt_out_source})" if contact.marketing_opt_out_source else ""
    when = (
        f" on {timezone.localtime(contact.marketing_opted_out_at):%d %b %Y}" if contact.marketing_opted_out_at else ""
    )
    return (
        f"{contact.display_name} opted out of marketing messages{when}{how}: {template.name} is a marketing "
        "template, so it cannot be sent to them. Send a utility template, or record their opt-in first if "
        "they agreed again."
    )


def normalised(text):
    """`text` as keywords are compared: without accents, case or surrounding punctuation."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().strip(AROUND_A_KEYWORD).split())


def opt_out_keywords(tenant):
    """The workspace's opt-out keywords, normalised."""
    return {normalised(word) for word in tenant.opt_out_keywords.split(",") if normalised(word)}


def is_opt_out_keyword(tenant, text):
    """Whether a customer's whole message is one of the workspace's opt-out keywords."""
    return bool(text) and normalised(text) in opt_out_keywords(tenant)


def record_opt_in(membership, contact, source, *, request=None):
    """A member records that the contact agreed to marketing messages, and where (`source`:
    "signed up on the website", "in the shop"…). It clears an earlier opt-out."""
    source = " ".join(str(source).split())[:SOURCE_MAX]
    if not source:
        raise ActionError("Say where the customer agreed to marketing messages (a form, the shop…).")
    return _opt_in(contact, source, membership=membership, request=request)


def record_customer_opt_in(contact, source):
    """The customer agreed again by themselves (WhatsApp's own marketing setting)."""
    return _opt_in(contact, source)


def _opt_in(contact, source, membership=None, request=None):
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(
            marketing_opted_out=False,
            marketing_opted_in_at=timezone.now(),
            marketing_opt_in_source=source,
            marketing_opt_in_by=membership.user if membership else None,
            updated_at=timezone.now(),
        )
        audit.record(
            contact.tenant,
            audit.Action.CONTACT_OPTED_IN,
            actor=audit.acting(membership) if membership else None,
            target=f"Contact {contact.pk}",
            details={"source": source},
            request=request,
        )
        realtime.contact_changed(contact)
        contact.refresh_from_db()
        hook_events.contacts_updated(contact.tenant_id, [contact])
    return contact


def record_opt_out(contact, source, *, membership=None, request=None):
    """The contact stopped marketing messages: by a keyword, WhatsApp's own setting, or as a
    member recorded it (`membership`). Returns whether this changed anything."""
    with transaction.atomic():
        changed = (
            Contact.objects.filter(pk=contact.pk, marketing_opted_out=False).update(
                marketing_opted_out=True,
                marketing_opted_out_at=timezone.now(),
                marketing_opt_out_source=str(source)[:SOURCE_MAX],
                updated_at=timezone.now(),
            )
            > 0
        )
        if changed:
            audit.record(
                contact.tenant,
                audit.Action.CONTACT_OPTED_OUT,
                actor=audit.acting(membership) if membership else None,
                target=f"Contact {contact.pk}",
                details={"source": str(source)[:SOURCE_MAX]},
                request=request,
            )
            realtime.contact_changed(contact)
        contact.refresh_from_db()
        if changed:
            hook_events.contacts_updated(contact.tenant_id, [contact])
    return changed
