"""The workspace's business numbers (owners): which numbers the WhatsApp Business Account has,
adding one (registering it for the Cloud API with its PIN when Meta has not yet), removing
one, and each number's WhatsApp business profile. Every change is audited."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count

from tenants import audit
from whatsapp.cloud import api as cloud_api
from whatsapp.cloud.account import at_meta, connection_of
from whatsapp.errors import ActionError
from whatsapp.models import Message, MessageStatus, PhoneNumber

PIN = re.compile(r"\d{6}")
# Meta's business profile limits (Cloud API business profile reference; PyWA says the same).
ABOUT_MAX, ADDRESS_MAX, DESCRIPTION_MAX, EMAIL_MAX, WEBSITE_MAX, WEBSITES_MAX = 139, 256, 512, 128, 256, 2
VERTICALS = (
    "",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
)
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
PHOTO_MAX = 5 * 2**20
WAITING = (MessageStatus.QUEUED, MessageStatus.SENDING)
MESSAGING_LIMITS = {
    "TIER_50": "50 customers a day",
    "TIER_250": "250 customers a day",
    "TIER_1K": "1,000 customers a day",
    "TIER_2K": "2,000 customers a day",
    "TIER_10K": "10,000 customers a day",
    "TIER_100K": "100,000 customers a day",
    "TIER_UNLIMITED": "Unlimited",
}


@dataclass
class AccountNumber:
    """A number of the WhatsApp Business Account, as Meta lists it, and ours if added."""

    phone_number_id: str
    display_phone_number: str
    verified_name: str
    name_status: str
    quality_rating: str
    messaging_limit: str
    status: str
    platform_type: str
    added: PhoneNumber | None = None

    @property
    def limit_in_words(self):
        """Meta's tier as people say it: how many customers the number may start conversations
        with in 24 hours."""
        return MESSAGING_LIMITS.get(self.messaging_limit, self.messaging_limit)

    @property
    def needs_registration(self):
        """Meta lists a number not yet registered for the Cloud API as not connected."""
        return self.platform_type != "CLOUD_API" or self.status not in ("CONNECTED", "")


def account_numbers(tenant):
    """The account's numbers, Meta's facts about each, with the workspace's own number where
    it has been added. Raises ActionError when Meta cannot be asked."""
    listed = at_meta(cloud_api.list_account_numbers, connection_of(tenant))
    ours = {number.phone_number_id: number for number in PhoneNumber.objects.filter(tenant=tenant)}
    return [AccountNumber(**fields, added=ours.get(fields["phone_number_id"])) for fields in listed]


def add_number(membership, phone_number_id, pin="", *, request=None):
    """Add one of the account's numbers to the workspace, registering it first with its
    two-step verification `pin` when Meta has not registered it for the Cloud API."""
    tenant = membership.tenant
    if PhoneNumber.objects.filter(tenant=tenant, phone_number_id=phone_number_id).exists():
        raise ActionError("This number is in the workspace already.")
    found = [n for n in account_numbers(tenant) if n.phone_number_id == str(phone_number_id)]
    if not found:
        raise ActionError("That is not a number of your WhatsApp Business Account.")
    number = found[0]
    if number.needs_registration:
        pin = str(pin or "").strip()
        if not PIN.fullmatch(pin):
            raise ActionError(
                f"+{number.display_phone_number} must be registered with its six-digit two-step verification "
                "PIN (set in WhatsApp Manager)."
            )
        at_meta(cloud_api.register_number, connection_of(tenant), number.phone_number_id, pin)
    with transaction.atomic():
        added, _ = PhoneNumber.objects.get_or_create(
            tenant=tenant,
            phone_number_id=number.phone_number_id,
            defaults={
                "display_phone_number": number.display_phone_number,
                "verified_name": number.verified_name,
                "name_status": number.name_status,
                "quality_rating": number.quality_rating,
                "messaging_limit": number.messaging_limit,
            },
        )
        audit.record(
            tenant,
            audit.Action.NUMBER_ADDED,
            actor=audit.acting(membership),
            target=f"Number +{added.display_phone_number}",
            details={"phone_number_id": added.phone_number_id, "registered": number.needs_registration},
            request=request,
        )
    return added


def removal_facts(number):
    """What removing `number` would do: its conversations and messages, and the messages
    still waiting to be sent from it."""
    conversations = number.conversations.aggregate(count=Count("pk"))["count"]
    messages = Message.objects.filter(conversation__phone_number=number)
    return {
        "conversations": conversations,
        "messages": messages.count(),
        "waiting": messages.filter(direction=Message.Direction.OUT, status__in=WAITING).count(),
        "last_number": not PhoneNumber.objects.filter(tenant_id=number.tenant_id).exclude(pk=number.pk).exists(),
    }


def remove_number(membership, number, *, request=None):
    """Remove a number from the workspace with its conversations and their messages (the
    number stays in the WhatsApp Business Account; adding it again starts afresh). Refused
    while messages wait to be sent from it, and for the workspace's only number."""
    with transaction.atomic():
        number = PhoneNumber.objects.select_for_update().get(pk=number.pk, tenant=membership.tenant)
        facts = removal_facts(number)
        if facts["last_number"]:
            raise ActionError("This is the workspace's only number: add another before removing it.")
        if facts["waiting"]:
            raise ActionError(
                f"{facts['waiting']} message(s) are still waiting to be sent from +{number.display_phone_number}. "
                "Remove the number once they are sent or failed."
            )
        number.delete()
        audit.record(
            membership.tenant,
            audit.Action.NUMBER_REMOVED,
            actor=audit.acting(membership),
            target=f"Number +{number.display_phone_number}",
            details={"conversations": facts["conversations"], "messages": facts["messages"]},
            request=request,
        )
    return facts


