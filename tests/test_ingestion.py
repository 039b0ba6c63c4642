"""Every kind of update Meta sends, through the real webhook view, into the database and
onto the agent's page."""

import json

import pytest
from pywa.types import (
    AccountUpdate,
    TemplateCategoryUpdate,
    TemplateComponentsUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    UserMarketingPreferences,
)

from tests.support.meta_samples import PYWA_SAMPLES as SAMPLES
from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation, Message, MessageTemplate, PhoneNumber, StatusUpdate, WebhookEvent
from whatsapp.simulator import payloads
from whatsapp.webhook import account_updates, ingest, updates

PNID = ACME["phone_number_id"]
CUSTOMER = "15551234567"


@pytest.fixture
def receive(webhook, run_tasks):
    """Post a signed payload and run the worker; returns the event."""

    def post(payload):
        assert webhook.post(payload).status_code == 200
        run_tasks()
        return WebhookEvent.objects.order_by("-pk").first()

    return post


@pytest.fixture
def thread_html(agent_client):
    def html():
        conversation = Conversation.objects.get()
        return agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()

    return html


def inbound(kind, body, **kwargs):
    return payloads.message(PNID, kwargs.pop("wa_id", CUSTOMER), kind, body, **kwargs)


MEDIA = {"id": "MEDIA_1", "mime_type": "image/jpeg", "sha256": "abc"}


@pytest.mark.parametrize(
    ("kind", "body", "stored_text", "shown"),
    [
        ("image", {**MEDIA, "caption": "My receipt"}, "My receipt", "My receipt"),
        ("video", {**MEDIA, "mime_type": "video/mp4"}, "", "video/mp4"),
        ("audio", {**MEDIA, "mime_type": "audio/ogg; codecs=opus", "voice": True}, "", "Voice note"),
        (
            "document",
            {**MEDIA, "mime_type": "application/pdf", "filename": "invoice.pdf"},
            "invoice.pdf",
            "invoice.pdf",
        ),
        ("sticker", {**MEDIA, "mime_type": "image/webp", "animated": False}, "", "Sticker"),
        (
            "location",
            {"latitude": 38.72, "longitude": -9.14, "name": "Main store", "address": "Rua Augusta 1"},
            "Main store, Rua Augusta 1",
            "openstreetmap.org/?mlat=38.72&amp;mlon=-9.14",
        ),
        (
            "contacts",
            [{"name": {"formatted_name": "Chandler Bing"}, "phones": [{"phone": "+1 555-555-5555", "type": "CELL"}]}],
            "Shared Chandler Bing",
            "tel:%2B15555555555",
        ),
        (
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, please"}},
            "Yes, please",
            "Tapped a button",
        ),
        (
            "interactive",
            {"type": "list_reply", "list_reply": {"id": "l1", "title": "Large", "description": "40 cm"}},
            "Large",
            "40 cm",
        ),
        ("button", {"payload": "STOP", "text": "Stop promotions"}, "Stop promotions", "Tapped a template button"),
        (
            "interactive",
            {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"rating": "5"}'}},
            "Sent",
            "Form completed",
        ),
        (
            "order",
            {
                "catalog_id": "C1",
                "text": "",
                "product_items": [{"product_retailer_id": "SKU1", "quantity": 2, "item_price": 9.5, "currency": "EUR"}],
            },
            "Order of 2 items",
            "SKU1",
        ),
    ],
)
def test_every_message_type_is_stored_and_shown(receive, thread_html, kind, body, stored_text, shown):
    # A reply from a list or a button answers our message, which Meta names in its context.
    context = {"from": ACME["display_phone_number"], "id": "wamid.OURS"} if kind == "interactive" else None
    event = receive(inbound(kind, body, context=context))
    assert (event.state, event.error) == (WebhookEvent.State.PROCESSED, "")
    message = Message.objects.get()
    assert (message.type, message.text) == (kind, stored_text)
    assert shown in thread_html()


