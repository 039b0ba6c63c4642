"""Tenant isolation, proven on every route the project has.

The walker reads the URL configuration itself (tests/support/routes.py), so a page added
later is covered without touching this file. First acme's owner finds which of GET and POST
reach each route's view (any answer but 405); a route that answers 405 to both would never
have its isolation probed, and fails loudly. Then every route under /t/<slug>/ is asked with
both methods, with acme's real ids, by a member of another tenant and by an anonymous
visitor: each gets what a tenant that does not exist would give, and for the methods its view
takes that is the access check's 404 (or a redirect to the login page), never the method
check's 405. The control shows the ids are real: the owner reaches every view by each of its
methods, and gets 404 with ids that do not exist. A route that takes an id this file cannot
fill fails loudly, and so does a route outside /t/ that is not on the public list.
"""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from inbox.asgi import application
from tenants.models import AuditEvent, Invitation, Membership, Role
from tenants.setup import add_member
from tests.support.routes import (
    CONVERTER,
    TENANT_PREFIX,
    all_routes,
    fill,
    fill_with_missing_ids,
    takes_ids,
    tenant_routes,
)
from tests.support.tenants import ACME, GLOBEX, PASSWORD, client_for
from tests.support.world import build_world
from whatsapp.models import (
    CannedResponse,
    Contact,
    Conversation,
    Label,
    MediaFile,
    Message,
    Note,
    WebhookEvent,
    WebhookReject,
)
from whatsapp.routing import websocket_urlpatterns

# Routes outside /t/<slug>/, each with the reason it is not tenant data.
PUBLIC_ROUTES = {
    "": "the landing redirect: login required, lists only one's own workspaces (tested below)",
    "healthz": "health check: no data",
    "accounts/login/": "login form",
    "accounts/login/verify/": "the login's code step: only for a session that passed the password",
    "accounts/logout/": "logout",
    "accounts/2fa/": "one's own two-factor settings: login required (tested below)",
    "accounts/password/": "one's own password change: login required (tested below)",
    "accounts/password/done/": "a confirmation page: login required",
    "accounts/password-reset/": "password reset by email",
    "accounts/password-reset/sent/": "password reset by email",
    "accounts/password-reset/<uidb64>/<token>/": "password reset by email: the signed link",
    "accounts/password-reset/complete/": "password reset by email",
    "invitations/<str:token>/": "an invitation's signed link: opens only its own invitation (test_invitations.py)",
    "webhooks/whatsapp/<slug:slug>/": "Meta's webhook: signature-protected (tested below and in test_webhook.py)",
}
PUBLIC_PREFIXES = {
    "admin/": "Django admin: staff only (tested below)",
    "simulator/": "the demo's simulated customer: routed only in demo mode, never in production or tests",
    "api/v1/": "the REST API: a workspace's key, another workspace's ids are 404 (test_api_keys.py walks it)",
}
LOGIN_REQUIRED = ["", "accounts/2fa/", "accounts/password/", "accounts/password/done/"]
# The methods the walk asks every route with; a view that takes none of them fails the walk.
METHODS = ("get", "post")


@pytest.fixture
def acme_world(acme, owner):
    return build_world(acme, Membership.objects.get(user=owner, tenant=acme))


@pytest.fixture
def globex_world(globex, outsider):
    return build_world(
        globex, Membership.objects.get(user=outsider, tenant=globex), customer="15558880000", name="Grace"
    )


def snapshot(tenant):
    """What an outsider's requests must not change."""
    return {
        "contacts": list(Contact.objects.filter(tenant=tenant).values_list("pk", "name", "blocked")),
        "conversations": list(Conversation.objects.filter(tenant=tenant).values_list("pk", "status", "assignee_id")),
        "messages": Message.objects.filter(tenant=tenant).count(),
        "notes": Note.objects.filter(tenant=tenant).count(),
        "labels": list(Label.objects.filter(tenant=tenant).values_list("pk", "name")),
        "canned": CannedResponse.objects.filter(tenant=tenant).count(),
        "members": list(Membership.objects.filter(tenant=tenant).values_list("pk", "role")),
        "invitations": list(
            Invitation.objects.filter(tenant=tenant).values_list(
                "pk", "nonce", "expires_at", "revoked_at", "accepted_at"
            )
        ),
        "events": list(WebhookEvent.objects.filter(tenant=tenant).values_list("pk", "state")),
        "rejects": list(WebhookReject.objects.filter(tenant=tenant).values_list("pk", "missing", "invalid")),
        "files": list(MediaFile.objects.filter(tenant=tenant).values_list("pk", "state")),
        "audit": AuditEvent.objects.filter(tenant=tenant).count(),
    }