def business_profile(number):
    return at_meta(cloud_api.get_business_profile, number, connection_of(number.tenant))


def update_business_profile(membership, number, fields, photo=None, *, request=None):
    """Change the number's WhatsApp business profile. `fields`: about, address, description,
    email, websites (text, one per line), vertical; `photo`: an uploaded file or None."""
    checked = _checked_profile(fields)
    connection = connection_of(membership.tenant)
    upload = _checked_photo(photo, connection) if photo else None
    at_meta(cloud_api.update_business_profile, number, connection, checked, upload)
    audit.record(
        membership.tenant,
        audit.Action.PROFILE_CHANGED,
        actor=audit.acting(membership),
        target=f"Number +{number.display_phone_number}",
        details={"fields": sorted(name for name, value in checked.items() if value), "photo": upload is not None},
        request=request,
    )
    return checked


def _checked_profile(fields):
    def text(name):
        return (
            " ".join(str(fields.get(name) or "").split())
            if name != "description"
            else str(fields.get(name) or "").replace("\r\n", "\n").strip()
        )

    profile = {name: text(name) for name in ("about", "address", "description", "email")}
    profile["websites"] = [line.strip() for line in str(fields.get("websites") or "").splitlines() if line.strip()]
    profile["vertical"] = str(fields.get("vertical") or "")
    limits = {"about": ABOUT_MAX, "address": ADDRESS_MAX, "description": DESCRIPTION_MAX, "email": EMAIL_MAX}
    for name, limit in limits.items():
        if len(profile[name]) > limit:
            raise ActionError(f"{name.capitalize()}: at most {limit} characters.")
    if not profile["about"]:
        raise ActionError("About: WhatsApp needs a line about the business (at most 139 characters).")
    if profile["email"]:
        try:
            validate_email(profile["email"])
        except ValidationError:
            raise ActionError("Email: enter an address such as help@example.com.")
    if len(profile["websites"]) > WEBSITES_MAX:
        raise ActionError(f"Websites: at most {WEBSITES_MAX}.")
    for site in profile["websites"]:
        if not re.fullmatch(r"https?://\S+", site) or len(site) > WEBSITE_MAX:
            raise ActionError(f"Websites: {site[:80]} is not a web address starting with https://.")
    if profile["vertical"] not in VERTICALS:
        raise ActionError("Industry: choose one from the list.")
    return profile


def _checked_photo(photo, connection):
    if not connection.app_id:
        raise ActionError(
            "Photo: set the Meta app id on the WhatsApp connection page first; Meta needs it for uploads."
        )
    if photo.size > PHOTO_MAX:
        raise ActionError("Photo: at most 5 MB.")
    content = photo.read()
    mime_type = next((kind for magic, kind in PHOTO_TYPES.items() if content.startswith(magic)), None)
    if mime_type is None:
        raise ActionError("Photo: a JPEG or PNG image.")
    return content, mime_type