def test_a_referral_from_an_ad_is_shown_with_the_message(receive, thread_html):
    referral = {"source_url": "https://fb.me/ad", "source_type": "ad", "headline": "Summer sale", "body": "50% off"}
    receive(inbound("text", {"body": "Is this still on?"}, referral=referral))
    assert "Summer sale" in thread_html() and "From an ad" in thread_html()


def test_forwarded_flags_are_shown(receive, thread_html):
    receive(inbound("text", {"body": "look"}, context={"forwarded": True, "frequently_forwarded": True}))
    assert "Forwarded many times" in thread_html()


def test_a_reply_quotes_the_message_it_answers(receive, thread_html):
    receive(inbound("text", {"body": "Do you ship to Porto?"}, wamid="wamid.Q"))
    receive(inbound("text", {"body": "Yes!"}, context={"from": CUSTOMER, "id": "wamid.Q"}))
    assert 'class="quote"' in thread_html() and "Do you ship to Porto?" in thread_html()


def test_a_reply_to_a_message_we_never_saw_gets_a_placeholder(receive, thread_html):
    receive(inbound("text", {"body": "as I said"}, context={"from": CUSTOMER, "id": "wamid.NEVER"}))
    assert "A message that is not in this inbox" in thread_html()


def test_a_reaction_is_attached_to_its_message_and_can_be_removed(receive, thread_html):
    receive(inbound("text", {"body": "Thanks"}, wamid="wamid.T"))
    receive(inbound("reaction", {"message_id": "wamid.T", "emoji": "❤️"}, timestamp=2_000_000_000))
    target = Message.objects.get(wamid="wamid.T")
    assert target.reactions == {"customer": "❤️"}
    assert 'class="reaction"' in thread_html()
    receive(inbound("reaction", {"message_id": "wamid.T"}, timestamp=2_000_000_100))  # no emoji: removed
    target.refresh_from_db()
    assert target.reactions == {}


def test_a_reaction_that_arrives_before_its_message_is_applied_when_it_lands(receive):
    receive(inbound("reaction", {"message_id": "wamid.LATE", "emoji": "👍"}))
    receive(inbound("text", {"body": "here I am"}, wamid="wamid.LATE"))
    assert Message.objects.get(wamid="wamid.LATE").reactions == {"customer": "👍"}


def test_a_reaction_does_not_count_as_unread_or_change_the_preview(receive):
    receive(inbound("text", {"body": "Thanks"}, wamid="wamid.T"))
    receive(inbound("reaction", {"message_id": "wamid.T", "emoji": "👍"}))
    conversation = Conversation.objects.get()
    assert (conversation.unread_count, conversation.last_message_preview) == (1, "Thanks")


def test_an_edit_changes_the_text_and_is_marked(receive, thread_html):
    receive(inbound("text", {"body": "teh typo"}, wamid="wamid.E"))
    receive(
        inbound("edit", {"original_message_id": "wamid.E", "message": {"type": "text", "text": {"body": "the fix"}}})
    )
    message = Message.objects.get(wamid="wamid.E")
    assert message.text == "the fix" and message.edited_at
    assert "edited" in thread_html()


def test_a_deletion_hides_the_message_in_the_thread(receive, thread_html):
    receive(inbound("text", {"body": "oops my card number"}, wamid="wamid.D"))
    receive(inbound("revoke", {"original_message_id": "wamid.D"}))
    assert Message.objects.get(wamid="wamid.D").deleted_at
    html = thread_html()
    assert "The customer deleted this message" in html and "oops my card number" not in html


def test_unsupported_and_unknown_messages_show_metas_reason(receive, thread_html):
    error = {
        "code": 131051,
        "title": "Message type unknown",
        "error_data": {"details": "Message type is not supported."},
    }
    receive(inbound("unsupported", {"type": "poll"}, errors=[error]))
    receive(inbound("unknown", None, errors=[error]))
    assert Message.objects.filter(text="Message type is not supported.").count() == 2
    assert "poll" in thread_html()


