"""Files: an agent's file sent with a caption, a message's file served to members of its
tenant only, and the retry of a failed download."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_view

from . import actions, media, media_actions, realtime
from .access import access_conversation, access_media_file


@require_POST
@tenant_view()
def send_file(request, membership, conversation_id):
    """The composer's POST when a file is attached: the file, and the text as its caption.
    A file WhatsApp would refuse gets a 400 that says why."""
    conversation = access_conversation(membership, conversation_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise actions.ActionError("Choose a file to send.")
        message = actions.send_media_reply(membership, conversation, upload, caption=request.POST.get("text", ""))
    except actions.ActionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"message_id": message.pk, "status": message.status,
                             "html": realtime.message_html(message)}, status=201)
    return redirect("whatsapp:conversation", slug=membership.tenant.slug, conversation_id=conversation.pk)


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
