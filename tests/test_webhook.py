"""The webhook: Meta's handshake, signatures, storing first, exactly-once processing."""

import pytest

from tests.support import webhook_behaviour
from tests.support.tenants import ACME
from whatsapp.models import Conversation, Message, StatusUpdate
from whatsapp.simulator import payloads
from whatsapp.webhook import storage

PNID = ACME["phone_number_id"]


customer_text = webhook_behaviour.customer_text


class TestHandshake:
    def test_it_answers_the_challenge_with_the_right_verify_token(self, client, acme):
        response = client.get(
            "/webhooks/whatsapp/acme/",
            {"hub.mode": "subscribe", "hub.verify_token": ACME["verify_token"], "hub.challenge": "1158201444"},
        )
        assert response.status_code == 200
        assert response.content == b"1158201444"

    def test_it_refuses_a_wrong_verify_token(self, client, acme):
        response = client.get(
            "/webhooks/whatsapp/acme/", {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
        )
        assert response.status_code == 403

    def test_it_refuses_a_mode_other_than_subscribe(self, client, acme):
        response = client.get(
            "/webhooks/whatsapp/acme/",
            {"hub.mode": "unsubscribe", "hub.verify_token": ACME["verify_token"], "hub.challenge": "1"},
        )
        assert response.status_code == 403

    def test_an_unknown_tenant_is_404(self, client, acme):
        assert client.get("/webhooks/whatsapp/nobody/", {"hub.mode": "subscribe"}).status_code == 404

    def test_other_methods_are_405(self, client, acme):
        assert client.put("/webhooks/whatsapp/acme/").status_code == 405


class TestSignatures(webhook_behaviour.Signatures):
    pass


class TestExactlyOnce(webhook_behaviour.ExactlyOnce):
    pass


class TestStatuses:
    @pytest.fixture
    def sent_message(self, webhook, run_tasks, acme):
        webhook.post(customer_text("hello"))
        run_tasks()
        conversation = Conversation.objects.get()
        return Message.objects.create(
            tenant=acme, conversation=conversation, direction="out", text="reply", wamid="wamid.OUT", status="sent"
        )

    def post_status(self, webhook, run_tasks, status, timestamp):
        webhook.post(payloads.status(PNID, "wamid.OUT", status, "15551234567", timestamp=timestamp))
        run_tasks()

    def test_statuses_move_a_message_forward(self, webhook, run_tasks, sent_message):
        self.post_status(webhook, run_tasks, "delivered", 1700000010)
        sent_message.refresh_from_db()
        assert sent_message.status == "delivered"
        self.post_status(webhook, run_tasks, "read", 1700000020)
        sent_message.refresh_from_db()
        assert sent_message.status == "read"

    def test_a_late_delivered_after_read_stays_read(self, webhook, run_tasks, sent_message):
        self.post_status(webhook, run_tasks, "read", 1700000020)
        self.post_status(webhook, run_tasks, "delivered", 1700000010)
        self.post_status(webhook, run_tasks, "sent", 1700000005)
        sent_message.refresh_from_db()
        assert sent_message.status == "read"

    def test_failed_is_final_and_explained(self, webhook, run_tasks, sent_message):
        webhook.post(
            payloads.status(PNID, "wamid.OUT", "failed", "15551234567", error_code=131047, error_title="Re-engagement")
        )
        run_tasks()
        self.post_status(webhook, run_tasks, "read", 1700000020)
        sent_message.refresh_from_db()
        assert sent_message.status == "failed"
        assert sent_message.error_code == 131047
        assert "template" in sent_message.error_detail

    def test_a_status_for_an_unknown_wamid_waits_for_its_message(self, webhook, run_tasks, acme):
        webhook.post(payloads.status(PNID, "wamid.LATER", "delivered", "15551234567"))
        run_tasks()
        assert StatusUpdate.objects.filter(wamid="wamid.LATER").exists()
        webhook.post(customer_text("hello"))
        run_tasks()
        from whatsapp.sending import delivery

        message = Message.objects.create(
            tenant=acme,
            conversation=Conversation.objects.get(),
            direction="out",
            text="x",
            status="sending",
        )
        delivery.mark_sent(message, "wamid.LATER")
        message.refresh_from_db()
        assert message.status == "delivered"

    def test_a_repeated_status_is_stored_once(self, webhook, run_tasks, sent_message):
        self.post_status(webhook, run_tasks, "delivered", 1700000010)
        webhook.post(payloads.batch(payloads.status(PNID, "wamid.OUT", "delivered", "15551234567")))
        run_tasks()
        assert StatusUpdate.objects.filter(wamid="wamid.OUT", status="delivered").count() == 1


class TestBadInput(webhook_behaviour.BadInput):
    pass


class TestDurability:
    def test_an_event_that_cannot_be_stored_gets_500_so_meta_retries(self, webhook, monkeypatch):
        from django.db import DatabaseError

        def fail(*args, **kwargs):
            raise DatabaseError("the disk is full")

        monkeypatch.setattr(storage, "store", fail)
        response = webhook.post(customer_text("keep me"))
        assert response.status_code == 500
        assert "retry" in response.json()["error"]

    def test_an_unreachable_database_gets_503_so_meta_retries(self, webhook, monkeypatch):
        from django.db import OperationalError

        def fail(*args, **kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(storage, "store", fail)
        response = webhook.post(customer_text("keep me"))
        assert response.status_code == 503
        assert "retry" in response.json()["error"]


class TestOrder:
    def test_events_stored_in_one_transaction_are_processed_in_the_order_they_came(self, webhook, run_tasks, acme):
        from django_tasks_db.models import DBTaskResult

        # The test's transaction holds every post, as a batch import or a slow commit would:
        # the workers' order (enqueued_at) must still tell them apart, not leave ties.
        for n in range(20):
            webhook.post(payloads.text_message(PNID, "15551234567", f"Message {n}", name="Ada"))
        queued = list(DBTaskResult.objects.order_by("enqueued_at").values_list("enqueued_at", "args_kwargs"))
        assert len({enqueued_at for enqueued_at, _ in queued}) == 20
        events = [args_kwargs["args"][0] for _, args_kwargs in queued]
        assert events == sorted(events)
        run_tasks()
        texts = list(Message.objects.order_by("pk").values_list("text", flat=True))
        assert texts == [f"Message {n}" for n in range(20)]