@pytest.mark.filterwarnings("ignore::pywa.errors.PywaUnknownEnumMemberWarning")  # PyWA's own word on it
def test_a_type_pywa_does_not_know_is_stored_as_it_came_and_shown_as_unsupported_without_a_note(receive, thread_html):
    poll = {"question": "Pizza or pasta?", "options": ["pizza", "pasta"]}
    event = receive(inbound("poll_vote", poll, wamid="wamid.NEW"))
    assert (event.state, event.error) == (WebhookEvent.State.PROCESSED, "")
    message = Message.objects.get()
    assert (message.wamid, message.type, message.content["poll_vote"]) == ("wamid.NEW", "unsupported", poll)
    assert message.conversation.contact.wa_id == CUSTOMER
    assert "A message this inbox cannot show (poll_vote)" in thread_html()


def test_an_interactive_reply_of_a_kind_pywa_does_not_know_is_stored_as_unsupported_without_a_note(receive):
    reply = {"type": "nfm_reply", "nfm_reply": {"name": "address_message", "body": "Sent", "response_json": "{}"}}
    event = receive(inbound("interactive", reply, context={"from": ACME["display_phone_number"], "id": "wamid.OURS"}))
    assert (event.state, event.error) == (WebhookEvent.State.PROCESSED, "")
    assert Message.objects.get().type == "unsupported"


def test_statuses_as_the_factory_builds_them_are_read_without_a_note(receive, acme):
    receive(inbound("text", {"body": "hi"}))
    sent = Message.objects.create(
        tenant=acme, conversation=Conversation.objects.get(), direction="out", wamid="wamid.S", status="sent"
    )
    delivered = receive(payloads.status(PNID, "wamid.S", "delivered", CUSTOMER, tracker=f"message:{sent.pk}"))
    failed = receive(payloads.status(PNID, "wamid.S", "failed", CUSTOMER, error_code=131026, error_details="gone"))
    assert (delivered.error, failed.error) == ("", "")
    update = StatusUpdate.objects.get(status="failed")
    assert (update.error_code, update.error_detail, update.recipient) == (131026, "gone", CUSTOMER)
    assert StatusUpdate.objects.get(status="delivered").tracker == f"message:{sent.pk}"


def test_a_number_change_moves_the_contact_to_the_new_number(receive, thread_html):
    receive(inbound("text", {"body": "hi"}))
    body = {
        "body": "User A changed from 15551234567 to 15559876543",
        "wa_id": "15559876543",
        "type": "user_changed_number",
    }
    receive(inbound("system", body))
    assert Contact.objects.get().wa_id == "15559876543"
    assert "changed from" in thread_html()


def test_value_level_errors_are_kept_on_the_event(receive):
    value = payloads.messages_value(PNID)
    value["errors"] = [{"code": 131052, "title": "Media download error", "message": "too big"}]
    event = receive(payloads.envelope([{"field": "messages", "value": value}]))
    assert event.state == WebhookEvent.State.PROCESSED
    assert "131052" in event.error


def test_played_counts_as_read_and_pricing_is_stored(receive, acme):
    receive(inbound("text", {"body": "hi"}))
    conversation = Conversation.objects.get()
    sent = Message.objects.create(
        tenant=acme, conversation=conversation, direction="out", type="audio", wamid="wamid.V", status="sent"
    )
    receive(payloads.status(PNID, "wamid.V", "delivered", CUSTOMER, pricing_category="utility"))
    receive(payloads.status(PNID, "wamid.V", "played", CUSTOMER))
    sent.refresh_from_db()
    assert sent.status == "read"
    assert StatusUpdate.objects.get(status="delivered").pricing_category == "utility"


def test_messages_are_ordered_by_metas_timestamp_not_arrival(receive, thread_html):
    receive(inbound("text", {"body": "second"}, timestamp=1_800_000_100))
    receive(inbound("text", {"body": "first"}, timestamp=1_800_000_000))
    thread = thread_html().split('id="messages"')[1]
    assert thread.index("first") < thread.index("second")
    assert Conversation.objects.get().last_message_preview == "second"


