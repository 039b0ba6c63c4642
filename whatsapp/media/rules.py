"""Media rules: what WhatsApp accepts, where files live in storage, how they are served.

Meta's types and limits are META_FACTS.md section 5. Files are private: storage names hold
a random folder, nothing routes MEDIA_URL, and every read goes through the checked view in
media_views.py (a short-lived presigned URL on S3, the file itself on local storage).
"""

import base64
import binascii
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePath

from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.http import content_disposition_header

from whatsapp.models import display_filename

# Meta writes "MB" and "KB" without saying which; the decimal reading is the stricter one.
KB, MB = 1000, 1000 * 1000
# Meta delivers no larger inbound file (131052); the binary reading, so none is refused here.
MAX_INBOUND_BYTES = 100 * 1024 * 1024
MAX_CAPTION_CHARACTERS = 1024
STATIC_STICKER_BYTES = 100 * KB

# What WhatsApp accepts from a business: MIME type -> (message type, largest size).
OUTBOUND_TYPES = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "image/webp": ("sticker", 500 * KB),  # animated; a static sticker is 100 KB at most
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 100 * MB),
}
ACCEPTED_SUMMARY = (
    "JPEG or PNG images, MP4 or 3GPP videos, AAC, AMR, MP3, M4A or OGG audio, WebP stickers, "
    "and PDF, Word, Excel, PowerPoint or text documents"
)
NO_CAPTION_KINDS = ("audio", "sticker")

# Browsers sometimes label a file by a synonym; Meta wants the canonical name.
MIME_SYNONYMS = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "application/ogg": "audio/ogg",
    "video/ogg": "audio/ogg",
    "audio/opus": "audio/ogg",
}

# Short names of the formats, for agents: in errors and on document cards.
FORMAT_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "video/mp4": "MP4",
    "video/3gpp": "3GPP",
    "audio/aac": "AAC",
    "audio/amr": "AMR",
    "audio/mpeg": "MP3",
    "audio/mp4": "M4A",
    "audio/ogg": "OGG",
    "application/pdf": "PDF",
    "text/plain": "Text",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
}

# Types a browser may show in the page. Anything else is only ever downloaded, so a file
# claiming to be HTML or SVG can never run in the inbox's origin.
INLINE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "video/mp4",
    "video/3gpp",
    "audio/aac",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
    "audio/opus",
}


class FileRefused(Exception):
    """A file WhatsApp would not take; the message tells the agent why."""


@dataclass
class OutboundFile:
    kind: str
    mime_type: str
    filename: str
    size: int


def base_type(mime_type):
    """`audio/ogg; codecs=opus` -> `audio/ogg`."""
    return (mime_type or "").split(";")[0].strip().lower()


def check_outbound_file(upload, caption=""):
    """Check an agent's file against Meta's types and sizes, by its name, its declared type
    and its first bytes, before anything is stored or sent. Raises FileRefused."""
    filename = display_filename(upload.name)
    mime_type = _outbound_type(upload, filename)
    kind, limit = OUTBOUND_TYPES[mime_type]
    head = _head(upload)
    if not upload.size:
        raise FileRefused(f"{filename} is empty.")
    if not _looks_like(mime_type, head):
        raise FileRefused(f"The content of {filename} is not {_label(mime_type)}, whatever its name says.")
    if kind == "sticker" and not _animated_webp(head):
        limit = STATIC_STICKER_BYTES
    if upload.size > limit:
        raise FileRefused(
            f"{filename} ({upload.size:,} bytes) is larger than WhatsApp's limit for "
            f"{_label(mime_type)} files, {human_size(limit)}."
        )
    if caption and kind in NO_CAPTION_KINDS:
        raise FileRefused(f"WhatsApp shows no caption with {kind} messages: send the text as its own message.")
    if len(caption) > MAX_CAPTION_CHARACTERS:
        raise FileRefused(f"WhatsApp captions are limited to {MAX_CAPTION_CHARACTERS:,} characters.")
    return OutboundFile(kind=kind, mime_type=mime_type, filename=filename, size=upload.size)


def composer_rules():
    """What the composer checks before uploading anything (the server checks again)."""
    return {
        "types": {mime_type: {"kind": kind, "max_bytes": limit} for mime_type, (kind, limit) in OUTBOUND_TYPES.items()},
        "synonyms": MIME_SYNONYMS,
        "accepted": ACCEPTED_SUMMARY,
        "no_caption_kinds": NO_CAPTION_KINDS,
    }


