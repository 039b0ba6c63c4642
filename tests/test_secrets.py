"""Secrets: the access token, app secret and verify token appear nowhere once stored: not
in a page, a log line (every logger at DEBUG, PyWA's and httpx's included), the Graph API
call log, a stored webhook, the audit log, or an error report."""

import hashlib
import logging
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection as database
from django.test import Client
from django.views.debug import ExceptionReporter

from tenants.models import AuditEvent, Membership
from tests.support.media_files import png
from tests.support.tenants import ACME, PASSWORD
from tests.support.two_factor import verify_session
from whatsapp.cloud import api as cloud_api
from whatsapp.models import Connection, Conversation, GraphCall, WebhookEvent
from whatsapp.sending import actions as sending
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
NEW_SECRETS = {
    "access_token": "EAAG-rotated-token-abcdef123456",
    "app_secret": "rotated-app-secret-abcdef123456",
    "verify_token": "rotated-verify-token-abcdef",
}
LOGGERS = [
    "",
    "pywa",
    "pywa.server",
    "pywa.api",
    "httpx",
    "httpcore",
    "django",
    "django.request",
    "axes",
    "whatsapp",
    "tenants",
    "django_tasks",
]


def secrets():
    return [ACME["access_token"], ACME["app_secret"], ACME["verify_token"], *NEW_SECRETS.values()]


def assert_secret_free(text, where):
    for secret in secrets():
        assert secret not in text, f"a secret ({secret[:6]}…) in {where}"


@pytest.fixture
def everything_logged(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(db):
    staff = get_user_model().objects.create_superuser("root@platform.test", PASSWORD)
    client = Client()
    client.force_login(staff)
    verify_session(client, staff)  # admin requires a second factor
    return client


def test_secrets_are_stored_encrypted(acme):
    with database.cursor() as cursor:
        cursor.execute("SELECT access_token, app_secret, verify_token FROM whatsapp_connection")
        stored = " ".join(cursor.fetchone())
    assert_secret_free(stored, "the database")
    assert Connection.objects.get().access_token == ACME["access_token"]


def test_a_day_of_work_leaves_no_secret_anywhere(
    everything_logged, acme, owner, agent, owner_client, staff_client, webhook, run_tasks, fake_graph, fast_forward
):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    pages = []

    # Meta: the handshake, messages, a photo; some with bad signatures.
    handshake = {"hub.mode": "subscribe", "hub.verify_token": ACME["verify_token"], "hub.challenge": "1158201444"}
    assert Client().get("/webhooks/whatsapp/acme/", handshake).status_code == 200
    assert webhook.post(payloads.text_message(PNID, "15551234567", "Hello", name="Ada")).status_code == 200
    assert webhook.post(payloads.text_message(PNID, "15551234567", "forged"), signature="sha256=00").status_code == 403
    media_id = fake_graph.add_media(png(), "image/png", PNID)
    image = {"id": media_id, "mime_type": "image/png", "sha256": hashlib.sha256(png()).hexdigest()}
    webhook.post(payloads.message(PNID, "15551234567", "image", image))
    run_tasks()

    # Sending, with Meta failing in every way that mentions credentials.
    conversation = Conversation.objects.get()
    membership = Membership.objects.get(user=agent)
    fake_graph.script_error(code=190, message="Error validating access token", http_status=401)
    sending.send_reply(membership, conversation, "first")
    run_tasks()
    fake_graph.script_error(code=131047, message="Re-engagement message")
    sending.send_reply(membership, conversation, "second")
    run_tasks()

    # The owner replaces every secret on the connection page; sending resumes.
    pages.append(owner_client.get("/t/acme/connection/"))
    response = owner_client.post("/t/acme/connection/", {"waba_id": ACME["waba_id"], **NEW_SECRETS})
    assert response.status_code == 302
    fake_graph.register_number(PNID, "", NEW_SECRETS["app_secret"], access_token=NEW_SECRETS["access_token"])
    fast_forward()
    run_tasks()

    # Every page an owner or a platform admin reads.
    event = WebhookEvent.objects.filter(signature="valid").first()
    for path in [
        "/t/acme/connection/",
        "/t/acme/logs/",
        "/t/acme/logs/graph/",
        f"/t/acme/logs/{event.pk}/",
        "/t/acme/inbox/",
        f"/t/acme/inbox/c/{conversation.pk}/",
        "/t/acme/audit/",
        "/t/acme/security/",
        "/t/acme/settings/",
        "/t/acme/members/",
    ]:
        pages.append(owner_client.get(path))
    for path in [
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{acme.pk}/change/",
        "/admin/whatsapp/webhookevent/",
        f"/admin/whatsapp/webhookevent/{event.pk}/change/",
        "/admin/tenants/auditevent/",
    ]:
        pages.append(staff_client.get(path))

    for page in pages:
        assert page.status_code == 200, page
        assert_secret_free(page.content.decode(), f"the page {page.wsgi_request.path}")
    logged = everything_logged.text + "".join(f"{r.getMessage()} {r.exc_text or ''}" for r in everything_logged.records)
    assert everything_logged.records, "the test must have captured something"
    assert_secret_free(logged, "the logs")
    assert_secret_free(str(list(GraphCall.objects.values())), "the Graph API call log")
    assert GraphCall.objects.filter(error_code=190).exists()
    assert_secret_free(str(list(WebhookEvent.objects.values())), "the stored webhooks")
    assert_secret_free(str(list(AuditEvent.objects.values())), "the audit log")


def test_a_crash_while_saving_secrets_sends_an_error_report_without_them(owner_client, settings, monkeypatch):
    from whatsapp.admin import ConnectionForm

    settings.ADMINS = [("Ops", "ops@example.com")]  # Django mails them a report of every 500

    def crash(self, commit=True):
        raise RuntimeError("storage is down")

    monkeypatch.setattr(ConnectionForm, "save", crash)
    client = owner_client
    client.raise_request_exception = False
    response = client.post("/t/acme/connection/", {"waba_id": ACME["waba_id"], **NEW_SECRETS})
    assert response.status_code == 500
    assert mail.outbox, "Django sends ADMINS a report of the 500"
    for report in mail.outbox:
        html = "".join(str(content) for content, _type in report.alternatives)
        assert "storage is down" in report.body
        assert "access_token" in report.body and "********" in report.body  # named, not shown
        assert_secret_free(report.body + html, "the error report")


def test_a_crash_during_a_graph_call_reports_no_token(acme):
    connection = Connection.objects.get()
    number = acme.phone_numbers.get()
    try:
        with cloud_api.client(number, connection) as wa:
            wa.api._session.headers.get("Authorization")
            raise RuntimeError("the network fell over")
    except RuntimeError:
        reporter = ExceptionReporter(None, *sys.exc_info())
        report = reporter.get_traceback_text() + reporter.get_traceback_html()
    assert "the network fell over" in report
    assert_secret_free(report, "the error report")


def test_log_output_is_redacted_whatever_a_library_writes(capsys):
    from inbox.log_filters import RedactSecrets

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("Making request with headers %s", {"Authorization": f"Bearer {ACME['access_token']}"})
        logger.warning("GET /?hub.verify_token=%s&hub.challenge=1", ACME["verify_token"])
        logger.warning('{"access_token": "%s"}', ACME["access_token"])
    finally:
        logger.removeHandler(handler)
    output = capsys.readouterr().err
    assert all("[redacted]" in line for line in output.splitlines()) and len(output.splitlines()) == 3
    assert_secret_free(output, "log output")


def test_the_rotation_command_is_documented():
    from pathlib import Path

    security = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    assert "python manage.py rotate_encryption_key" in security