def test_integer_timestamps_and_unknown_fields_are_accepted(receive):
    payload = inbound("text", {"body": "hi"}, identity_key_hash="xyz", group_id=None)
    item = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    item["timestamp"] = 1_800_000_000
    payload["entry"][0]["changes"][0]["value"]["something_new"] = {"a": 1}
    receive(payload)
    assert Message.objects.get().timestamp.timestamp() == 1_800_000_000


# --- Other fields: each read from PyWA's typed update where PyWA has a type for it ----------


@pytest.mark.parametrize(
    ("payload", "pywa_type"),
    [
        (payloads.template_status_update(7, "order_update", "APPROVED"), TemplateStatusUpdate),
        (payloads.template_category_update(7, "order_update", "MARKETING", "UTILITY"), TemplateCategoryUpdate),
        (payloads.template_quality_update(7, "order_update", "YELLOW", "GREEN"), TemplateQualityUpdate),
        (payloads.template_components_update(7, "order_update", "Hi {{1}}"), TemplateComponentsUpdate),
        (payloads.account_update("ACCOUNT_VIOLATION", violation_info={"violation_type": "SPAM"}), AccountUpdate),
        (payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "stop")), UserMarketingPreferences),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_every_field_pywa_has_a_type_for_is_read_from_its_typed_update(payload, pywa_type):
    (field, envelope), *others = ingest.split_items(payload)
    assert not others and account_updates.reads_typed(field, envelope["entry"][0]["changes"][0]["value"])
    assert isinstance(updates.Parser().parse(field, envelope), pywa_type)


def test_a_template_status_update_is_applied_and_logged(receive, acme):
    event = receive(payloads.template_status_update(987, "order_update", "APPROVED"))
    template = MessageTemplate.objects.get(tenant=acme, meta_id="987")
    assert (template.name, template.language, template.status, template.category, template.reason) == (
        "order_update",
        "en_US",
        "APPROVED",
        "UTILITY",
        "",
    )
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.error == "Template order_update is now APPROVED"


def test_a_rejected_template_keeps_metas_reason(receive, acme):
    rejection = {"reason": "Parameters next to each other.", "recommendation": "Separate them."}
    event = receive(
        payloads.template_status_update(9, "cart", "REJECTED", reason="INVALID_FORMAT", rejection_info=rejection)
    )
    assert MessageTemplate.objects.get(meta_id="9").reason == "INVALID_FORMAT — Parameters next to each other."
    assert "cart is now REJECTED (INVALID_FORMAT — Parameters next to each other.)" in event.error


@pytest.mark.filterwarnings("ignore::pywa.errors.PywaUnknownEnumMemberWarning")
def test_a_template_status_pywa_does_not_know_is_kept_in_metas_words(receive, acme):
    event = receive(payloads.template_status_update(9, "cart", "SOMETHING_NEW", category="NEW_KIND"))
    template = MessageTemplate.objects.get(meta_id="9")
    assert (template.status, template.category) == ("SOMETHING_NEW", "NEW_KIND")
    assert event.state == WebhookEvent.State.PROCESSED


def test_template_category_and_quality_updates_are_applied(receive, acme):
    moved = receive(payloads.template_category_update(5, "promo", "MARKETING", previous_category="UTILITY"))
    rated = receive(payloads.template_quality_update(5, "promo", "YELLOW", "GREEN"))
    template = MessageTemplate.objects.get(meta_id="5")
    assert (template.category, template.quality_score) == ("MARKETING", "YELLOW")
    assert moved.error == "Template promo moved from UTILITY to MARKETING"
    assert rated.error == "Template promo quality: GREEN → YELLOW"


