"""The template form's data: each approved template's parts and fields (for the live
preview and the inputs, labelled by the template's own parameter names), and the files of
the workspace a media header can reuse."""

from django import template
from django.urls import reverse
from django.utils.html import json_script

from whatsapp.media import rules as media
from whatsapp.models import MediaFile
from whatsapp.sending import template_fields

register = template.Library()

HEADER_FILES_SHOWN = 50


@register.simple_tag
def template_form_data(templates, tenant):
    shapes = {}
    for item in templates:
        shapes[str(item.pk)] = {
            "name": item.name,
            "language": item.language,
            "category": item.category.lower(),
            **template_fields.shape_of(item).preview(),
        }
    return json_script({"templates": shapes, "files": _header_files(tenant)}, "template-form-data")


def _header_files(tenant):
    """The newest stored files WhatsApp takes as a template header, by kind."""
    sendable = [mime for mime, (kind, _) in media.OUTBOUND_TYPES.items() if kind in ("image", "video", "document")]
    files = (
        MediaFile.objects.filter(tenant=tenant, state=MediaFile.State.STORED, mime_type__in=sendable)
        .exclude(file="")
        .order_by("-pk")[:HEADER_FILES_SHOWN]
    )
    return [
        {
            "id": item.pk,
            "kind": media.OUTBOUND_TYPES[item.mime_type][0],
            "name": item.filename or f"File {item.pk}",
            "url": reverse("whatsapp:media", kwargs={"slug": tenant.slug, "media_file_id": item.pk}),
        }
        for item in files
    ]
