"""The dashboard page: access, the date range, what it shows, its charts, its cost."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Role
from tenants.setup import add_member
from whatsapp.conversations.resolutions import record_resolution
from whatsapp.models import Contact, Conversation, Message

URL = "/t/acme/dashboard/"


@pytest.fixture
def admin_client(acme):
    client = Client()
    client.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)
    return client


def add_traffic(tenant, author, count, customers=5, first_customer=0):
    """`count` messages today over a few conversations: questions, answers, a failure."""
    number = tenant.phone_numbers.get()
    now = timezone.now().replace(microsecond=0)
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0)
    conversations = [
        Conversation.objects.create(
            tenant=tenant,
            phone_number=number,
            window_closes_at=now + timedelta(hours=1),
            contact=Contact.objects.create(tenant=tenant, wa_id=f"4477{n:06d}", profile_name=f"Customer {n}"),
        )
        for n in range(first_customer, first_customer + customers)
    ]
    for n in range(count):
        inbound = n % 2 == 0
        Message.objects.create(
            tenant=tenant,
            conversation=conversations[n % customers],
            direction="in" if inbound else "out",
            author=None if inbound else author,
            status="delivered" if inbound or n % 7 else "failed",
            error_code=None if inbound or n % 7 else 131047,
            text=f"message {n}",
            timestamp=start + (now - start) * n / count,
        )
    record_resolution(conversations[0], by=author)
    return conversations


def test_login_is_required(client, acme):
    assert client.get(URL)["Location"].startswith("/accounts/login/")
    assert client.post(URL + "check-number/")["Location"].startswith("/accounts/login/")


def test_an_outsider_gets_404(outsider_client, acme):
    assert outsider_client.get(URL).status_code == 404
    assert outsider_client.post(URL + "check-number/").status_code == 404


def test_an_agent_gets_403(agent_client):
    assert agent_client.get(URL).status_code == 403
    assert agent_client.post(URL + "check-number/").status_code == 403


def test_wrong_methods_get_405(admin_client):
    assert admin_client.post(URL).status_code == 405
    assert admin_client.get(URL + "check-number/").status_code == 405


def test_admins_and_owners_get_a_dashboard_tab_and_agents_do_not(admin_client, agent_client, owner):
    owner_client = Client()
    owner_client.force_login(owner)
    for client in (admin_client, owner_client):
        assert f'href="{URL}"' in client.get("/t/acme/inbox/").content.decode()
    assert f'href="{URL}"' not in agent_client.get("/t/acme/inbox/").content.decode()


def test_the_page_shows_every_figure(admin_client, acme, agent):
    add_traffic(acme, agent, 20)
    response = admin_client.get(URL, {"range": "today"})
    assert response.status_code == 200
    content = response.content.decode()
    assert response.context["messages_in"] == 10 and response.context["messages_out"] == 10
    for heading in (
        "Conversations now",
        "First response time",
        "Resolution time",
        "Messages per day",
        "Do messages reach customers?",
        "Failures by WhatsApp error code",
        "The team",
        "Busiest hours",
        "24-hour windows closing soon",
        "WhatsApp connection",
        "How these are computed",
    ):
        assert heading in content
    assert "131047" in content and "24-hour window is closed" in content
    assert "Customer 0" in content  # its window closes within the hour
    assert "UTC time" in content


def test_every_chart_has_a_title_a_description_and_a_table(admin_client, acme, agent):
    add_traffic(acme, agent, 20)
    content = admin_client.get(URL).content.decode()
    charts = re.findall(r"<svg[^>]*>.*?</svg>", content, re.S)
    assert len(charts) == 3
    for chart in charts:
        assert 'role="img"' in chart and "<title id=" in chart and "<desc id=" in chart
        assert chart.count("<rect") == chart.count("<title>")  # every shape says what it is
    assert content.count("<summary>The numbers</summary>") == 3


def test_the_page_has_no_script_and_no_style_attribute(admin_client, acme, agent):
    add_traffic(acme, agent, 20)
    content = admin_client.get(URL).content.decode()
    assert "<script" not in content and " style=" not in content


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"range": "custom", "since": "2026-13-45", "until": "2026-01-01"}, "Enter a valid date."),
        ({"range": "custom", "since": "2026-02-01"}, "Custom dates need both a start and an end date."),
        ({"range": "custom", "since": "2025-02-01", "until": "2025-01-01"}, "The end date is before the start date."),
        ({"range": "custom", "since": "2020-01-01", "until": "2022-01-01"}, "Choose at most 366 days."),
        ({"range": "custom", "since": "9999-12-30", "until": "9999-12-31"}, "Choose dates between"),
        ({"range": "custom", "since": "0001-01-01", "until": "0001-01-02"}, "Choose dates between"),
        ({"range": "yesterday"}, "Select a valid choice."),
        (
            {"range": "custom", "since": "2026-01-01;", "until": "x" * 5000},
            "Enter a valid date.",
        ),  # NUL: test_bad_input
    ],
)
def test_a_bad_range_gets_a_form_error_and_the_last_7_days(admin_client, query, error):
    response = admin_client.get(URL, query)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert len(response.context["period"].days) == 7


def test_a_custom_range_covers_whole_days(admin_client):
    response = admin_client.get(URL, {"range": "custom", "since": "2025-01-30", "until": "2025-02-02"})
    period = response.context["period"]
    assert [day.isoformat() for day in period.days] == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    assert period.start.isoformat() == "2025-01-30T00:00:00+00:00"
    assert period.end.isoformat() == "2025-02-03T00:00:00+00:00"


def test_the_last_7_days_are_shown_and_selected_by_default(admin_client):
    response = admin_client.get(URL)
    assert len(response.context["period"].days) == 7
    assert '<option value="7d" selected>' in response.content.decode()


@pytest.mark.parametrize("range_", ["today", "7d", "30d"])
def test_each_preset_ends_today(admin_client, range_):
    period = admin_client.get(URL, {"range": range_}).context["period"]
    assert period.last_day == timezone.localdate()
    assert len(period.days) == {"today": 1, "7d": 7, "30d": 30}[range_]


def test_the_query_count_does_not_grow_with_the_data(admin_client, acme, agent, owner):
    """The same queries with 10 messages and with 200, whoever wrote them."""
    counts = []
    for count, customers, first, author in ((10, 5, 0, agent), (190, 40, 5, owner)):
        add_traffic(acme, author, count, customers=customers, first_customer=first)
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(URL, {"range": "today"}).status_code == 200
        counts.append(len(queries))
    assert Message.objects.count() == 200
    assert counts[0] == counts[1]