def test_a_coming_category_change_is_noted_with_the_current_category_kept(receive, acme):
    event = receive(payloads.template_category_update(5, "promo", "UTILITY", correct_category="MARKETING"))
    assert MessageTemplate.objects.get(meta_id="5").category == "UTILITY"
    assert event.error == "Template promo is UTILITY; Meta will make it MARKETING in 24 hours"


def test_a_template_components_update_is_noted(receive, acme):
    event = receive(payloads.template_components_update(6, "welcome", "Hi {{1}}! Welcome."))
    assert MessageTemplate.objects.get(meta_id="6").name == "welcome"
    assert event.state == WebhookEvent.State.PROCESSED and event.error == "Template welcome components changed"


def test_a_template_update_pywa_cannot_read_fails_with_the_reason(receive, acme):
    payload = payloads.template_quality_update(5, "promo", "YELLOW", "GREEN")
    del payload["entry"][0]["changes"][0]["value"]["message_template_name"]
    event = receive(payload)
    assert event.state == WebhookEvent.State.FAILED
    assert "PyWA could not read this message_template_quality_update change" in event.error
    assert not MessageTemplate.objects.exists()


def test_a_phone_number_quality_update_is_applied(receive, acme):
    event = receive(payloads.phone_number_quality_update(ACME["display_phone_number"], "FLAGGED", "TIER_1K"))
    number = PhoneNumber.objects.get(tenant=acme)
    assert (number.quality_rating, number.messaging_limit) == ("FLAGGED", "TIER_1K")
    assert event.state == WebhookEvent.State.PROCESSED


def test_an_approved_display_name_becomes_the_numbers_verified_name(receive, acme):
    receive(payloads.phone_number_name_update(ACME["display_phone_number"], "Acme Support", "APPROVED"))
    receive(payloads.phone_number_name_update(ACME["display_phone_number"], "Acme Deals", "REJECTED"))
    assert PhoneNumber.objects.get(tenant=acme).verified_name == "Acme Support"


def test_an_account_update_is_stored_and_described(receive):
    event = receive(payloads.account_update("ACCOUNT_VIOLATION", violation_info={"violation_type": "SPAM"}))
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.error == "Account update: ACCOUNT_VIOLATION (violation SPAM)"


def test_an_account_restriction_names_each_restriction_and_its_end(receive):
    restrictions = [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1_800_000_000}]
    event = receive(payloads.account_update("ACCOUNT_RESTRICTION", restriction_info=restrictions))
    assert event.error == (
        "Account update: ACCOUNT_RESTRICTION (RESTRICTED_BIZ_INITIATED_MESSAGING until 2027-01-15 08:00 UTC)"
    )


def test_account_facts_pywa_has_no_field_for_are_read_from_metas_value(receive):
    certification = {"client_business_id": "1", "status": "APPROVED", "rejection_reasons": ["NONE"]}
    verified = receive(
        payloads.account_update(
            "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", partner_client_certification_info=certification
        )
    )
    located = receive(payloads.account_update("BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE", country="IN"))
    assert verified.error.endswith("(partner verification APPROVED)")
    assert located.error.endswith("(country IN)")


def test_a_marketing_stop_marks_the_contact_and_a_resume_clears_it(receive):
    receive(inbound("text", {"body": "hi"}))
    stop = receive(payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "stop")))
    assert Contact.objects.get().marketing_opted_out
    assert stop.error == f"Marketing preferences: {CUSTOMER} stopped marketing messages"
    receive(payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "resume")))
    assert not Contact.objects.get().marketing_opted_out


def test_each_preference_of_a_batch_applies_to_its_own_customer(receive):
    other = "15557654321"
    receive(inbound("text", {"body": "hi"}))
    receive(inbound("text", {"body": "hello"}, wa_id=other))
    receive(
        payloads.user_preferences(
            PNID, payloads.marketing_preference(other, "resume"), payloads.marketing_preference(CUSTOMER, "stop")
        )
    )
    assert Contact.objects.get(wa_id=CUSTOMER).marketing_opted_out
    assert not Contact.objects.get(wa_id=other).marketing_opted_out


