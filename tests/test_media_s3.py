"""Media in S3: moto's S3 server over real HTTP stands in for the bucket. Files land in the
bucket, stay private (an anonymous GET is refused), and members get a short-lived
presigned URL through the checked view."""

import hashlib
import os
import subprocess
import sys

import boto3
import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from tests.support.media_files import PDF, png
from tests.support.servers import BASE_DIR
from tests.support.tenants import ACME
from whatsapp.models import Conversation, MediaFile
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
BUCKET = "inbox-media-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    """A fresh private bucket, and the project's S3 settings pointed at it (as inbox/settings.py
    builds them when AWS_STORAGE_BUCKET_NAME is set)."""
    s3 = boto3.client("s3", endpoint_url=s3_server, **CREDENTIALS)
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        },
    }
    yield s3
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def photo_from_customer(bucket, webhook, fake_graph, run_tasks):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    media_id = fake_graph.add_media(png(), "image/png", PNID)
    image = {"id": media_id, "mime_type": "image/png", "sha256": hashlib.sha256(png()).hexdigest()}
    webhook.post(payloads.message(PNID, "15551234567", "image", image))
    run_tasks()
    return MediaFile.objects.get()


def test_the_default_storage_is_s3_while_configured(bucket):
    from django.core.files.storage import default_storage
    from storages.backends.s3 import S3Storage

    assert isinstance(default_storage, S3Storage)


def test_a_customers_photo_lands_in_the_bucket(photo_from_customer, bucket):
    assert photo_from_customer.state == MediaFile.State.STORED
    stored = bucket.get_object(Bucket=BUCKET, Key=photo_from_customer.file.name)
    assert stored["Body"].read() == png()
    assert photo_from_customer.sha256 == hashlib.sha256(png()).hexdigest()


def test_the_object_is_private(photo_from_customer, bucket, s3_server):
    key = photo_from_customer.file.name
    anonymous = httpx.get(f"{s3_server}/{BUCKET}/{key}")
    assert anonymous.status_code == 403
    grants = bucket.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert not [grant for grant in grants if "AllUsers" in grant["Grantee"].get("URI", "")]


def test_a_member_is_redirected_to_a_presigned_url_that_works(photo_from_customer, agent_client):
    response = agent_client.get(f"/t/acme/media/{photo_from_customer.pk}/")

    assert response.status_code == 302
    location = response["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    assert "private" in response["Cache-Control"]
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    assert fetched.content == png()
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["Content-Disposition"].startswith("inline")


def test_an_outsider_gets_404_and_no_url(photo_from_customer, outsider_client):
    for slug in ("acme", "globex"):
        response = outsider_client.get(f"/t/{slug}/media/{photo_from_customer.pk}/")
        assert response.status_code == 404
        assert "Location" not in response


def test_an_agents_file_is_kept_in_the_bucket_and_sent_by_media_id(
    bucket, agent_client, webhook, fake_graph, run_tasks
):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    webhook.post(payloads.text_message(PNID, "15551234567", "Invoice please"))
    run_tasks()
    conversation = Conversation.objects.get()
    upload = SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")
    assert agent_client.post(f"/t/acme/inbox/c/{conversation.pk}/send-file/", {"file": upload}).status_code == 302
    run_tasks()

    media_file = MediaFile.objects.get()
    assert bucket.get_object(Bucket=BUCKET, Key=media_file.file.name)["Body"].read() == PDF
    [sent] = fake_graph.sent_messages(PNID)
    assert fake_graph.media[sent["body"]["document"]["id"]]["data"] == PDF
    download = agent_client.get(f"/t/acme/media/{media_file.pk}/")
    assert 'attachment; filename="invoice.pdf"' in httpx.get(download["Location"]).headers["Content-Disposition"]


def test_the_environment_alone_configures_private_s3_storage(s3_server, bucket, tmp_path):
    """inbox/settings.py, from AWS_* variables only, in a fresh process: a saved file is
    private and its URL is presigned (signature v4)."""
    script = (
        "from django.core.files.storage import default_storage as s; from django.core.files.base import ContentFile;"
        "name = s.save('t/probe/file.txt', ContentFile(b'hello')); print(name); print(s.url(name))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "AWS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="inbox.settings",
        DEBUG="true",
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_server,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    name, url = result.stdout.split()[-2:]
    assert "X-Amz-Signature=" in url
    assert httpx.get(url).content == b"hello"
    assert httpx.get(f"{s3_server}/{BUCKET}/{name}").status_code == 403
