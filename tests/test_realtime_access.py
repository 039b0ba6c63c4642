"""An open websocket loses its access the moment its person's access ends, and re-checks on a
timer for the changes nothing announces. Through the Redis channel layer, as in production."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import TOTPDevice
from inbox.asgi import application
from tenants.models import Membership, Role
from tests.support.realtime import receive_customer_message
from tests.support.tenants import PASSWORD
from tests.support.two_factor import code
from whatsapp.realtime import consumers
from whatsapp.realtime import events as realtime

# These tests process the webhooks they store themselves: the shared live stack's worker,
# left running by an earlier module, would take some of their jobs and publish them first.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_live_stack")]


CLOSE_DEADLINE_SECONDS = 5


@pytest.fixture(autouse=True)
def rechecks_out_of_the_way(settings):
    """An hour between timed re-checks: a socket these tests see close was closed by an event."""
    settings.REALTIME_ACCESS_RECHECK_SECONDS = 3600


def signed_in(user):
    """A browser session of this person's (its own test client)."""
    client = Client()
    client.force_login(user)
    return client


def post_as(user, path, data=None):
    return signed_in(user).post(path, data or {})


def signed_in_with_two_factors(user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    client.post("/accounts/login/verify/", {"code": code(device)})
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
        output = await communicator.receive_output(timeout=CLOSE_DEADLINE_SECONDS)
        while output["type"] != "websocket.close":  # skip whatever was sent before the close
            output = await communicator.receive_output(timeout=CLOSE_DEADLINE_SECONDS)
    await communicator.disconnect()
    return output.get("code")


async def assert_still_live(communicator):
    """Nothing but the next customer message arrives: the socket is open and still joined."""
    assert await communicator.receive_nothing(timeout=0.5)
    await database_sync_to_async(receive_customer_message)("Still there?")
    kinds = {(await communicator.receive_json_from(timeout=5))["event"] for _ in range(2)}
    assert kinds == {"conversation.updated", "message.created"}


# --- Closed at once, by the change itself ------------------------------------------------------


async def test_a_member_removed_from_the_workspace_is_disconnected_at_once(agent, owner, acme):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))
    membership = await database_sync_to_async(Membership.objects.get)(user=agent, tenant=acme)

    response = await database_sync_to_async(post_as)(owner, f"/t/acme/members/{membership.pk}/remove/")

    assert response.status_code == 302
    assert await close_code(socket) == 4403


async def test_a_member_whose_role_changes_is_disconnected(agent, owner, acme):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))
    membership = await database_sync_to_async(Membership.objects.get)(user=agent, tenant=acme)

    response = await database_sync_to_async(post_as)(
        owner, f"/t/acme/members/{membership.pk}/role/", {"role": Role.ADMIN}
    )

    assert response.status_code == 302
    assert await close_code(socket) == 4403


async def test_logging_out_closes_that_sessions_socket_and_no_other(agent):
    leaving = await database_sync_to_async(signed_in)(agent)
    staying = await database_sync_to_async(signed_in)(agent)
    leaving_socket, staying_socket = await open_socket(leaving), await open_socket(staying)

    await database_sync_to_async(leaving.post)("/accounts/logout/")

    assert await close_code(leaving_socket) == 4403
    await assert_still_live(staying_socket)
    await staying_socket.disconnect()


async def test_a_deactivated_person_is_disconnected(agent):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))

    agent.is_active = False
    await database_sync_to_async(agent.save)()

    assert await close_code(socket) == 4403


async def test_changing_the_password_disconnects_the_persons_other_sessions(agent):
    elsewhere = await database_sync_to_async(signed_in)(agent)
    socket = await open_socket(elsewhere)
    here = await database_sync_to_async(signed_in)(agent)

    new_password = "a-different-horse-battery-staple"
    response = await database_sync_to_async(here.post)(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 302
    assert await close_code(socket) == 4403


async def test_a_new_password_set_from_a_script_disconnects_the_person(agent):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))

    agent.set_password("set-by-an-administrator-0042")
    await database_sync_to_async(agent.save)()

    assert await close_code(socket) == 4403


async def test_requiring_two_factors_disconnects_sessions_that_have_not_passed_them(agent, owner, acme):
    unverified = await open_socket(await database_sync_to_async(signed_in)(agent))
    verified = await open_socket(await database_sync_to_async(signed_in_with_two_factors)(owner))

    acme.require_2fa = True
    await database_sync_to_async(acme.save)()

    assert await close_code(unverified) == 4403
    await assert_still_live(verified)
    await verified.disconnect()


async def test_deactivating_the_workspace_disconnects_its_members(agent, owner, acme):
    sockets = [await open_socket(await database_sync_to_async(signed_in)(person)) for person in (agent, owner)]

    acme.active = False
    await database_sync_to_async(acme.save)(update_fields=["active"])

    assert [await close_code(socket) for socket in sockets] == [4403, 4403]


async def test_the_access_event_is_a_prompt_to_check_and_never_reaches_the_page(agent):
    socket = await open_socket(await database_sync_to_async(signed_in)(agent))

    await database_sync_to_async(realtime.access_changed)(user_id=agent.pk)

    await assert_still_live(socket)
    await socket.disconnect()


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
