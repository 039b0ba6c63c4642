"""The webhook's behaviour tests, shared by the two ways a request reaches the endpoint:
test_webhook.py (Django's test client, through the URLconf's view) and test_webhook_asgi.py
(the ASGI application, storing on its own pool). Each test module subclasses these classes
as Test… classes, with its own `webhook` fixture (a poster with `post(payload, signature=…,
**headers)`)."""

import json
from datetime import UTC, datetime

from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation, Message, WebhookEvent, WebhookReject
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest, storage

PNID = ACME["phone_number_id"]


def customer_text(text="Hello", wa_id="15551234567", **kwargs):
    """A customer's text to acme's number, as one full webhook body."""
    return payloads.text_message(PNID, wa_id, text, **kwargs)


class Signatures:
    """Signatures checked over the raw bytes; only signed bodies stored."""

    def test_a_signed_message_is_stored_and_processed(self, webhook, run_tasks):
        response = webhook.post(customer_text("Hi there", name="Ada"))
        assert response.status_code == 200
        assert WebhookEvent.objects.get().state == WebhookEvent.State.PENDING
        run_tasks()
        message = Message.objects.get()
        assert (message.direction, message.text, message.type) == ("in", "Hi there", "text")
        assert message.conversation.contact.profile_name == "Ada"
        assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED

    def test_a_missing_signature_is_401_and_only_counted(self, webhook, run_tasks):
        response = webhook.post(customer_text(), signature=None)
        assert (response.status_code, response.json()) == (401, {"error": "Missing X-Hub-Signature-256 header."})
        run_tasks()
        assert not Message.objects.exists() and not WebhookEvent.objects.exists()
        reject = WebhookReject.objects.get()
        assert (reject.missing, reject.invalid, reject.sample_reason) == (1, 0, "missing")

    def test_a_wrong_signature_is_403_and_only_counted(self, webhook, run_tasks):
        response = webhook.post(customer_text(), signature="sha256=" + "0" * 64)
        assert (response.status_code, response.json()) == (
            403,
            {"error": "X-Hub-Signature-256 does not match the body."},
        )
        run_tasks()
        assert not Message.objects.exists() and not WebhookEvent.objects.exists()
        reject = WebhookReject.objects.get()
        assert (reject.missing, reject.invalid, reject.sample_reason) == (0, 1, "invalid")

    def test_300_unsigned_posts_make_one_reject_row_with_a_4_kb_sample(self, webhook, monkeypatch):
        minute = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        monkeypatch.setattr(storage, "this_minute", lambda: minute)
        body = b'{"pad": "' + b"x" * (16 * 1024 - 11) + b'"}'
        for _ in range(300):
            assert webhook.post(body, signature=None).status_code == 401
        assert not WebhookEvent.objects.exists()
        reject = WebhookReject.objects.get(minute=minute)
        assert (reject.missing, reject.invalid, reject.sample_size) == (300, 0, 16 * 1024)
        assert bytes(reject.sample) == body[:4096]

    def test_missing_and_wrong_signatures_of_a_minute_share_its_row_and_its_first_sample(self, webhook, monkeypatch):
        monkeypatch.setattr(storage, "this_minute", lambda: datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
        webhook.post(b"first", signature="sha256=" + "0" * 64)
        webhook.post(b"second", signature=None)
        webhook.post(b"third", signature="not even hex")
        reject = WebhookReject.objects.get()
        assert (reject.missing, reject.invalid, reject.sample_reason, reject.sample_text) == (1, 2, "invalid", "first")

    def test_a_signature_made_with_another_tenants_secret_is_403(self, webhook, globex):
        body = payloads.encode(customer_text())
        other = payloads.sign(body, "globex-app-secret-0123456789")
        assert webhook.post(body, signature=other).status_code == 403

    def test_emoji_and_accents_verify_over_the_raw_bytes(self, webhook, run_tasks):
        text = "Olá, café ☕ — 你好 👋🏽 äöå"
        assert webhook.post(customer_text(text, name="Zoë Ñúñez")).status_code == 200
        run_tasks()
        message = Message.objects.get()
        assert message.text == text
        assert message.conversation.contact.profile_name == "Zoë Ñúñez"

    def test_unescaped_utf8_bodies_verify_too(self, webhook, run_tasks):
        body = json.dumps(customer_text("naïve 😀"), ensure_ascii=False).encode()
        assert webhook.post(body).status_code == 200
        run_tasks()
        assert Message.objects.get().text == "naïve 😀"

    def test_an_unknown_tenant_is_404(self, client, acme):
        body = payloads.encode(customer_text())
        response = client.post(
            "/webhooks/whatsapp/nobody/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=payloads.sign(body, ACME["app_secret"]),
        )
        assert response.status_code == 404


class ExactlyOnce:
    """Meta's resends and replays store each item once."""

    def test_the_same_post_twice_stores_one_message(self, webhook, run_tasks):
        payload = customer_text("once")
        assert webhook.post(payload).status_code == 200
        assert webhook.post(payload).status_code == 200
        run_tasks()
        assert Message.objects.count() == 1
        assert WebhookEvent.objects.get().deliveries == 2

    def test_the_same_message_in_two_different_bodies_is_stored_once(self, webhook, run_tasks):
        payload = customer_text("once", wamid="wamid.SAME")
        webhook.post(payload)
        webhook.post(payloads.batch(payload, customer_text("other")))
        run_tasks()
        assert Message.objects.filter(wamid="wamid.SAME").count() == 1
        assert Message.objects.count() == 2

    def test_every_item_of_a_batch_is_processed(self, webhook, run_tasks):
        batch = payloads.batch(
            customer_text("one", wa_id="15550000001"),
            customer_text("two", wa_id="15550000002"),
            customer_text("three", wa_id="15550000001"),
        )
        webhook.post(batch)
        run_tasks()
        assert Message.objects.count() == 3
        assert Contact.objects.count() == 2
        assert Conversation.objects.get(contact__wa_id="15550000001").unread_count == 2

    def test_replaying_an_event_changes_nothing(self, webhook, run_tasks):
        webhook.post(customer_text("once"))
        run_tasks()
        ingest.process_event(WebhookEvent.objects.get())
        assert Message.objects.count() == 1
        assert Conversation.objects.get().unread_count == 1


class BadInput:
    """Bad bodies get a 4xx with a reason and are kept as failed events, never a 500."""

    def test_malformed_json_is_400_and_logged(self, webhook):
        response = webhook.post(b"{not json")
        assert response.status_code == 400
        assert "Malformed JSON" in response.json()["error"]
        assert WebhookEvent.objects.get().state == WebhookEvent.State.FAILED

    def test_json_nested_too_deeply_is_400_and_kept_as_a_failed_event(self, webhook):
        response = webhook.post(b"[" * 100_000)
        assert response.status_code == 400
        assert response.json()["error"] == "Malformed JSON: nested too deeply to read"
        event = WebhookEvent.objects.get()
        assert (event.state, event.error, len(event.body)) == ("failed", response.json()["error"], 100_000)

    def test_an_event_nested_too_deeply_shows_in_the_logs_and_replays_to_the_same_failure(
        self, webhook, run_tasks, tenant_admin_client
    ):
        webhook.post(b'{"entry": ' + b"[" * 100_000)
        event = WebhookEvent.objects.get()
        page = tenant_admin_client.get(f"/t/acme/logs/{event.pk}/")
        assert page.status_code == 200 and "nested too deeply" in page.content.decode()
        assert tenant_admin_client.post(f"/t/acme/logs/{event.pk}/replay/").status_code == 302
        run_tasks()
        event.refresh_from_db()
        assert (event.state, event.error) == ("failed", "Malformed JSON: nested too deeply to read")

    def test_a_body_over_3_mb_is_413(self, webhook):
        body = b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
        assert webhook.post(body).status_code == 413

    def test_a_body_just_under_3_mb_is_accepted(self, webhook, run_tasks):
        payload = customer_text("big")
        payload["padding"] = "x" * (3 * 1024 * 1024 - 2000)
        assert webhook.post(payload).status_code == 200
        run_tasks()
        assert Message.objects.get().text == "big"

    def test_a_message_for_a_number_of_another_tenant_fails_visibly(self, webhook, run_tasks):
        webhook.post(payloads.text_message("999999", "15551234567", "lost?"))
        run_tasks()
        event = WebhookEvent.objects.get()
        assert event.state == WebhookEvent.State.FAILED
        assert "999999" in event.error
        assert not Message.objects.exists()

    def test_a_message_without_a_business_scoped_user_id_is_read_by_pywa_without_a_note(self, webhook, run_tasks):
        webhook.post(customer_text("no user id", name="Ada"))  # as Meta sent them before its rollout
        run_tasks()
        message = Message.objects.get()
        assert (message.text, message.conversation.contact.profile_name) == ("no user id", "Ada")
        assert WebhookEvent.objects.get().error == ""

    def test_a_message_with_only_a_business_scoped_user_id_is_stored(self, webhook, run_tasks):
        payload = customer_text("bsuid", wa_id="", user_id="US.1234567890")
        webhook.post(payload)
        run_tasks()
        contact = Message.objects.get().conversation.contact
        assert (contact.wa_id, contact.user_id) == ("", "US.1234567890")
