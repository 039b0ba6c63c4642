"""Every change to a message's file goes through a function here (see actions.py for the
habit): an inbound file expected, downloaded, stored or failed, retried; an outbound file
kept; Meta's media ids remembered per content. Each publishes the message again after
commit, so a thread's placeholder turns into the file without a reload."""

import hashlib
import logging
from datetime import timedelta

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from inbox.lengths import fit
from whatsapp.cloud import api as cloud_api
from whatsapp.cloud import media as cloud_media
from whatsapp.media import actions as media_actions
from whatsapp.media import rules as media
from whatsapp.models import MediaFile, UploadedMedia
from whatsapp.realtime import events as realtime

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_ATTEMPTS = 8  # with backoff, about four minutes before an agent is asked
# Meta keeps an uploaded file for 30 days; a day less leaves room for queues and clocks.
UPLOAD_REUSE = timedelta(days=29)

# Why a download failed, told to an agent, for the errors that need more than "try again".
DOWNLOAD_EXPLANATIONS = {
    100: "WhatsApp no longer has this file (customers' files expire after 7 days). Ask the customer to send it again.",
    190: "The WhatsApp access token has expired. An owner must replace it, then retry.",
    131052: "The file is larger than WhatsApp delivers (100 MB). Ask the customer for a smaller one.",
}


class FileMismatch(Exception):
    """The bytes that arrived are not the file Meta described; another download may be fine."""

    retryable = True


class StorageFailed(FileMismatch):
    """Our storage refused the file (S3 down, disk full): worth another try later."""


def expect_inbound_file(message):
    """Record the file of a customer's media message and queue its download. Runs inside the
    transaction that stores the message, so both commit or neither does."""
    from whatsapp.media.actions import download_media

    body = message.body if isinstance(message.body, dict) else {}
    media_file = MediaFile.objects.create(
        tenant_id=message.tenant_id,
        message=message,
        meta_media_id=fit(MediaFile, "meta_media_id", str(body.get("id") or "")),
        mime_type=fit(MediaFile, "mime_type", str(body.get("mime_type") or "")),
        meta_sha256=fit(MediaFile, "meta_sha256", str(body.get("sha256") or "")),
        filename=media.inbound_filename(message.type, body),
    )
    if not media_file.meta_media_id:
        media_file.state, media_file.error = MediaFile.State.FAILED, "WhatsApp sent this message without its file."
        media_file.save(update_fields=["state", "error"])
        return media_file
    download_media.enqueue(media_file.pk)
    return media_file


def download_inbound_file(media_file_id):
    """One download attempt: a fresh URL from Meta, the bytes, their size and checksum, then
    our storage. Failures retry with backoff up to MAX_DOWNLOAD_ATTEMPTS, then fail with a
    reason. A file that is not pending (stored, failed, a duplicate job) is left alone."""
    media_file = (
        MediaFile.objects.select_related("message__conversation__phone_number", "tenant__whatsapp")
        .filter(pk=media_file_id, state=MediaFile.State.PENDING)
        .first()
    )
    if media_file is None:
        return
    attempts = _count_attempt(media_file)
    try:
        downloaded = cloud_media.download_media(
            media_file.message.conversation.phone_number,
            media_file.tenant.whatsapp,
            media_file.meta_media_id,
            media.MAX_INBOUND_BYTES,
        )
        with downloaded.file:
            _check(media_file, downloaded)
            _store(media_file, downloaded)
    except (cloud_api.CloudAPIError, FileMismatch) as error:
        _after_failure(media_file, error, attempts)
    except Exception as error:
        # Storage errors come in many types (OSError, botocore's); a file must not stay
        # pending for ever, so anything else also retries, then fails with its reason.
        logger.exception("Storing media file %s failed", media_file.pk)
        _after_failure(media_file, StorageFailed(f"The file could not be stored: {error}."), attempts)


def _after_failure(media_file, error, attempts):
    if error.retryable and attempts < MAX_DOWNLOAD_ATTEMPTS:
        logger.warning("Download of media file %s failed (%s); retrying", media_file.pk, error)
        _retry_later(media_file, attempts)
    else:
        logger.warning("Download of media file %s failed for good: %s", media_file.pk, error)
        _mark_failed(media_file, _explain(error, attempts))


def _count_attempt(media_file):
    MediaFile.objects.filter(pk=media_file.pk).update(attempts=F("attempts") + 1)
    media_file.refresh_from_db(fields=["attempts"])
    return media_file.attempts


def _check(media_file, downloaded):
    if downloaded.meta_size is not None and downloaded.meta_size != downloaded.size:
        raise FileMismatch(f"WhatsApp announced {downloaded.meta_size} bytes and {downloaded.size} arrived.")
    for advertised in (downloaded.meta_sha256, media_file.meta_sha256):
        if not media.checksum_matches(advertised, downloaded.sha256):
            raise FileMismatch("The file that arrived does not match WhatsApp's checksum.")


