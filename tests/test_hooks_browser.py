"""An admin connects another system in the browser: adds an endpoint, sends a test event that
the live worker delivers, reads it in the delivery log, rotates the secret and disables it."""

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from hooks.models import Endpoint
from tenants.models import Role
from tenants.setup import add_member
from tests.support.browsing import log_in
from tests.support.receivers import Receiver
from tests.support.tenants import PASSWORD
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def test_an_admin_adds_an_endpoint_and_a_test_event_reaches_it(page, stack, acme):
    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user
    with Receiver() as receiver:
        log_in(page, stack, admin.email)
        page.goto(f"{stack.url}/t/acme/settings/")  # the Webhooks tab sits among the settings
        page.click(".settings-tabs >> text=Webhooks")
        page.click("#add-endpoint")
        page.fill("#id_url", receiver.url)
        page.fill("#id_description", "Our CRM")
        page.check("input[value='message.received']")
        page.check("input[value='conversation.resolved']")
        page.click("#endpoint-form button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("Endpoint added")
        endpoint = Endpoint.objects.get(tenant=acme)
        assert endpoint.event_types == ["message.received", "conversation.resolved"]

        page.click("text=Send test event")
        expect(page.locator(".flash")).to_contain_text("Test event msg_")
        [received] = wait_until(lambda: receiver.received, message="The test event did not arrive")
        assert Webhook(endpoint.secret).verify(received.body, received.headers)["type"] == "webhook.test"
        wait_until(lambda: endpoint.deliveries.filter(status="succeeded").exists(), message="Not marked delivered")
        page.reload()
        row = page.locator("#webhook-deliveries tbody tr").first
        expect(row).to_contain_text("webhook.test")
        expect(row).to_contain_text("Delivered")
        expect(row).to_contain_text("HTTP 200")
        row.locator("a").first.click()
        expect(page.locator("#request-body")).to_contain_text(received.webhook_id)

        page.go_back()
        page.click("text=Rotate secret")
        expect(page.locator(".flash")).to_contain_text("New secret made")
        page.click("button:has-text('Disable')")
        expect(page.locator("#endpoint-state")).to_contain_text("Disabled")
        assert not Endpoint.objects.get(pk=endpoint.pk).active
