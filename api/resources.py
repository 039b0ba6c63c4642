"""Media: upload a file to Meta, download a file the inbox keeps."""

from django.http import FileResponse, Http404
from ninja import File, Form, Router
from ninja.files import UploadedFile

from whatsapp.cloud import api as cloud_api
from whatsapp.media import rules as media_rules
from whatsapp.models import Connection, MediaFile

from . import auth
from .common import PathId, answer
from .idempotency import idempotent
from .messages import ERRORS, _sending_number
from .models import Scope
from .problems import Problem
from .schemas import MediaOut

router = Router()


@router.post("/media", response={201: MediaOut, **ERRORS}, tags=["media"], operation_id="upload_media")
@idempotent
def upload_media(request, file: File[UploadedFile], sender: Form[str | None] = None):
    """Upload a file to WhatsApp (checked against Meta's types and sizes first); send it with
    `{"type": "image", "image": {"id": …}}`. `sender`: the number it is for (its id or E.164),
    optional with one number."""
    auth.require(request, Scope.SEND)
    try:
        checked = media_rules.check_outbound_file(file)
    except media_rules.FileRefused as error:
        raise Problem("validation-error", str(error))
    tenant = request.auth.tenant
    number = _sending_number(tenant, sender)
    connection = Connection.objects.get(tenant=tenant)
    file.seek(0)
    media_id = cloud_api.upload_media(number, connection, file.read(), checked.mime_type, checked.filename)
    return answer(MediaOut, {"id": media_id, "mime_type": checked.mime_type}, status=201)


@router.get(
    "/media/{int:media_file_id}", response={200: bytes, **ERRORS}, tags=["media"], operation_id="download_media"
)
def download_media(request, media_file_id: PathId):
    """A file the inbox keeps (a message's `media_file_id`): the customer's, or one sent."""
    auth.require(request, Scope.READ)
    media_file = MediaFile.objects.filter(pk=media_file_id, tenant=request.auth.tenant).first()
    if media_file is None:
        raise Http404("No such file.")
    if media_file.state != MediaFile.State.STORED or not media_file.file:
        raise Problem("conflict", f"The file is not stored (yet): {media_file.get_state_display().lower()}.")
    return FileResponse(
        media_file.file.open("rb"),
        as_attachment=True,
        filename=media_file.filename or f"file-{media_file.pk}",
        content_type=media_file.mime_type or "application/octet-stream",
    )
