"""A message's file in templates, and Meta's rules for the composer's file picker."""

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils.html import json_script

from whatsapp.media import rules as media
from whatsapp.models import MediaFile

register = template.Library()


@dataclass
class ShownFile:
    file: MediaFile
    url: str
    retry_url: str

    @property
    def type_label(self):
        return media.document_label(self.file.mime_type, self.file.filename)


@register.simple_tag
def media_of(message):
    """The message's file with its checked URLs, or None for a media message from before
    files were stored."""
    media_file = getattr(message, "media_file", None)
    if media_file is None:
        return None
    names = {"slug": message.tenant.slug, "media_file_id": media_file.pk}
    return ShownFile(media_file, reverse("whatsapp:media", kwargs=names), reverse("whatsapp:media_retry", kwargs=names))


@register.simple_tag
def composer_media_rules():
    """Meta's types and sizes, for the composer to check a file before uploading it."""
    return json_script(media.composer_rules(), "media-rules")


@register.simple_tag
def media_accept():
    return media.accept_attribute()
