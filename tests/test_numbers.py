"""Owners manage the workspace's business numbers: the account's numbers as Meta lists them,
adding one (registering it with its PIN), removing one, and each number's business profile.
The inbox filters its list and counts by number."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.media_files import png
from tests.support.tenants import ACME, PASSWORD, client_for
from whatsapp.models import Connection, Conversation, Message, MessageStatus, PhoneNumber
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
WABA = ACME["waba_id"]
SECOND = "333000333"


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def graph(fake_graph):
    """Acme's account at the fake: its number, and a second one not registered yet."""
    fake_graph.register_number(PNID, "", ACME["app_secret"], waba_id=WABA, access_token=ACME["access_token"])
    fake_graph.add_account_number(WABA, SECOND, "15550003333", verified_name="Acme Support", pin="246810")
    return fake_graph


def add_second(owner_client, pin="246810"):
    return owner_client.post("/t/acme/numbers/add/", {"phone_number_id": SECOND, "pin": pin})


def test_owners_see_the_accounts_numbers_with_their_status(owner_client, graph):
    graph.numbers[PNID].quality_rating = "YELLOW"
    page = owner_client.get("/t/acme/numbers/")
    rows = {number.phone_number_id: number for number in page.context["account_numbers"]}
    assert rows[PNID].added is not None and rows[PNID].quality_rating == "YELLOW"
    assert rows[SECOND].added is None and rows[SECOND].needs_registration
    assert (rows[SECOND].verified_name, rows[SECOND].name_status, rows[SECOND].messaging_limit) == (
        "Acme Support",
        "APPROVED",
        "TIER_1K",
    )
    assert "Two-step PIN" in page.content.decode() and "1,000 customers a day" in page.content.decode()


def test_an_owner_adds_a_number_registering_it_with_its_pin(owner_client, owner, graph):
    assert add_second(owner_client).status_code == 302
    number = PhoneNumber.objects.get(phone_number_id=SECOND)
    assert (number.display_phone_number, number.verified_name, number.name_status) == (
        "15550003333",
        "Acme Support",
        "APPROVED",
    )
    assert graph.numbers[SECOND].registered
    event = AuditEvent.objects.get(action=AuditEvent.Action.NUMBER_ADDED)
    assert (event.actor, event.details["registered"]) == (owner, True)


@pytest.mark.parametrize(("pin", "said"), [("", "six-digit"), ("12", "six-digit"), ("999999", "PIN")])
def test_a_missing_or_wrong_pin_adds_nothing_and_says_why(owner_client, graph, pin, said):
    response = add_second(owner_client, pin)
    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(phone_number_id=SECOND).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any(said in message for message in messages)
    assert not graph.numbers[SECOND].registered


def test_a_number_of_another_account_cannot_be_added(owner_client, graph):
    graph.add_account_number("OTHER_WABA", "444", "15550004444")
    owner_client.post("/t/acme/numbers/add/", {"phone_number_id": "444", "pin": "123456"})
    assert not PhoneNumber.objects.filter(phone_number_id="444").exists()


def test_a_number_with_waiting_messages_is_not_removed(owner_client, graph, acme, webhook, run_tasks):
    add_second(owner_client)
    second = PhoneNumber.objects.get(phone_number_id=SECOND)
    graph.numbers[SECOND].registered = True
    webhook.post(payloads.text_message(SECOND, "15551230000", "Hi", display_phone_number="15550003333"))
    run_tasks()
    conversation = Conversation.objects.get(phone_number=second)
    Message.objects.create(
        tenant=acme, conversation=conversation, direction="out", type="text", text="x", status=MessageStatus.QUEUED
    )
    page = owner_client.get(f"/t/acme/numbers/{second.pk}/remove/").content.decode()
    assert "1 message(s) are still waiting" in page
    owner_client.post(f"/t/acme/numbers/{second.pk}/remove/")
    assert PhoneNumber.objects.filter(pk=second.pk).exists()


def test_removing_a_number_says_and_removes_its_conversations(owner_client, owner, graph, webhook, run_tasks):
    add_second(owner_client)
    second = PhoneNumber.objects.get(phone_number_id=SECOND)
    webhook.post(payloads.text_message(SECOND, "15551230000", "Hi", display_phone_number="15550003333"))
    run_tasks()
    page = owner_client.get(f"/t/acme/numbers/{second.pk}/remove/").content.decode()
    assert "1 conversation(s)" in page and "1 message(s)" in page
    assert owner_client.post(f"/t/acme/numbers/{second.pk}/remove/").status_code == 302
    assert not PhoneNumber.objects.filter(pk=second.pk).exists()
    assert not Conversation.objects.filter(phone_number_id=second.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.NUMBER_REMOVED)
    assert (event.actor, event.details) == (owner, {"conversations": 1, "messages": 1})


def test_the_only_number_is_not_removed(owner_client, acme, graph):
    only = PhoneNumber.objects.get(tenant=acme)
    owner_client.post(f"/t/acme/numbers/{only.pk}/remove/")
    assert PhoneNumber.objects.filter(pk=only.pk).exists()


