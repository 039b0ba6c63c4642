"""The dashboard in headless Chromium, served by the live stack, with a week of traffic.

Plain sync tests: Playwright's sync API refuses to run inside an event loop.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.browsing import log_in
from whatsapp.conversations.resolutions import record_resolution
from whatsapp.models import Contact, Conversation, Message, PhoneNumber, WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def a_week_of_traffic(tenant, agent, owner):
    """Customers write at office hours over the last week; the team answers most of them,
    one reply fails, one number's quality dropped."""
    number = tenant.phone_numbers.get()
    PhoneNumber.objects.filter(pk=number.pk).update(quality_rating="YELLOW", messaging_limit="TIER_1K")
    now = timezone.now().replace(second=0, microsecond=0)
    midnight = timezone.localtime(now).replace(hour=0, minute=0)
    WebhookEvent.objects.create(tenant=tenant, body="{}", body_sha256="0" * 64, signature="valid", state="processed")
    for n in range(12):
        contact = Contact.objects.create(tenant=tenant, wa_id=f"3360000{n:04d}", profile_name=f"Customer {n}")
        conversation = Conversation.objects.create(
            tenant=tenant, contact=contact, phone_number=number, window_closes_at=now + timedelta(minutes=20 + 10 * n)
        )
        asked = midnight - timedelta(days=n % 7) + timedelta(hours=8 + n % 10)  # within the last 7 days
        Message.objects.create(
            tenant=tenant, conversation=conversation, direction="in", status="delivered", timestamp=asked, text="Hello?"
        )
        if n % 4 == 3:
            continue  # still waiting
        author = agent if n % 3 else owner
        status = "failed" if n == 5 else ("read", "delivered", "sent")[n % 3]
        Message.objects.create(
            tenant=tenant,
            conversation=conversation,
            direction="out",
            author=author,
            status=status,
            error_code=131047 if status == "failed" else None,
            text="Hi!",
            timestamp=asked + timedelta(minutes=1 + 7 * n),
            wamid=f"wamid.{n}",
        )
        if n % 2 == 0:
            record_resolution(conversation, by=author, at=asked + timedelta(hours=1 + n))


@pytest.fixture
def stack(live_stack, transactional_db, acme, agent, owner):
    a_week_of_traffic(acme, agent, owner)
    return live_stack


def test_an_owner_sees_the_dashboard_with_data(page, stack, owner, tmp_path):
    log_in(page, stack, owner.email)
    page.click("nav.tabs >> text=Dashboard")
    page.wait_for_url(f"{stack.url}/t/acme/dashboard/")

    expect(page.locator("#messages .big")).to_have_text("12")
    expect(page.locator("#first-response .big")).not_to_have_text("—")
    expect(page.locator("svg.daily-chart rect.bar")).to_have_count(14)
    expect(page.locator("svg.heat-chart rect.cell").first).to_be_visible()
    expect(page.locator("#delivery")).to_contain_text("131047")
    expect(page.locator(".alert")).to_contain_text("Quality of 15550001111: Medium")
    expect(page.locator("#closing tbody tr")).to_have_count(10)
    page.screenshot(path=tmp_path / "browser-dashboard.png", full_page=True)

    page.select_option("#id_range", "30d")
    page.click("form.filters button")
    expect(page.locator("svg.daily-chart rect.bar")).to_have_count(60)


def test_printing_shows_every_table_of_numbers(page, stack, owner):
    log_in(page, stack, owner.email)
    page.goto(f"{stack.url}/t/acme/dashboard/")
    table = page.locator("#volume details table")
    expect(table).to_be_hidden()
    page.emulate_media(media="print")
    expect(table).to_be_visible()
    expect(page.locator("form.filters")).to_be_hidden()