def _store(media_file, downloaded):
    """Save the bytes, then mark the file stored, unless another worker did first."""
    media_file.file.save(media_file.filename or "file", File(downloaded.file), save=False)
    name = media_file.file.name
    with transaction.atomic():
        locked = (
            MediaFile.objects.select_for_update(of=("self",)).select_related("message").filter(pk=media_file.pk).first()
        )
        if locked is None or locked.state != MediaFile.State.PENDING:  # None: its contact was deleted meanwhile
            transaction.on_commit(lambda: media_file.file.storage.delete(name))
            return
        locked.file.name = name
        locked.sha256, locked.size = downloaded.sha256, downloaded.size
        locked.mime_type = locked.mime_type or downloaded.mime_type
        locked.state, locked.error, locked.stored_at = MediaFile.State.STORED, "", timezone.now()
        locked.save(update_fields=["file", "sha256", "size", "mime_type", "state", "error", "stored_at"])
        realtime.message_changed(locked.message)


def _retry_later(media_file, attempts):
    from whatsapp.media.actions import download_media

    # 2, 4, 8 … seconds: a fresh URL each time (Meta's last only five minutes).
    delay = timedelta(seconds=min(2**attempts, 300))
    download_media.using(run_after=timezone.now() + delay).enqueue(media_file.pk)


def _explain(error, attempts):
    if isinstance(error, FileMismatch):
        return f"{error} ({attempts} attempts.) Retry, or ask the customer to send it again."
    explained = DOWNLOAD_EXPLANATIONS.get(error.code)
    if explained:
        return explained
    if error.retryable:
        return f"WhatsApp did not hand the file over after {attempts} attempts ({error.message}). Retry later."
    return f"WhatsApp refused the download: {error.for_agent}"


def _mark_failed(media_file, reason):
    with transaction.atomic():
        locked = MediaFile.objects.select_for_update(of=("self",)).select_related("message").get(pk=media_file.pk)
        if locked.state != MediaFile.State.PENDING:
            return
        locked.state, locked.error = MediaFile.State.FAILED, reason
        locked.save(update_fields=["state", "error"])
        realtime.message_changed(locked.message)


class RetryRefused(Exception):
    pass


def retry_download(media_file):
    """An agent asks for a failed file again: a new round of attempts starts now."""
    from whatsapp.media.actions import download_media

    with transaction.atomic():
        locked = MediaFile.objects.select_for_update(of=("self",)).select_related("message").get(pk=media_file.pk)
        if locked.state != MediaFile.State.FAILED:
            raise RetryRefused("This file is not waiting for a retry.")
        if not locked.meta_media_id:
            raise RetryRefused("WhatsApp sent no file for this message: there is nothing to download.")
        locked.state, locked.error, locked.attempts = MediaFile.State.PENDING, "", 0
        locked.save(update_fields=["state", "error", "attempts"])
        download_media.enqueue(locked.pk)
        realtime.message_changed(locked.message)
    return locked


# Outbound files


def keep_outbound_file(message, upload, checked):
    """Store an agent's file with its message (inside the message's transaction), so the
    thread shows it and the sender uploads exactly these bytes."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    media_file = MediaFile(
        tenant_id=message.tenant_id,
        message=message,
        mime_type=checked.mime_type,
        sha256=digest.hexdigest(),
        size=checked.size,
        filename=checked.filename,
        state=MediaFile.State.STORED,
        stored_at=timezone.now(),
    )
    media_file.file.save(checked.filename, upload, save=False)
    media_file.save()
    return media_file


def uploaded_media_id(message, upload):
    """Meta's media id for an outbound message's file, and whether it was reused: the id of
    the same bytes uploaded from this number within UPLOAD_REUSE, else `upload(bytes)`'s,
    remembered for next time."""
    media_file = getattr(message, "media_file", None)
    if media_file is None or not media_file.file:
        raise ValueError("This message has no file to send.")
    phone_number = message.conversation.phone_number
    key = {
        "tenant_id": message.tenant_id,
        "phone_number": phone_number,
        "sha256": media_file.sha256,
        "mime_type": media_file.mime_type,
    }
    cached = UploadedMedia.objects.filter(**key, uploaded_at__gt=timezone.now() - UPLOAD_REUSE).first()
    if cached is not None:
        return cached.meta_media_id, True
    with media_file.file.open("rb") as content:
        media_id = upload(content.read())
    _remember_upload(key, media_id)
    return media_id, False


def _remember_upload(key, media_id):
    try:
        with transaction.atomic():
            UploadedMedia.objects.update_or_create(
                **key, defaults={"meta_media_id": media_id, "uploaded_at": timezone.now()}
            )
    except IntegrityError:
        pass  # another worker remembered the same bytes at the same moment; theirs will do


def forget_uploaded_media(message):
    """Meta no longer knows the id we kept for this content: the next send uploads again."""
    media_file = message.media_file
    UploadedMedia.objects.filter(
        tenant_id=message.tenant_id,
        phone_number=message.conversation.phone_number,
        sha256=media_file.sha256,
        mime_type=media_file.mime_type,
    ).delete()


@task(queue_name="media")
def download_media(media_file_id):
    """Fetch one inbound file into our storage; retries enqueue themselves with backoff."""
    media_actions.download_inbound_file(media_file_id)
