"""Customers' files downloaded from the Cloud API's media endpoints, through PyWA, with
cloud_api's client and error type. (Ours are uploaded and sent by api.send_message.)"""

import hashlib
import logging
import tempfile
from dataclasses import dataclass, replace

import httpx

from whatsapp.cloud.api import MEDIA_TOO_LARGE, RETRYABLE_CODES, CloudAPIError, call, client

SPOOL_BYTES = 8 * 1024 * 1024  # a larger download goes to a temporary file, not memory
CHUNK_BYTES = 64 * 1024

logger = logging.getLogger(__name__)

# Inbound media downloads


@dataclass
class DownloadedMedia:
    """An inbound file, in a temporary file (rewound), with what Meta said about it."""

    file: object
    mime_type: str
    meta_sha256: str
    meta_size: int | None
    sha256: str  # hex digest of the bytes that arrived
    size: int


class _URLExpired(Exception):
    pass


def download_media(phone_number, connection, media_id, max_bytes):
    """Ask Meta for a fresh URL of an inbound file and download it with the token. An
    expired URL (404) is replaced by a new one once, as Meta advises. Errors are
    CloudAPIError; lost answers are retryable, since reading twice is harmless."""
    with client(phone_number, connection) as wa:
        for _ in range(2):
            # The raw answer: PyWA's MediaURL needs every field, and Meta may leave one out.
            info = _read(wa.api.get_media_url, str(media_id))
            try:
                return _fetch(wa, info, max_bytes)
            except _URLExpired:
                logger.info("Media %s: the URL expired; asking for a fresh one", media_id)
    raise CloudAPIError(code=404, message="The media URL expired again at once.", retryable=True)


def _read(function, *args):
    try:
        return call(function, *args)
    except CloudAPIError as error:
        if error.outcome_unknown:
            raise replace(error, retryable=True, outcome_unknown=False)
        raise


def _fetch(wa, info, max_bytes):
    meta_size = _int_or_none(info.get("file_size"))
    if meta_size and meta_size > max_bytes:
        raise CloudAPIError(
            code=MEDIA_TOO_LARGE, message=f"The file is {meta_size} bytes, over the {max_bytes}-byte limit."
        )
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        digest, size = _stream_into(wa, info.get("url") or "", target, max_bytes)
    except httpx.HTTPError as error:
        target.close()
        raise CloudAPIError(code=0, message=f"The download was interrupted: {error}", retryable=True)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return DownloadedMedia(
        file=target,
        mime_type=info.get("mime_type") or "",
        meta_sha256=info.get("sha256") or "",
        meta_size=meta_size,
        sha256=digest,
        size=size,
    )


def _stream_into(wa, url, target, max_bytes):
    digest, size = hashlib.sha256(), 0
    with wa.api.stream_media_bytes(media_url=url) as response:
        if response.status_code == 404:
            raise _URLExpired()
        if response.status_code >= 400:
            raise _download_refused(response)
        for chunk in response.iter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise CloudAPIError(code=MEDIA_TOO_LARGE, message=f"The file is over the {max_bytes}-byte limit.")
            digest.update(chunk)
            target.write(chunk)
    return digest.hexdigest(), size


def _download_refused(response):
    response.read()
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    status = response.status_code
    code = error.get("code") if isinstance(error.get("code"), int) else status
    return CloudAPIError(
        code=code,
        message=error.get("message") or f"The download was refused (HTTP {status}).",
        details=(error.get("error_data") or {}).get("details") or "",
        retryable=code in RETRYABLE_CODES or status >= 500 or status == 429,
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
