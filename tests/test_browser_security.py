"""The Content Security Policy in a real browser: every page of a tenant (found by the
isolation walker, so pages added later are visited too), the account pages and Django
admin load in Chromium against Daphne with zero policy violations, the websocket still
connects, and hostile customer data never runs."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tenants.models import Membership
from tests.support.browsing import log_in, wait_until_live
from tests.support.hostile import HOSTILE_CAPTION, HOSTILE_NAME, HOSTILE_TEXT
from tests.support.routes import fill, tenant_routes
from tests.support.tenants import PASSWORD
from tests.support.two_factor import code
from tests.support.world import build_world
from whatsapp.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# Runs before any page script: records what the policy blocked.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


class Watcher:
    """What a page does that it should not: policy violations, dialogs (an injected
    alert()), errors in its scripts."""

    def __init__(self, page):
        self.page, self.problems = page, []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("dialog", lambda dialog: (self.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def visit(self, url):
        """Open the page if it is HTML (downloads and redirects to files are skipped)."""
        answer = self.page.request.get(url, max_redirects=0)
        if answer.status != 200 or not answer.headers.get("content-type", "").startswith("text/html"):
            return False
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        self.collect(url)
        return True

    def collect(self, url):
        self.problems += [f"{url}: {violation}" for violation in self.page.evaluate("window.__violations || []")]


@pytest.fixture
def hostile_world(stack, acme, owner):
    world = build_world(acme, Membership.objects.get(user=owner, tenant=acme), name=HOSTILE_NAME)
    Message.objects.filter(pk=world.message.pk).update(text=HOSTILE_TEXT)
    photo = world.media_file.message
    photo.content["image"]["caption"] = HOSTILE_CAPTION
    photo.save(update_fields=["content"])
    return world


def test_every_tenant_page_loads_with_no_policy_violation(page, stack, owner, hostile_world):
    watcher = Watcher(page)
    log_in(page, stack, owner.email)
    wait_until_live(page)  # the websocket connects under connect-src
    watcher.collect("inbox")
    visited = []
    for route in tenant_routes():
        if watcher.visit(stack.url + fill(route, "acme", hostile_world)):
            visited.append(route)
    assert "t/<slug:slug>/inbox/c/<int:conversation_id>/" in visited and "t/<slug:slug>/logs/" in visited
    assert "t/<slug:slug>/audit/" in visited and "t/<slug:slug>/settings/" in visited

    page.goto(f"{stack.url}/t/acme/inbox/c/{hostile_world.conversation.pk}/")
    wait_until_live(page)
    expect(page.locator(".thread-title h2")).to_have_text(HOSTILE_NAME)  # shown as text
    page.locator("#messages .message.in").first.hover()
    watcher.collect("thread")
    assert watcher.problems == []


def test_account_pages_and_the_two_factor_qr_code_load_with_no_policy_violation(page, stack, owner):
    watcher = Watcher(page)
    for path in ["/accounts/login/", "/accounts/password-reset/"]:
        assert watcher.visit(stack.url + path)
    log_in(page, stack, owner.email)
    for path in ["/accounts/2fa/", "/accounts/password/"]:
        assert watcher.visit(stack.url + path)
    page.goto(f"{stack.url}/accounts/2fa/")
    qr = page.locator("img.qr-code")
    expect(qr).to_be_visible()
    assert page.evaluate("document.querySelector('img.qr-code').naturalWidth") > 0  # data: image drawn
    assert watcher.problems == []


def test_admin_loads_with_no_policy_violation(page, stack, acme):
    from accounts.models import TOTPDevice

    root = get_user_model().objects.create_superuser("root@platform.test", PASSWORD)
    device = TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    watcher = Watcher(page)
    page.goto(f"{stack.url}/admin/")  # admin sends people through the app's login and code
    page.fill("#id_username", "root@platform.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.fill("#id_code", code(device))
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{stack.url}/admin/")
    for path in [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{acme.pk}/change/",
        "/admin/tenants/auditevent/",
        "/admin/whatsapp/webhookevent/",
    ]:
        assert watcher.visit(stack.url + path), path
    assert watcher.problems == []