def answer(client, method, path):
    return getattr(client, method)(path)


def owners_answer(client, method, path):
    """The status acme's owner gets, in a savepoint rolled back after the request: a POST that
    changes or deletes something leaves the world whole for the next route."""
    with transaction.atomic():
        status = answer(client, method, path).status_code
        transaction.set_rollback(True)
    return status


@pytest.fixture
def view_methods(acme_world, owner):
    """{route: the methods that reach its view}, as acme's owner finds them: any answer but 405."""
    client = client_for(owner)
    methods = {
        route: [method for method in METHODS if owners_answer(client, method, fill(route, "acme", acme_world)) != 405]
        for route in tenant_routes()
    }
    unreached = [route for route, taken in methods.items() if not taken]
    if unreached:
        pytest.fail(
            f"These routes answer 405 to {' and '.join(METHODS).upper()}, so no walk reaches their view: "
            f"{unreached}. Add the method their view takes to METHODS in {__file__}."
        )
    return methods


def assert_like_a_missing_tenant(client, method, path, reference_path, who, reaches_view):
    """`reaches_view`: the view takes this method, so access decides the answer (404 or the
    login page), not the method check (405)."""
    response = answer(client, method, path)
    reference = answer(client, method, reference_path)
    expected = (302, 404) if reaches_view else (302, 404, 405)
    assert reference.status_code in expected, f"{method.upper()} {reference_path}: {reference.status_code}"
    if response.status_code == 302:
        assert response["Location"].startswith(settings.LOGIN_URL), f"{who} {method} {path} → {response['Location']}"
    else:
        assert response.status_code == reference.status_code, (
            f"{who} {method} {path} answered {response.status_code}; a missing tenant answers {reference.status_code}"
        )
        assert response.status_code in expected


def walk(client, routes, slug, world, view_methods, who):
    """Every route by every method, with the world's ids under `slug`, against a missing tenant."""
    for route in routes:
        path = fill(route, slug, world)
        missing = fill(route, "no-such-tenant", world)
        for method in METHODS:
            assert_like_a_missing_tenant(client, method, path, missing, who, method in view_methods[route])


def test_the_walker_finds_the_pages_media_and_replay_buttons():
    routes = tenant_routes()
    for expected in [
        "t/<slug:slug>/inbox/",
        "t/<slug:slug>/inbox/c/<int:conversation_id>/",
        "t/<slug:slug>/media/<int:media_file_id>/",
        "t/<slug:slug>/logs/<int:event_id>/replay/",
        "t/<slug:slug>/contacts/<int:contact_id>/export/",
        "t/<slug:slug>/audit/",
        "t/<slug:slug>/members/invitations/<int:invitation_id>/revoke/",
    ]:
        assert expected in routes
    assert len(routes) >= 30


def test_every_route_outside_tenants_is_on_the_public_list():
    unexplained = [
        route
        for route in all_routes()
        if not route.startswith(TENANT_PREFIX)
        and route not in PUBLIC_ROUTES
        and not route.startswith(tuple(PUBLIC_PREFIXES))
    ]
    assert unexplained == [], "New routes outside /t/<slug>/: test their access and add them to PUBLIC_ROUTES"


def test_every_route_argument_has_a_real_object(acme_world):
    for route in tenant_routes():
        fill(route, "acme", acme_world)  # fails loudly on an unknown argument


def test_a_member_of_another_tenant_gets_404_everywhere_with_real_ids(acme_world, globex_world, outsider, view_methods):
    before = snapshot(acme_world.tenant)
    walk(client_for(outsider), tenant_routes(), "acme", acme_world, view_methods, "globex's owner")
    assert snapshot(acme_world.tenant) == before


def test_a_member_of_another_tenant_gets_404_with_real_ids_under_their_own_slug(
    acme_world, globex_world, outsider, view_methods
):
    before = snapshot(acme_world.tenant)
    routes = list(filter(takes_ids, tenant_routes()))
    walk(client_for(outsider), routes, "globex", acme_world, view_methods, "globex's owner on /t/globex/")
    assert snapshot(acme_world.tenant) == before


def test_an_anonymous_visitor_is_sent_to_login_or_gets_404_everywhere(acme_world, view_methods):
    before = snapshot(acme_world.tenant)
    walk(Client(), tenant_routes(), "acme", acme_world, view_methods, "anonymous")
    assert snapshot(acme_world.tenant) == before


