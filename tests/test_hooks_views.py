"""The webhooks pages: admins manage endpoints and read their delivery logs; agents get 403,
other workspaces 404; every write is a POST that an action audits; bad input is a form error."""

import pytest
from django.test import Client

from hooks import actions
from hooks.models import Delivery, Endpoint
from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.hooks import deliver
from tests.support.receivers import Receiver

PAGES = ["", "new/", "{id}/", "{id}/edit/", "{id}/deliveries/{delivery}/"]
BUTTONS = ["{id}/rotate/", "{id}/enable/", "{id}/disable/", "{id}/test/", "{id}/redeliver/", "{id}/delete/"]


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN)


@pytest.fixture
def admin_client(admin):
    client = Client()
    client.force_login(admin.user)
    return client


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def endpoint(admin, receiver):
    return actions.create_endpoint(admin, url=receiver.url, event_types=["contact.updated"], description="CRM")


@pytest.fixture
def delivery(admin, endpoint):
    actions.send_test_event(admin, endpoint)
    deliver()
    return Delivery.objects.get(endpoint=endpoint)


def url(path, endpoint=None, delivery=None):
    return "/t/acme/webhooks/" + path.format(id=endpoint.pk if endpoint else 0, delivery=delivery.pk if delivery else 0)


def test_pages_need_a_login(client, endpoint, delivery):
    for path in PAGES:
        response = client.get(url(path, endpoint, delivery))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_agents_get_403(agent_client, endpoint, delivery):
    for path in PAGES:
        assert agent_client.get(url(path, endpoint, delivery)).status_code == 403
    for path in BUTTONS:
        assert agent_client.post(url(path, endpoint)).status_code == 403


def test_another_workspace_gets_404_for_the_tenant_and_its_endpoints(outsider_client, globex, endpoint, delivery):
    assert outsider_client.get(url("")).status_code == 404
    outsider = add_member(globex, "admin@globex.test", role=Role.ADMIN).user
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/t/globex/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/t/globex/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_buttons_are_posts_and_pages_refuse_other_methods(admin_client, endpoint):
    for path in BUTTONS:
        assert admin_client.get(url(path, endpoint)).status_code == 405
    assert admin_client.put(url("", endpoint)).status_code == 405


def test_an_admin_adds_an_endpoint_and_sees_its_secret(admin_client, acme, receiver):
    response = admin_client.post(
        url("new/"), {"url": receiver.url, "description": "Helpdesk", "event_types": ["message.received"]}
    )
    endpoint = Endpoint.objects.get(tenant=acme)
    assert response.status_code == 302 and response["Location"] == url("{id}/", endpoint)
    page = admin_client.get(response["Location"]).content.decode()
    assert endpoint.secret in page and endpoint.secret.startswith("whsec_")
    assert AuditEvent.objects.filter(tenant=acme, action=AuditEvent.Action.WEBHOOK_ENDPOINT_CREATED).exists()


@pytest.mark.parametrize(
    "form, error",
    [
        ({"url": "ftp://example.com/x", "event_types": ["message.received"]}, "https://"),
        ({"url": "not a url", "event_types": ["message.received"]}, "https://"),
        ({"url": "https://example.com/x", "event_types": []}, "at least one event type"),
        ({"url": "https://example.com/x", "event_types": ["nope"]}, "not one of the available choices"),
        ({"url": "https://user:pw@example.com/x", "event_types": ["message.received"]}, "passwords"),
        ({"url": "https://exa\x07mple.com/x", "event_types": ["message.received"]}, "control characters"),
        ({"url": "https://example.com:99999/x", "event_types": ["message.received"]}, "not a valid URL"),
        ({"url": "https://xn--/x", "event_types": ["message.received"]}, "cannot be resolved"),
    ],
)
def test_bad_input_is_a_form_error(admin_client, acme, form, error):
    response = admin_client.post(url("new/"), form)
    assert response.status_code == 400 and error in response.content.decode()
    assert not Endpoint.objects.filter(tenant=acme).exists()


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8000/",
        "https://127.0.0.1/",
        "https://localhost/",
        "https://10.1.2.3/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://100.64.0.1/",
    ],
)
def test_private_addresses_are_refused_at_subscription_unless_allowed(admin_client, acme, settings, address):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(url("new/"), {"url": address, "event_types": ["message.received"]})
    assert response.status_code == 400, address
    assert not Endpoint.objects.filter(tenant=acme).exists()


def test_an_admin_edits_rotates_disables_enables_and_deletes(admin_client, acme, endpoint):
    old_secret = endpoint.secret
    response = admin_client.post(
        url("{id}/edit/", endpoint),
        {"url": endpoint.url, "description": "CRM v2", "event_types": ["contact.updated", "message.received"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.description == "CRM v2" and endpoint.event_types == ["contact.updated", "message.received"]
    admin_client.post(url("{id}/rotate/", endpoint))
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.previous_secret == old_secret
    admin_client.post(url("{id}/disable/", endpoint))
    assert not Endpoint.objects.get(pk=endpoint.pk).active
    response = admin_client.post(url("{id}/test/", endpoint), follow=True)
    assert "disabled: enable it first" in response.content.decode()
    admin_client.post(url("{id}/enable/", endpoint))
    assert Endpoint.objects.get(pk=endpoint.pk).active
    admin_client.post(url("{id}/delete/", endpoint))
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    done = set(AuditEvent.objects.filter(tenant=acme).values_list("action", flat=True))
    assert {
        "webhook_endpoint.changed",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_endpoint.deleted",
    } <= done


def test_the_delivery_log_shows_request_answer_and_redelivers(admin_client, endpoint, delivery, receiver):
    page = admin_client.get(url("{id}/", endpoint)).content.decode()
    assert delivery.event.public_id in page and "HTTP 200" in page
    detail = admin_client.get(url("{id}/deliveries/{delivery}/", endpoint, delivery)).content.decode()
    assert "webhook.test" in detail and "&quot;ok&quot;: true" in detail
    admin_client.post(url("{id}/deliveries/{delivery}/redeliver/", endpoint, delivery))
    deliver()
    assert receiver.ids() == [delivery.event.public_id] * 2


def test_redeliver_failed_needs_a_valid_time(admin_client, endpoint):
    response = admin_client.post(url("{id}/redeliver/", endpoint), {"since": "yesterday"}, follow=True)
    assert response.status_code == 200 and "Give the time as shown" in response.content.decode()
    response = admin_client.post(url("{id}/redeliver/", endpoint), {"since": "2020-01-01T09:00"}, follow=True)
    assert "0 failed event(s) will be sent again" in response.content.decode()
