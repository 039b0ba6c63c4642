"""Data protection: a contact's data exported as a file, a contact erased with all their
data (files in storage included), and the retention period enforced by a scheduled job."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from tenants.models import AuditEvent, Membership, Role
from tenants.setup import add_member
from tests.support.media_files import png
from tests.support.tenants import ACME
from tests.support.world import build_world
from whatsapp import maintenance
from whatsapp.contacts import privacy
from whatsapp.models import (
    Contact,
    Conversation,
    GraphCall,
    MediaFile,
    Message,
    Note,
    StatusUpdate,
    WebhookEvent,
    WebhookReject,
)
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest

PNID = ACME["phone_number_id"]


@pytest.fixture
def world(acme, owner):
    return build_world(acme, Membership.objects.get(user=owner, tenant=acme))


@pytest.fixture
def admin_client(acme):
    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN).user
    client = Client()
    client.force_login(admin)
    return client


def zip_of(response):
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- Export --------------------------------------------------------------------------------


def test_an_admin_exports_everything_about_a_contact_as_a_zip(world, admin_client):
    StatusUpdate.objects.create(tenant=world.tenant, wamid=world.message.wamid, status="read", timestamp=timezone.now())
    response = admin_client.get(f"/t/acme/contacts/{world.contact.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="contact-{world.contact.pk}.zip"'

    archive = zip_of(response)
    document = json.loads(archive.read("contact.json"))
    assert document["contact"]["wa_id"] == "15557770000" and document["contact"]["profile_name"] == "Ada"
    [conversation] = document["conversations"]
    texts = [message["text"] for message in conversation["messages"]]
    assert "Hello" in texts
    hello = next(message for message in conversation["messages"] if message["text"] == "Hello")
    assert hello["status_updates"][0]["status"] == "read"
    assert conversation["notes"][0]["text"] == "VIP customer"
    photo = next(message for message in conversation["messages"] if message["type"] == "image")
    assert archive.read(photo["file"]) == png()


def test_the_export_is_recorded_in_the_audit_log(world, admin_client):
    admin_client.get(f"/t/acme/contacts/{world.contact.pk}/export/")
    entry = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_EXPORTED)
    assert entry.target == f"Contact #{world.contact.pk}" and entry.actor.email == "admin@acme.test"


def test_agents_cannot_export_or_delete(world, agent_client):
    assert agent_client.get(f"/t/acme/contacts/{world.contact.pk}/export/").status_code == 403
    assert agent_client.post(f"/t/acme/contacts/{world.contact.pk}/delete/", {"confirm": "on"}).status_code == 403
    assert Contact.objects.filter(pk=world.contact.pk).exists()


def test_outsiders_get_404(world, outsider_client):
    assert outsider_client.get(f"/t/acme/contacts/{world.contact.pk}/export/").status_code == 404
    assert outsider_client.get(f"/t/globex/contacts/{world.contact.pk}/export/").status_code == 404
    assert outsider_client.post(f"/t/globex/contacts/{world.contact.pk}/delete/", {"confirm": "on"}).status_code == 404


def test_the_thread_header_links_to_export_and_delete_for_admins_only(world, admin_client, agent_client):
    page = admin_client.get(f"/t/acme/inbox/c/{world.conversation.pk}/")
    assert f'href="/t/acme/contacts/{world.contact.pk}/export/"'.encode() in page.content
    assert b'id="contact-delete"' in page.content
    assert b'id="contact-export"' not in agent_client.get(f"/t/acme/inbox/c/{world.conversation.pk}/").content


# --- Erasure -------------------------------------------------------------------------------


def test_deletion_asks_for_confirmation_first(world, admin_client):
    page = admin_client.get(f"/t/acme/contacts/{world.contact.pk}/delete/")
    assert page.status_code == 200
    assert b"2 message(s)" in page.content and b"1 file(s)" in page.content
    assert admin_client.post(f"/t/acme/contacts/{world.contact.pk}/delete/").status_code == 400
    assert Contact.objects.filter(pk=world.contact.pk).exists()
    assert admin_client.get(f"/t/acme/contacts/{world.contact.pk}/delete/").status_code == 200  # GET changed nothing


def test_deleting_a_contact_erases_their_data_and_their_files(world, admin_client, acme, globex, outsider):
    other = build_world(globex, Membership.objects.get(user=outsider), customer="15557770000", name="Ada")
    StatusUpdate.objects.create(
        tenant=acme, wamid=world.message.wamid, status="read", timestamp=timezone.now(), recipient="15557770000"
    )
    stored_name = world.media_file.file.name
    assert default_storage.exists(stored_name)

    response = admin_client.post(f"/t/acme/contacts/{world.contact.pk}/delete/", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/t/acme/inbox/"
    assert not Contact.objects.filter(pk=world.contact.pk).exists()
    assert not Conversation.objects.filter(tenant=acme).exists()
    assert not Message.objects.filter(tenant=acme).exists()
    assert not Note.objects.filter(tenant=acme).exists()
    assert not MediaFile.objects.filter(tenant=acme).exists()
    assert not StatusUpdate.objects.filter(tenant=acme).exists()
    assert not default_storage.exists(stored_name)
    # The same person in another workspace is another workspace's business.
    assert Contact.objects.filter(pk=other.contact.pk).exists()
    assert default_storage.exists(other.media_file.file.name)


def test_deletion_is_audited_without_saying_who_the_contact_was(world, admin_client):
    admin_client.post(f"/t/acme/contacts/{world.contact.pk}/delete/", {"confirm": "on"})
    entry = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_DELETED)
    assert entry.target == f"Contact #{world.contact.pk}"
    assert entry.details["messages"] == 2 and entry.details["files"] == 1
    assert "Ada" not in json.dumps(entry.details) and "15557770000" not in json.dumps(entry.details)


def test_stored_webhooks_lose_the_contacts_items_and_keep_the_others(acme, owner, webhook, run_tasks, admin_client):
    batch = payloads.text_message(PNID, "15557770000", "my address is 1 Main St", name="Ada")
    other = payloads.text_message(PNID, "15559990000", "I am someone else", name="Bob")
    value = batch["entry"][0]["changes"][0]["value"]
    other_value = other["entry"][0]["changes"][0]["value"]
    value["messages"] += other_value["messages"]
    value["contacts"] += other_value["contacts"]
    assert webhook.post(batch).status_code == 200
    run_tasks()
    ada = Contact.objects.get(wa_id="15557770000")

    admin_client.post(f"/t/acme/contacts/{ada.pk}/delete/", {"confirm": "on"})

    event = WebhookEvent.objects.get()
    assert "15557770000" not in event.body and "1 Main St" not in event.body and '"Ada"' not in event.body
    assert "I am someone else" in event.body and "15559990000" in event.body
    assert "Redacted" in event.error
    # Meta resending the same body counts a delivery and cannot bring Ada back.
    assert webhook.post(batch).status_code == 200
    run_tasks()
    assert not Contact.objects.filter(wa_id="15557770000").exists()
    # Replaying the redacted event keeps Bob and brings nothing of Ada back.
    ingest.process_event(WebhookEvent.objects.get())
    assert not Contact.objects.filter(wa_id="15557770000").exists()
    assert Message.objects.filter(text="I am someone else").count() == 1


def test_a_failed_webhook_that_is_no_json_object_is_redacted_as_text(world, webhook, admin_client):
    response = webhook.post(b'[["15557770000", ' + b"[" * 100_000)
    assert "nested too deeply" in response.json()["error"]
    assert admin_client.post(f"/t/acme/contacts/{world.contact.pk}/delete/", {"confirm": "on"}).status_code == 302
    event = WebhookEvent.objects.get(error__startswith="Malformed JSON: nested too deeply")
    assert "15557770000" not in event.body and "Redacted" in event.error


# --- Retention ----------------------------------------------------------------------------


def old(days):
    return timezone.now() - timedelta(days=days)


def test_the_retention_job_purges_old_messages_with_their_files_and_keeps_the_rest(world, acme):
    acme.retention_days = 30
    acme.save()
    photo = world.media_file.message
    Message.objects.filter(pk=photo.pk).update(timestamp=old(31))
    Note.objects.filter(pk=world.note.pk).update(timestamp=old(40))
    WebhookEvent.objects.filter(pk=world.event.pk).update(received_at=old(31))
    GraphCall.objects.filter(pk=world.call.pk).update(started_at=old(31))
    waiting = Message.objects.create(
        tenant=acme,
        conversation=world.conversation,
        direction="out",
        text="still queued",
        status="queued",
        timestamp=old(60),
    )
    stored_name = world.media_file.file.name

    privacy.purge_expired_data()

    assert not Message.objects.filter(pk=photo.pk).exists()
    assert not default_storage.exists(stored_name)
    assert Message.objects.filter(pk=world.message.pk).exists()  # recent
    assert Message.objects.filter(pk=waiting.pk).exists()  # its send job still holds it
    assert not Note.objects.filter(pk=world.note.pk).exists()
    assert not WebhookEvent.objects.filter(pk=world.event.pk).exists()
    assert not GraphCall.objects.filter(pk=world.call.pk).exists()
    entry = AuditEvent.objects.get(action=AuditEvent.Action.RETENTION_PURGED)
    assert entry.actor is None and entry.details["messages"] == 1 and entry.details["files"] == 1


def test_rejected_posts_are_kept_a_week_whatever_the_retention_period(acme, globex):
    def minute_of_rejects(tenant, days_ago):
        minute = old(days_ago).replace(second=0, microsecond=0)
        return WebhookReject.objects.create(
            tenant=tenant, minute=minute, missing=3, sample=b"{}", sample_reason="missing", sample_size=2
        )

    recent = minute_of_rejects(acme, 6)
    minute_of_rejects(acme, 8)
    minute_of_rejects(globex, 8)

    privacy.purge_expired_data()

    assert list(WebhookReject.objects.all()) == [recent]
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_PURGED).exists()


def test_without_a_retention_period_nothing_is_purged(world, acme):
    Message.objects.update(timestamp=old(3650))
    privacy.purge_expired_data()
    assert Message.objects.filter(tenant=acme).count() == 2
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_PURGED).exists()


def test_the_purge_works_in_batches_and_runs_again_while_more_remain(world, acme, monkeypatch, run_tasks):
    monkeypatch.setattr(privacy, "PURGE_BATCH", 2)
    monkeypatch.setattr(privacy, "PURGE_LIMIT_PER_RUN", 4)
    for number in range(7):
        Message.objects.create(
            tenant=acme, conversation=world.conversation, direction="in", text=f"old {number}", timestamp=old(100)
        )
    acme.retention_days = 30
    acme.save()
    from whatsapp.contacts.privacy import purge_expired_data_job

    purge_expired_data_job.enqueue()
    run_tasks()
    assert not Message.objects.filter(text__startswith="old ").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_PURGED).count() == 2


def test_the_maintenance_job_queues_the_purge_once_an_hour(db, run_tasks):
    from django_tasks_db.models import DBTaskResult

    from whatsapp.contacts.privacy import purge_expired_data_job

    assert privacy.enqueue_purge_if_due()
    assert not privacy.enqueue_purge_if_due()  # one is waiting
    run_tasks()
    assert DBTaskResult.objects.filter(task_path=purge_expired_data_job.module_path, status="SUCCESSFUL").exists()
    assert not privacy.enqueue_purge_if_due()  # ran less than an hour ago


def test_maintenance_calls_the_purge(db, monkeypatch):

    called = []
    monkeypatch.setattr(privacy, "enqueue_purge_if_due", lambda: called.append(True))
    monkeypatch.setattr(maintenance, "schedule_maintenance", lambda after=None: None)
    maintenance.maintain_delivery.call()
    assert called == [True]


def test_owners_set_the_retention_period_of_at_least_seven_days(acme, owner):
    client = Client()
    client.force_login(owner)
    assert client.post("/t/acme/security/", {"retention_days": "3"}).status_code == 400
    assert client.post("/t/acme/security/", {"retention_days": "90"}).status_code == 302
    acme.refresh_from_db()
    assert acme.retention_days == 90
    assert client.post("/t/acme/security/", {"retention_days": ""}).status_code == 302
    acme.refresh_from_db()
    assert acme.retention_days is None