def test_the_walk_reaches_a_view_by_post_on_the_post_only_routes(view_methods):
    """Most actions take only POST: their isolation is proven by POST, not by a GET's 405."""
    post_only = [route for route, methods in view_methods.items() if methods == ["post"]]
    assert "t/<slug:slug>/settings/labels/<int:label_id>/delete/" in post_only
    assert len(post_only) >= 20


def test_the_ids_are_real_the_owner_reaches_every_view_by_each_of_its_methods(acme_world, owner, view_methods):
    """The control: with the same paths, every method a view takes works for acme's owner, and
    ids that do not exist get 404. So the 404s above are isolation, not wrong ids."""
    client = client_for(owner)
    for route, methods in view_methods.items():
        for method in methods:
            path = fill(route, "acme", acme_world)
            status = owners_answer(client, method, path)
            assert status != 404 and status < 500, f"acme's owner {method.upper()} {path}: {status}"
            if takes_ids(route):
                missing = fill_with_missing_ids(route, "acme")
                status = owners_answer(client, method, missing)
                assert status == 404, f"acme's owner {method.upper()} {missing}: {status}"


def test_every_form_needs_its_csrf_token(acme_world, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for route in tenant_routes():
        path = fill(route, "acme", acme_world)
        assert client.post(path).status_code == 403, f"POST {path} without a CSRF token"
    anonymous = Client(enforce_csrf_checks=True)
    for route in ["accounts/login/", "accounts/password-reset/", "accounts/logout/"]:
        assert anonymous.post("/" + route, {"username": "owner@acme.test", "password": PASSWORD}).status_code == 403


def test_the_landing_page_lists_only_ones_own_workspaces(acme_world, globex_world, outsider):
    add_member(globex_world.tenant, outsider.email, role=Role.OWNER)
    response = client_for(outsider).get("/", follow=True)
    assert b"Acme" not in response.content and b"Ada" not in response.content


def test_personal_pages_need_a_login(db):
    for route in LOGIN_REQUIRED:
        response = Client().get("/" + route)
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL), route


def test_admin_sends_anyone_but_staff_to_its_login(acme_world, owner):
    client = client_for(owner)
    for path in [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{acme_world.tenant.pk}/change/",
        "/admin/whatsapp/message/",
        "/admin/tenants/auditevent/",
    ]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
        assert Client().get(path)["Location"].startswith("/admin/login/")


def test_the_simulator_is_not_routed_outside_demo_mode():
    assert not settings.DEMO_MODE
    assert not [route for route in all_routes() if route.startswith("simulator/")]


def test_the_webhook_takes_only_its_own_tenants_signature_and_token(acme_world, globex_world):
    from whatsapp.simulator import payloads

    client = Client()
    body = payloads.encode(payloads.text_message(ACME["phone_number_id"], "15550000001", "forged"))
    url = "/webhooks/whatsapp/acme/"
    assert client.post(url, body, content_type="application/json").status_code == 401
    forged = payloads.sign(body, GLOBEX["app_secret"])
    assert client.post(url, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=forged).status_code == 403
    handshake = {"hub.mode": "subscribe", "hub.verify_token": GLOBEX["verify_token"], "hub.challenge": "42"}
    assert client.get(url, handshake).status_code == 403
    assert not Message.objects.filter(text="forged").exists()


# --- Websockets ----------------------------------------------------------------------------


def websocket_paths(slug):
    return [
        "/"
        + CONVERTER.sub(lambda m: slug if m["name"] == "slug" else pytest.fail(f"<{m['name']}>"), str(pattern.pattern))
        for pattern in websocket_urlpatterns
    ]


def socket_headers(user, origin=b"http://127.0.0.1"):
    headers = [(b"host", b"127.0.0.1")]
    if origin:
        headers.append((b"origin", origin))
    if user is not None:
        client = client_for(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def connects(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
async def test_every_websocket_route_refuses_outsiders_anonymous_visitors_and_foreign_origins(acme, owner, outsider):
    as_owner = await database_sync_to_async(socket_headers)(owner)
    as_outsider = await database_sync_to_async(socket_headers)(outsider)
    no_origin = await database_sync_to_async(socket_headers)(owner, origin=None)
    foreign = await database_sync_to_async(socket_headers)(owner, origin=b"https://evil.example")
    for path in websocket_paths("acme"):
        assert await connects(path, as_owner), "the control: acme's owner connects"
        assert not await connects(path, as_outsider)
        assert not await connects(path, socket_headers(None))
        assert not await connects(path, no_origin)
        assert not await connects(path, foreign)
    for path in websocket_paths("no-such-tenant"):
        assert not await connects(path, as_owner)