def test_an_owner_edits_the_business_profile_with_a_photo(owner_client, owner, graph, acme):
    Connection.objects.filter(tenant=acme).update(app_id="123456789")
    number = PhoneNumber.objects.get(tenant=acme)
    form = owner_client.get(f"/t/acme/numbers/{number.pk}/profile/")
    assert form.context["profile"]["about"] == "Hello"
    fields = {
        "about": "Fresh bread daily",
        "description": "A bakery.",
        "address": "1 Main St",
        "email": "hello@acme.test",
        "websites": "https://acme.test\nhttps://acme.test/shop",
        "vertical": "GROCERY",
        "photo": SimpleUploadedFile("logo.png", png(), content_type="image/png"),
    }
    assert owner_client.post(f"/t/acme/numbers/{number.pk}/profile/", fields).status_code == 302
    profile = graph.numbers[PNID].profile
    assert profile["about"] == "Fresh bread daily" and profile["websites"] == [
        "https://acme.test",
        "https://acme.test/shop",
    ]
    assert profile["vertical"] == "GROCERY" and graph.numbers[PNID].profile_photo == png()
    [session] = graph.upload_sessions.values()
    assert (session["app_id"], session["file_type"]) == ("123456789", "image/png")
    assert AuditEvent.objects.get(action=AuditEvent.Action.PROFILE_CHANGED).details["photo"] is True


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"about": ""}, "About:"),
        ({"about": "x" * 140}, "About: at most 139"),
        ({"email": "not-an-email"}, "Email:"),
        ({"websites": "https://a.test\nhttps://b.test\nhttps://c.test"}, "Websites: at most 2"),
        ({"websites": "acme.test"}, "Websites:"),
        ({"vertical": "SPACESHIPS"}, "Industry:"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(owner_client, graph, acme, changes, said):
    number = PhoneNumber.objects.get(tenant=acme)
    fields = {"about": "Hi", "description": "", "address": "", "email": "", "websites": "", "vertical": ""}
    response = owner_client.post(f"/t/acme/numbers/{number.pk}/profile/", fields | changes)
    assert response.status_code == 400 and said in response.content.decode()
    assert graph.numbers[PNID].profile is None


def test_a_photo_needs_the_app_id_and_must_be_an_image(owner_client, graph, acme):
    number = PhoneNumber.objects.get(tenant=acme)
    fields = {"about": "Hi", "photo": SimpleUploadedFile("x.png", png(), content_type="image/png")}
    response = owner_client.post(f"/t/acme/numbers/{number.pk}/profile/", fields)
    assert response.status_code == 400 and "Meta app id" in response.content.decode()
    Connection.objects.filter(tenant=acme).update(app_id="123456789")
    fields["photo"] = SimpleUploadedFile("x.png", b"GIF89a not a png", content_type="image/png")
    response = owner_client.post(f"/t/acme/numbers/{number.pk}/profile/", fields)
    assert response.status_code == 400 and "JPEG or PNG" in response.content.decode()


def test_the_inbox_filters_its_list_and_counts_by_number(owner_client, graph, agent_client, webhook, run_tasks):
    add_second(owner_client)
    second = PhoneNumber.objects.get(phone_number_id=SECOND)
    webhook.post(payloads.text_message(PNID, "15551110000", "To the first"))
    webhook.post(payloads.text_message(SECOND, "15552220000", "To the second", display_phone_number="15550003333"))
    run_tasks()
    everything = agent_client.get("/t/acme/inbox/")
    assert len(everything.context["conversations"]) == 2 and 'id="filter-number"' in everything.content.decode()
    filtered = agent_client.get("/t/acme/inbox/", {"number": second.pk})
    assert [c.phone_number_id for c in filtered.context["conversations"]] == [second.pk]
    assert filtered.context["counts"]["all"] == "1"
    assert agent_client.get("/t/acme/inbox/counts/", {"number": second.pk}).json()["all"] == "1"
    assert len(agent_client.get("/t/acme/inbox/", {"number": "x"}).context["conversations"]) == 2


@pytest.mark.parametrize("path", ["/t/acme/numbers/", "/t/acme/numbers/{pk}/profile/", "/t/acme/numbers/{pk}/remove/"])
def test_numbers_pages_are_for_owners_only(acme, owner, agent_client, outsider_client, client, path):
    path = path.format(pk=PhoneNumber.objects.get(tenant=acme).pk)
    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user
    assert client_for(admin).get(path).status_code == 403
    assert agent_client.get(path).status_code == 403
    assert outsider_client.get(path).status_code == 404
    assert client.get(path).status_code == 302


def test_adding_needs_post_and_an_owner(owner_client, agent_client, graph):
    assert owner_client.get("/t/acme/numbers/add/").status_code == 405
    assert agent_client.post("/t/acme/numbers/add/", {"phone_number_id": SECOND, "pin": "246810"}).status_code == 403
    assert not PhoneNumber.objects.filter(phone_number_id=SECOND).exists()
