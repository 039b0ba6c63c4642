"""Files: an agent's file sent with a caption, a message's file served to members of its
tenant only, and the retry of a failed download."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_view
from whatsapp.access import access_media_file
from whatsapp.media import actions as media_actions
from whatsapp.media import rules as media
from whatsapp.realtime import events as realtime


@require_GET
@tenant_view()
def serve_file(request, membership, media_file_id):
    """The stored file: a presigned redirect on S3, the bytes on local storage. Outsiders
    get the same 404 as for a file that does not exist."""
    media_file = access_media_file(membership, media_file_id)
    if media_file.state != media_file.State.STORED or not media_file.file:
        raise Http404("This file is not stored yet.")
    return media.serve(media_file, download="download" in request.GET)


@require_POST
@tenant_view()
def retry_download(request, membership, media_file_id):
    media_file = access_media_file(membership, media_file_id)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        media_file = media_actions.retry_download(media_file)
    except media_actions.RetryRefused as error:
        return JsonResponse({"error": str(error)}, status=409)
    if wants_json:
        return JsonResponse({"state": media_file.state, "html": realtime.message_html(media_file.message)}, status=202)
    conversation_id = media_file.message.conversation_id
    return redirect("whatsapp:conversation", slug=membership.tenant.slug, conversation_id=conversation_id)
