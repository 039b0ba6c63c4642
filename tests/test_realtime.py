"""The browser's websocket, through the Redis channel layer the tests run on."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from inbox.asgi import application
from tests.support.realtime import connect, receive_customer_message, session_headers
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest, storage

# These tests process the webhooks they store themselves: the shared live stack's worker,
# left running by an earlier module, would take some of their jobs and publish them first.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_live_stack")]


def test_the_tests_run_on_the_redis_channel_layer():
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "inbox.channel_layers.RedisPubSubChannelLayer"
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["socket_timeout"] is None


async def test_a_member_receives_a_new_message_live(agent):
    communicator, connected, _ = await connect(agent, "acme")
    assert connected
    await database_sync_to_async(receive_customer_message)("Is anyone there?")
    events = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    kinds = {event["event"] for event in events}
    assert kinds == {"conversation.updated", "message.created"}
    created = next(event for event in events if event["event"] == "message.created")
    assert "Is anyone there?" in created["data"]["html"]
    await communicator.disconnect()


async def test_a_batch_of_customers_messages_arrives_as_one_frame_per_event(agent, acme):
    """A processing batch publishes one channel message per workspace; the socket still gets
    each event on its own, messages in the order they arrived."""
    communicator, connected, _ = await connect(agent, "acme")
    assert connected

    def two_customers_write():
        from whatsapp.models import WebhookEvent

        events = []
        for wa_id, text in (("15550000031", "first"), ("15550000032", "second")):
            payload = payloads.text_message("111000111", wa_id, text)
            received = ingest.Received(WebhookEvent.Signature.VALID, payload)
            events.append(storage.store(acme.pk, payloads.encode(payload), received)[0])
        ingest.process_event_ids(events)

    await database_sync_to_async(two_customers_write)()
    events = [await communicator.receive_json_from(timeout=5) for _ in range(4)]
    assert sorted(event["event"] for event in events) == ["conversation.updated"] * 2 + ["message.created"] * 2
    created = [event["data"]["html"] for event in events if event["event"] == "message.created"]
    assert "first" in created[0] and "second" in created[1]
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_batchs_events_are_rendered_only_for_workspaces_someone_watches(agent, acme, globex):
    from whatsapp.realtime import events as realtime

    communicator, connected, _ = await connect(agent, "acme")
    assert connected
    assert await database_sync_to_async(realtime._listened)([acme.pk, globex.pk]) == {acme.pk}
    await communicator.disconnect()


async def test_an_outsider_is_refused(outsider, acme):
    communicator, connected, code = await connect(outsider, "acme")
    assert not connected
    assert code == 4403


async def test_an_anonymous_visitor_is_refused(acme):
    communicator = WebsocketCommunicator(application, "/ws/t/acme/", headers=[(b"origin", b"http://127.0.0.1")])
    connected, code = await communicator.connect(timeout=5)
    assert not connected


async def test_a_foreign_origin_is_refused(agent):
    headers = await database_sync_to_async(session_headers)(agent)
    headers = [h for h in headers if h[0] != b"origin"] + [(b"origin", b"https://evil.example")]
    communicator = WebsocketCommunicator(application, "/ws/t/acme/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_another_tenants_events_never_arrive(agent, globex):
    communicator, connected, _ = await connect(agent, "acme")
    assert connected

    def globex_message():
        from whatsapp.models import WebhookEvent

        payload = payloads.text_message("222000222", "15550000000", "for globex only")
        received = ingest.Received(WebhookEvent.Signature.VALID, payload)
        event_id, _ = storage.store(globex.pk, payloads.encode(payload), received)
        ingest.process_event_id(event_id)

    await database_sync_to_async(globex_message)()
    assert await communicator.receive_nothing(timeout=1)
    await communicator.disconnect()


@pytest.mark.slow
async def test_an_idle_socket_stays_open_for_30_seconds(agent):
    """redis-py 8's default 5 s socket timeout would drop the layer's idle connection."""
    communicator, connected, _ = await connect(agent, "acme")
    assert connected
    await asyncio.sleep(31)  # the behaviour under test: 30 s of silence on the socket
    await database_sync_to_async(receive_customer_message)("still there?")
    event = await communicator.receive_json_from(timeout=5)
    assert event["event"] in {"conversation.updated", "message.created"}
    await communicator.disconnect()


async def test_presence_reaches_the_other_members_and_is_stored_nowhere(agent, acme):
    from tenants.models import Role
    from tenants.setup import add_member

    other = await database_sync_to_async(lambda: add_member(acme, "bob@acme.test", role=Role.AGENT).user)()
    watcher, connected, _ = await connect(other, "acme")
    viewer, connected_too, _ = await connect(agent, "acme")
    assert connected and connected_too
    await viewer.send_json_to({"type": "viewing", "conversation_id": 7, "hello": True})
    event = await watcher.receive_json_from(timeout=5)
    assert event == {
        "event": "presence",
        "data": {"user_id": agent.pk, "name": agent.display_name, "conversation_id": 7, "hello": True},
    }
    await viewer.send_json_to({"type": "viewing", "conversation_id": "not a number"})
    await viewer.disconnect()
    await watcher.disconnect()
