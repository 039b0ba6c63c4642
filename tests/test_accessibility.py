"""Every page passes axe-core (vendored from the npm registry, tests/vendor/axe-core) with no
serious or critical violation, on a laptop and on a phone, with data on the page: a thread
with an interactive message and the customer's tap, the composer's interactive dialog, and
every page of tests/support/pages.py."""

import pytest
from playwright.sync_api import expect

from tests.support.axe import serious_violations
from tests.support.browsing import CUSTOMER, customer_writes_and_agent_opens, log_in, wait_until_live
from tests.support.pages import ACCOUNT_PAGES, TENANT_PAGES
from tests.support.tenants import ACME
from whatsapp.models import Conversation

pytestmark = [pytest.mark.browser, pytest.mark.stack]


@pytest.mark.parametrize(
    "viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}], ids=["laptop", "phone"]
)
def test_no_page_has_a_serious_accessibility_violation(page, stack, owner, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{stack.url}/accounts/login/")
    found = {"login": serious_violations(page)}
    log_in(page, stack, owner.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello, is my order on its way?")
    page.fill("#composer-text", "It left this morning.")
    page.press("#composer-text", "Enter")
    page.click("#interactive-open")
    page.fill("#interactive-body", "Anything else?")
    page.fill("#interactive-button-1", "No, thanks")
    found["conversation with the interactive dialog"] = serious_violations(page)
    page.click("#interactive-send")
    asked = page.locator("#messages .message.out", has_text="Anything else?")
    expect(asked).to_have_attribute("data-status", "read")
    stack.fake.customer_taps(ACME["phone_number_id"], CUSTOMER, asked.get_attribute("data-wamid"), "No, thanks")
    expect(page.locator("#messages .reply-card")).to_be_visible()
    found["conversation"] = serious_violations(page)
    contact = Conversation.objects.latest("pk").contact_id
    for path in [f"/t/acme/{path}" for path in TENANT_PAGES] + [f"/t/acme/contacts/{contact}/"] + ACCOUNT_PAGES:
        page.goto(f"{stack.url}{path}")
        found[path] = serious_violations(page)
    problems = {name: problems for name, problems in found.items() if problems}
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