def accept_attribute():
    """The file picker's `accept`: every type WhatsApp takes."""
    return ",".join(OUTBOUND_TYPES)


def _outbound_type(upload, filename):
    declared = base_type(getattr(upload, "content_type", ""))
    guessed = base_type(mimetypes.guess_type(filename)[0] or "")
    for candidate in (declared, guessed):
        candidate = MIME_SYNONYMS.get(candidate, candidate)
        if candidate in OUTBOUND_TYPES:
            return candidate
    shown = declared or guessed or "an unknown type"
    raise FileRefused(f"WhatsApp cannot send {filename} ({shown}). It accepts {ACCEPTED_SUMMARY}.")


def _head(upload, length=64):
    upload.seek(0)
    head = upload.read(length)
    upload.seek(0)
    return head


def _looks_like(mime_type, head):
    """The file's first bytes match its type (a renamed file would fail at Meta, 131053)."""
    ftyp = head[4:8] == b"ftyp"
    signatures = {
        "image/jpeg": head.startswith(b"\xff\xd8\xff"),
        "image/png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "application/pdf": head.startswith(b"%PDF-"),
        "audio/ogg": head.startswith(b"OggS"),
        "audio/amr": head.startswith(b"#!AMR"),
        "audio/mpeg": head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0),
        "audio/aac": head.startswith(b"ADIF") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF0 == 0xF0),
        "video/mp4": ftyp,
        "video/3gpp": ftyp,
        "audio/mp4": ftyp,
        "text/plain": b"\x00" not in head,
    }
    if mime_type in signatures:
        return signatures[mime_type]
    if "openxmlformats" in mime_type:
        return head.startswith(b"PK\x03\x04")  # a zip container
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # the old Office container


def _animated_webp(head):
    # An extended WebP (VP8X) says in its flags byte whether it holds an animation.
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


def _label(mime_type):
    return FORMAT_NAMES.get(mime_type, mime_type)


def human_size(size):
    for unit, factor in (("MB", MB), ("KB", KB)):
        if size >= factor:
            return f"{size / factor:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def document_label(mime_type, filename=""):
    """A short name for a document's type: PDF, Word, … or its extension."""
    label = FORMAT_NAMES.get(base_type(mime_type))
    if label:
        return label
    suffix = PurePath(filename or "").suffix.lstrip(".").upper()
    return suffix or base_type(mime_type) or "File"


def inbound_filename(kind, body):
    """A document keeps its name; other files get one from their type."""
    if kind == "document" and body.get("filename"):
        return display_filename(body["filename"])
    extension = mimetypes.guess_extension(base_type(body.get("mime_type"))) or ""
    return f"{kind}{extension}"


def checksum_matches(advertised, hex_digest):
    """Compare Meta's SHA-256, given as hex or as base64, with the digest of what arrived.
    Meta sending no checksum is not a mismatch."""
    advertised = (advertised or "").strip()
    if not advertised:
        return True
    if re.fullmatch(r"[0-9a-fA-F]{64}", advertised):
        return advertised.lower() == hex_digest
    try:
        decoded = base64.b64decode(advertised.replace("-", "+").replace("_", "/") + "==", validate=False)
    except (binascii.Error, ValueError):
        return False
    return decoded.hex() == hex_digest


# Serving


def serve(media_file, download=False):
    """The response for a stored file the caller may read: a presigned URL when the storage
    signs them (S3), else the file through this process. Images, video and audio show in the
    page; everything else is downloaded."""
    mime_type = base_type(media_file.mime_type) or "application/octet-stream"
    inline = not download and mime_type in INLINE_TYPES
    storage = media_file.file.storage
    if getattr(storage, "querystring_auth", False):
        response = HttpResponseRedirect(_presigned_url(media_file, mime_type, inline))
        # The browser may reuse the redirect while the signature is still young.
        response["Cache-Control"] = f"private, max-age={max(min(60, storage.querystring_expire // 2), 0)}"
    else:
        try:
            content = media_file.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing from storage.")
        response = FileResponse(
            content,
            as_attachment=not inline,
            filename=media_file.filename or "file",
            content_type=mime_type,
        )
        response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _presigned_url(media_file, mime_type, inline):
    disposition = content_disposition_header(not inline, media_file.filename or "file")
    return media_file.file.storage.url(
        media_file.file.name,
        parameters={"ResponseContentType": mime_type, "ResponseContentDisposition": disposition},
    )