def test_a_preference_without_contacts_names_its_customer_itself(receive):
    receive(inbound("text", {"body": "hi"}))
    payload = payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "stop"))
    payload["entry"][0]["changes"][0]["value"]["contacts"] = []
    event = receive(payload)
    assert Contact.objects.get().marketing_opted_out and event.state == WebhookEvent.State.PROCESSED


def test_a_preference_of_a_category_pywa_does_not_know_is_unsupported_without_a_note(receive):
    receive(inbound("text", {"body": "hi"}))
    preference = payloads.marketing_preference(CUSTOMER, "stop", category="service_messages")
    event = receive(payloads.user_preferences(PNID, preference))
    assert not Contact.objects.get().marketing_opted_out
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.error == "user_preferences (service_messages): unsupported by this inbox; stored as Meta sent it."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("business_capability_update", {"max_daily_conversation_per_phone": 1000, "max_phone_numbers_per_business": 2}),
        ("calls", {"calls": [{"id": "c1", "event": "connect"}]}),
    ],
)
def test_a_field_this_inbox_does_not_act_on_is_stored_and_shown_as_unsupported(receive, field, value):
    event = receive(payloads.field_update(field, value))
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.error == f"{field}: unsupported by this inbox; stored as Meta sent it."


def sample_bodies():
    for path in sorted(SAMPLES.glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            yield pytest.param(body, id=f"{path.stem}-{name}")


@pytest.mark.parametrize("sample", list(sample_bodies()))
def test_every_meta_sample_is_stored_once_without_failing(receive, acme, sample):
    """The shared PyWA fixtures, re-addressed to acme's number and posted twice."""
    for entry in sample["entry"]:
        for change in entry["changes"]:
            if "phone_number_id" in change["value"].get("metadata", {}):
                change["value"]["metadata"]["phone_number_id"] = PNID
    body = json.dumps(sample).encode()
    first = receive(body)
    assert first.state == WebhookEvent.State.PROCESSED, first.error
    messages = Message.objects.count()
    receive(body)
    assert WebhookEvent.objects.count() == 1 and Message.objects.count() == messages


@pytest.mark.parametrize(
    "payload",
    [
        payloads.status(PNID, "wamid.A", "sent", CUSTOMER),
        payloads.status(PNID, "wamid.A", "delivered", CUSTOMER, user_id="US.1", pricing_category="marketing"),
        payloads.status(PNID, "wamid.A", "read", CUSTOMER, tracker="inbox:42"),
        payloads.status(PNID, "wamid.A", "failed", CUSTOMER, error_code=131047, error_title="Re-engagement message"),
        payloads.status(PNID, "wamid.A", "deleted", CUSTOMER),
    ],
    ids=["sent", "business-scoped", "tracker", "failed", "unknown-to-pywa"],
)
def test_a_status_is_read_as_pywas_own_dispatch_reads_it(payload):
    """Statuses skip PyWA's dispatch (updates.Parser.parse) for the type it would choose."""
    from pywa.types import MessageStatus

    ((kind, envelope),) = ingest.split_items(payload)
    parser = updates.Parser()
    direct = parser.parse(kind, envelope)
    parser.wa.webhook_update_handler(json.dumps(updates.for_pywa(kind, envelope)).encode())
    dispatched = parser.parsed
    assert isinstance(direct, MessageStatus) and type(dispatched) is type(direct)
    assert updates.reported_status(direct, envelope["entry"][0]["changes"][0]["value"]["statuses"][0]) == (
        updates.reported_status(dispatched, envelope["entry"][0]["changes"][0]["value"]["statuses"][0])
    )


def test_a_status_pywa_cannot_read_is_none_as_from_its_dispatch():
    payload = payloads.status(PNID, "wamid.A", "sent", CUSTOMER)
    del payload["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"]
    ((kind, envelope),) = ingest.split_items(payload)
    assert updates.Parser().parse(kind, envelope) is None
