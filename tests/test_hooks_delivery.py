"""Outgoing webhooks reach a real receiver on loopback: signed so that standardwebhooks' own
verifier accepts them, retried after an outage until every event is in, disabled after a
configured run of failures and enabled again, refused for private addresses when those are
not allowed, and sent again on request."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

import hooks
from hooks import actions
from hooks.models import Delivery, Endpoint, Event
from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.hooks import deliver, time_passes
from tests.support.receivers import Receiver
from tests.support.tenants import PASSWORD

TYPE = "conversation.updated"


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def endpoint(admin, receiver):
    return actions.create_endpoint(admin, url=receiver.url, event_types=[TYPE], description="CRM")


def emit(acme, count=1, conversation_id=7):
    return [hooks.emit(acme.pk, TYPE, {"n": n}, conversation_id=conversation_id) for n in range(count)]


def test_an_event_arrives_signed_and_standardwebhooks_verifies_it(acme, endpoint, receiver):
    [event] = emit(acme)
    assert deliver() == 1
    [received] = receiver.received
    body = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert received.webhook_id == event.public_id and event.public_id.startswith("msg_")
    assert body["id"] == event.public_id and body["type"] == TYPE
    assert body["conversation_id"] == 7 and body["sequence"] == 1 and body["data"] == {"n": 0}
    assert Delivery.objects.get(event=event).status == "succeeded"


def test_a_wrong_secret_fails_verification(acme, endpoint, receiver):
    from standardwebhooks.webhooks import WebhookVerificationError

    emit(acme)
    deliver()
    other = Endpoint(secret="whsec_" + "A" * 43 + "=").secret
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(receiver.received[0].body, receiver.received[0].headers)


def test_after_a_rotation_both_secrets_sign_during_the_overlap_then_only_the_new(acme, admin, endpoint, receiver):
    old_secret = endpoint.secret
    endpoint = actions.rotate_secret(admin, endpoint)
    emit(acme)
    deliver()
    received = receiver.received[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(received.body, received.headers)
    Webhook(endpoint.secret).verify(received.body, received.headers)
    Endpoint.objects.filter(pk=endpoint.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    emit(acme)
    deliver()
    latest = receiver.received[1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    Webhook(Endpoint.objects.get(pk=endpoint.pk).secret).verify(latest.body, latest.headers)


def test_after_an_outage_every_event_is_delivered_once(acme, endpoint, receiver):
    receiver.stop()
    events = emit(acme, 5)
    assert deliver() == 0
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.retry_at > timezone.now()
    assert Delivery.objects.filter(endpoint=endpoint, status="pending").count() == 5
    assert "Could not connect" in Delivery.objects.filter(endpoint=endpoint, attempts=1).first().error
    receiver.start()
    time_passes(endpoint)
    assert deliver() == 5
    assert sorted(receiver.ids()) == sorted(event.public_id for event in events)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.retry_at is None and endpoint.failing_since is None


def test_a_receiver_going_down_after_deliveries_is_noticed_and_caught_up(acme, endpoint, receiver):
    first = emit(acme, 2)
    assert deliver() == 2  # its connections are open and kept alive
    receiver.stop()
    later = emit(acme, 3)
    assert deliver() == 0
    receiver.start()
    time_passes(endpoint)
    assert deliver() == 3
    assert sorted(receiver.ids()) == sorted(event.public_id for event in first + later)


def test_a_failing_endpoint_waits_out_its_backoff(acme, endpoint, receiver):
    receiver.stop()
    emit(acme)
    deliver()
    receiver.start()
    emit(acme)
    assert deliver() == 0  # the backoff has not passed
    assert receiver.received == []


def test_an_event_the_receiver_rejects_retries_alone_while_the_others_flow(acme, endpoint, receiver):
    events = emit(acme, 3)
    refused = events[1].public_id
    receiver.answer = lambda received: 400 if received.webhook_id == refused else 204
    assert deliver() == 2
    rejected = Delivery.objects.get(event=events[1])
    assert rejected.status == "pending" and rejected.attempts == 1 and rejected.response_status == 400
    assert rejected.next_attempt_at > timezone.now() and '"scripted"' in rejected.response_body
    endpoint.refresh_from_db()
    assert endpoint.retry_at is None  # the endpoint itself is fine
    receiver.answer = lambda received: 200
    time_passes(endpoint)
    assert deliver() == 1, list(Delivery.objects.values_list("status", "error", "response_status", "next_attempt_at"))
    assert receiver.ids().count(refused) == 2


def test_a_delivery_still_failing_after_the_retry_period_fails(acme, endpoint, receiver):
    receiver.stop()
    [event] = emit(acme)
    Delivery.objects.filter(event=event).update(give_up_at=timezone.now() - timedelta(seconds=1))
    deliver()
    assert Delivery.objects.get(event=event).status == "failed"


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_with_notice_and_can_be_enabled(
    acme, admin, endpoint, receiver, settings, client
):
    settings.OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    receiver.stop()
    events = emit(acme, 2)
    for _ in range(3):
        deliver()
        time_passes(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.active and "3 failed attempts in a row" in endpoint.disabled_reason
    entry = AuditEvent.objects.get(tenant=acme, action=AuditEvent.Action.WEBHOOK_ENDPOINT_AUTO_DISABLED)
    assert entry.actor is None and entry.target == endpoint.url
    assert emit(acme) == [None]  # a disabled endpoint takes no new events
    client.force_login(admin.user)
    page = client.get(f"/t/acme/webhooks/{endpoint.pk}/").content.decode()
    assert 'id="webhooks-disabled"' in page and "disabled after failing" in page

    receiver.start()
    actions.set_enabled(admin, endpoint, True)
    assert deliver() == 2
    assert sorted(receiver.ids()) == sorted(event.public_id for event in events)
    assert 'id="webhooks-disabled"' not in client.get("/t/acme/webhooks/").content.decode()


def test_an_endpoint_without_success_for_the_configured_days_is_disabled(acme, endpoint, receiver, settings):
    settings.OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS = 5
    receiver.stop()
    emit(acme)
    deliver()
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    time_passes(endpoint)
    deliver()
    endpoint.refresh_from_db()
    assert not endpoint.active and "no successful delivery for 5 days" in endpoint.disabled_reason


def test_delivery_refuses_a_loopback_address_when_private_addresses_are_not_allowed(acme, endpoint, receiver, settings):
    Endpoint.objects.filter(pk=endpoint.pk).update(url=f"https://localhost:{receiver.port}/hooks")
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    [event] = emit(acme)
    assert deliver() == 0
    assert receiver.received == []
    refused = Delivery.objects.get(event=event)
    assert refused.status == "pending" and "private or reserved network" in refused.error


def test_an_admin_redelivers_one_event_and_all_failed_since_a_time(acme, admin, endpoint, receiver):
    events = emit(acme, 3)
    deliver()
    one = Delivery.objects.get(event=events[0])
    actions.redeliver(admin, one)
    deliver()
    assert receiver.ids().count(events[0].public_id) == 2

    Delivery.objects.filter(event__in=events[1:]).update(status="failed")
    count = actions.redeliver_failed_since(admin, endpoint, timezone.now() - timedelta(hours=1))
    assert count == 2
    deliver()
    assert [receiver.ids().count(event.public_id) for event in events] == [2, 2, 2]
    assert Delivery.objects.filter(endpoint=endpoint, status="succeeded").count() == 3
    assert AuditEvent.objects.filter(tenant=acme, action=AuditEvent.Action.WEBHOOK_REDELIVERED).count() == 2


def test_the_test_event_goes_to_its_endpoint_alone(acme, admin, endpoint, receiver):
    with Receiver() as other:
        actions.create_endpoint(admin, url=other.url, event_types=[TYPE])
        event = actions.send_test_event(admin, endpoint)
        deliver()
        assert receiver.ids() == [event.public_id] and other.received == []
    assert Event.objects.get(pk=event.pk).type == "webhook.test"


def test_each_endpoint_gets_a_job_of_its_own_so_a_slow_one_holds_back_no_other(acme, admin, endpoint, receiver):
    from django_tasks_db.models import DBTaskResult

    from hooks import delivery

    with Receiver(delay=1.5) as slow:
        slow_endpoint = actions.create_endpoint(admin, url=slow.url, event_types=[TYPE])
        emit(acme, 2)
        delivery.sweep()
        jobs = DBTaskResult.objects.ready().filter(task_path=delivery.deliver_endpoint.module_path)
        assert sorted(job.args_kwargs["args"][0] for job in jobs) == sorted([endpoint.pk, slow_endpoint.pk])
        deliver()
        assert len(receiver.received) == 2 and len(slow.received) == 2


def test_events_whose_worker_died_mid_send_are_sent_after_their_lease(acme, endpoint, receiver):
    from hooks import delivery

    events = emit(acme, 2)
    delivery._claim(endpoint)  # a worker leased them, then died before posting
    assert deliver() == 0  # leased: not due yet
    Delivery.objects.filter(endpoint=endpoint).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    Endpoint.objects.filter(pk=endpoint.pk).update(dispatch_at=timezone.now() - delivery.STUCK_AFTER * 2)
    assert deliver() == 2
    assert sorted(receiver.ids()) == sorted(event.public_id for event in events)


def test_events_older_than_a_month_with_nothing_pending_are_deleted(acme, endpoint, receiver):
    from hooks import delivery

    old, waiting = emit(acme, 2)
    Delivery.objects.filter(event=old).update(status="succeeded")
    Event.objects.filter(pk__in=[old.pk, waiting.pk]).update(created_at=timezone.now() - timedelta(days=31))
    assert delivery.purge_old_events(timezone.now()) == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [waiting.pk]


def test_an_endpoint_deleted_while_its_events_are_sent_ends_its_job_quietly(acme, admin, endpoint):
    from hooks import delivery
    from hooks.transport import Sent

    emit(acme, 2)
    batch = delivery._claim(endpoint)  # the job has its batch in flight…
    actions.delete_endpoint(admin, endpoint)  # …when an admin deletes the endpoint
    assert delivery._record(endpoint, batch, [Sent(status=503)] * len(batch)) == 0
    delivery._finish(endpoint, endpoint.dispatch_at)
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
