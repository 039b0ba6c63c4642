"""Every kind of update Meta sends, through the real webhook view, into the database and
onto the agent's page."""

import json

import pytest

from tests.support.meta_samples import PYWA_SAMPLES as SAMPLES
from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation, Message, MessageTemplate, PhoneNumber, StatusUpdate, WebhookEvent
from whatsapp.simulator import payloads

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


def test_a_template_status_update_is_applied_and_logged(receive, acme):
    update = {
        "event": "APPROVED",
        "message_template_id": 987,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": None,
    }
    event = receive(payloads.field_update("message_template_status_update", update))
    assert MessageTemplate.objects.get(tenant=acme, meta_id="987").status == "APPROVED"
    assert "order_update is now APPROVED" in event.error


def test_template_category_and_quality_updates_are_applied(receive, acme):
    receive(
        payloads.field_update(
            "template_category_update",
            {
                "message_template_id": 5,
                "message_template_name": "promo",
                "previous_category": "UTILITY",
                "new_category": "MARKETING",
            },
        )
    )
    receive(
        payloads.field_update(
            "message_template_quality_update",
            {"message_template_id": 5, "previous_quality_score": "GREEN", "new_quality_score": "YELLOW"},
        )
    )
    template = MessageTemplate.objects.get(meta_id="5")
    assert (template.category, template.quality_score) == ("MARKETING", "YELLOW")


def test_a_phone_number_quality_update_is_applied(receive, acme):
    receive(
        payloads.field_update(
            "phone_number_quality_update",
            {"display_phone_number": ACME["display_phone_number"], "event": "FLAGGED", "current_limit": "TIER_1K"},
        )
    )
    number = PhoneNumber.objects.get(tenant=acme)
    assert (number.quality_rating, number.messaging_limit) == ("FLAGGED", "TIER_1K")


def test_an_account_update_is_stored_and_described(receive):
    event = receive(
        payloads.field_update(
            "account_update", {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SPAM"}}
        )
    )
    assert event.state == WebhookEvent.State.PROCESSED and "ACCOUNT_VIOLATION" in event.error


def test_a_marketing_stop_marks_the_contact(receive):
    receive(inbound("text", {"body": "hi"}))
    preference = {
        "wa_id": CUSTOMER,
        "detail": "User requested to stop",
        "category": "marketing_messages",
        "value": "stop",
        "timestamp": 1_800_000_000,
    }
    receive(
        payloads.field_update(
            "user_preferences",
            {
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": PNID},
                "contacts": [],
                "user_preferences": [preference],
            },
        )
    )
    assert Contact.objects.get().marketing_opted_out


def test_a_field_this_inbox_does_not_act_on_is_still_stored_and_noted(receive):
    event = receive(payloads.field_update("calls", {"calls": [{"id": "c1", "event": "connect"}]}))
    assert event.state == WebhookEvent.State.PROCESSED
    assert "calls: stored" in event.error


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
