"""Templates (list, sync), media (upload to Meta, download a stored file) and business
numbers (list, health). Creating and deleting templates and managing numbers join later."""

from django.http import FileResponse, Http404
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from dashboard import health
from whatsapp.cloud import api as cloud_api
from whatsapp.media import rules as media_rules
from whatsapp.models import Connection, MediaFile, MessageTemplate, PhoneNumber
from whatsapp.team import actions as team_actions

from . import auth
from .common import PathId, answer
from .idempotency import idempotent
from .messages import ERRORS, _sending_number
from .models import Scope
from .problems import Problem
from .schemas import MediaOut, NumberOut, TemplateOut

router = Router()

TEMPLATE_FIELDS = ("id", "meta_id", "name", "language", "status", "category", "quality_score", "components")
NUMBER_FIELDS = ("phone_number_id", "display_phone_number", "verified_name", "quality_rating", "messaging_limit")


class TemplateList(Schema):
    data: list[TemplateOut]


class SyncOut(Schema):
    templates: int


class NumberList(Schema):
    data: list[NumberOut]


@router.get("/templates", response={200: TemplateList, **ERRORS}, tags=["templates"], operation_id="list_templates")
def list_templates(request):
    auth.require(request, Scope.READ)
    templates = MessageTemplate.objects.filter(tenant=request.auth.tenant).order_by("name", "language")
    return {"data": [{field: getattr(row, field) for field in TEMPLATE_FIELDS} for row in templates]}


@router.post("/templates/sync", response={200: SyncOut, **ERRORS}, tags=["templates"], operation_id="sync_templates")
@idempotent
def sync_templates(request):
    """Fetch the account's templates from Meta now (the inbox also does so hourly)."""
    auth.require(request, Scope.MANAGE)
    return answer(SyncOut, {"templates": team_actions.sync_templates(request.auth.tenant)})


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


@router.get("/numbers", response={200: NumberList, **ERRORS}, tags=["numbers"], operation_id="list_numbers")
def list_numbers(request):
    auth.require(request, Scope.READ)
    numbers = PhoneNumber.objects.filter(tenant=request.auth.tenant).order_by("pk")
    return {"data": [{field: getattr(number, field) for field in NUMBER_FIELDS} for number in numbers]}


@router.post("/numbers/health", response={200: NumberList, **ERRORS}, tags=["numbers"], operation_id="check_numbers")
@idempotent
def check_numbers(request):
    """Ask Meta now for each number's quality rating, messaging limit and name, and keep them."""
    auth.require(request, Scope.READ)
    try:
        health.check_numbers(request.auth.tenant)
    except health.CheckFailed as error:
        raise Problem("meta-error", str(error))
    numbers = PhoneNumber.objects.filter(tenant=request.auth.tenant).order_by("pk")
    return answer(NumberList, {"data": [{field: getattr(n, field) for field in NUMBER_FIELDS} for n in numbers]})
