"""An open websocket re-checks its access on a timer and closes once it has ended. Through the
Redis channel layer, as in production."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from inbox.asgi import application
from tenants.models import Membership, Role
from whatsapp import consumers

from .test_realtime import receive_customer_message

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_DEADLINE_SECONDS = 5


def signed_in(user):
    """A browser session of this person's (its own test client)."""
    client = Client()
    client.force_login(user)
    return client


async def open_socket(client, slug="acme"):
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    headers = [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    communicator = WebsocketCommunicator(application, f"/ws/t/{slug}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def close_code(communicator):
    """The code the server closes the socket with, within the deadline. The browser's side of
    the close follows, as a browser's would."""
    async with asyncio.timeout(CLOSE_DEADLINE_SECONDS):
        while (output := await communicator.receive_output(timeout=CLOSE_DEADLINE_SECONDS))["type"] != "websocket.close":
            pass
    await communicator.disconnect()
    return output.get("code")


async def assert_still_live(communicator):
    """Nothing but the next customer message arrives: the socket is open and still joined."""
    assert await communicator.receive_nothing(timeout=0.5)
    await database_sync_to_async(receive_customer_message)("Still there?")
    kinds = {(await communicator.receive_json_from(timeout=5))["event"] for _ in range(2)}
    assert kinds == {"conversation.updated", "message.created"}


# --- Closed by the timed re-check --------------------------------------------------------------


@pytest.fixture
def rechecks(monkeypatch, settings):
    """Re-checks every 0.2 s. `await rechecks.ran(n)` returns once n more have run."""
    settings.REALTIME_ACCESS_RECHECK_SECONDS = 0.2
    check, count, changed = consumers.access_still_valid, [0], threading.Condition()

    def counted(grant):
        allowed = check(grant)
        with changed:
            count[0] += 1
            changed.notify_all()
        return allowed

    def wait_for(target):
        with changed:
            assert changed.wait_for(lambda: count[0] >= target, timeout=CLOSE_DEADLINE_SECONDS)

    class Rechecks:
        async def ran(self, n):
            await asyncio.to_thread(wait_for, count[0] + n)

    monkeypatch.setattr(consumers, "access_still_valid", counted)
    return Rechecks()


async def test_the_recheck_closes_a_socket_whose_session_was_deleted_without_an_event(agent, rechecks):
    client = await database_sync_to_async(signed_in)(agent)
    socket = await open_socket(client)

    # A queryset delete, as `clearsessions` or a database console would: no logout signal.
    await database_sync_to_async(Session.objects.filter(session_key=client.cookies["sessionid"].value).delete)()

    assert await close_code(socket) == 4403


async def test_the_recheck_closes_a_socket_whose_role_changed_without_an_event(agent, acme, rechecks):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))

    await database_sync_to_async(Membership.objects.filter(user=agent, tenant=acme).update)(role=Role.ADMIN)

    assert await close_code(socket) == 4403


async def test_a_socket_whose_access_is_unchanged_stays_open_through_rechecks(agent, rechecks):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))

    await rechecks.ran(2)

    await assert_still_live(socket)
    await socket.disconnect()

