"""Templates: list, sync from Meta, create (Meta's creation body, submitted for review),
read one with its review status and reason, delete. Creating and deleting go through the
template actions the inbox's template pages use."""

from types import SimpleNamespace

import pydantic
from ninja import File, Form, Router, Schema, Status
from ninja.errors import ValidationError
from ninja.files import UploadedFile

from whatsapp.models import MessageTemplate
from whatsapp.team import actions as team_actions
from whatsapp.templates_admin import actions as template_actions
from whatsapp.templates_admin.drafts import MEDIA_HEADERS, Draft

from . import auth
from .common import PathId, answer, strict_json
from .idempotency import idempotent
from .messages import ERRORS
from .models import Scope
from .problems import Problem
from .schemas import TemplateCreate, TemplateOut

router = Router(tags=["templates"])

TEMPLATE_FIELDS = ("id", "meta_id", "name", "language", "status", "category", "quality_score", "components", "reason")


class TemplateList(Schema):
    data: list[TemplateOut]


class SyncOut(Schema):
    templates: int


@router.get("/templates", response={200: TemplateList, **ERRORS}, operation_id="list_templates")
def list_templates(request):
    auth.require(request, Scope.READ)
    templates = MessageTemplate.objects.filter(tenant=request.auth.tenant).order_by("name", "language")
    return {"data": [template_out(row) for row in templates]}


@router.post(
    "/templates",
    response={201: TemplateOut, **ERRORS},
    summary="Create a template and submit it for review",
    operation_id="create_template",
)
@idempotent
def create_template(request, body: TemplateCreate):
    """Meta's template creation body (`name`, `language`, `category`, `components` with an
    example for every variable). Meta has it once this answers: its `meta_id` and `status`
    (`PENDING` while Meta reviews it; follow it with `GET /templates/{id}`)."""
    auth.require(request, Scope.MANAGE)
    draft = Draft.from_template(_described(body))
    template = template_actions.submit_template(auth.actor(request), draft, request=request)
    return answer(TemplateOut, template_out(template), status=201)


@router.post(
    "/templates/with-example",
    response={201: TemplateOut, **ERRORS},
    summary="Create a template with a media header and its example file",
    operation_id="create_template_with_example",
)
@idempotent
def create_template_with_example(request, template: Form[str], header_file: File[UploadedFile]):
    """multipart/form-data: `template`, the JSON body `POST /templates` takes, whose HEADER
    has the format IMAGE, VIDEO or DOCUMENT and no example; `header_file`, the example Meta
    reviews (an image, a video, or a PDF), checked as WhatsApp checks files and uploaded to
    Meta. Needs the Meta app id on the workspace's WhatsApp connection."""
    auth.require(request, Scope.MANAGE)
    try:
        body = TemplateCreate.model_validate(strict_json(template))
    except (ValueError, RecursionError) as error:
        if not isinstance(error, pydantic.ValidationError):
            raise Problem("invalid-json", "template: not valid JSON.")
        raise ValidationError([{**item, "loc": ("form", "template", *item["loc"])} for item in error.errors()])
    draft = Draft.from_template(_described(body))
    if draft.header_format not in MEDIA_HEADERS:
        raise Problem("validation-error", "template: its HEADER needs the format IMAGE, VIDEO or DOCUMENT.")
    draft.header_handle, draft.header_file = "", header_file
    template = template_actions.submit_template(auth.actor(request), draft, request=request)
    return answer(TemplateOut, template_out(template), status=201)


@router.post("/templates/sync", response={200: SyncOut, **ERRORS}, operation_id="sync_templates")
@idempotent
def sync_templates(request):
    """Fetch the account's templates from Meta now (the inbox also does so hourly)."""
    auth.require(request, Scope.MANAGE)
    return answer(SyncOut, {"templates": team_actions.sync_templates(request.auth.tenant)})


@router.get("/templates/{int:template_id}", response={200: TemplateOut, **ERRORS}, operation_id="read_template")
def read_template(request, template_id: PathId):
    """The template with its review `status` (PENDING, APPROVED, REJECTED, PAUSED, DISABLED)
    and, when Meta rejected or paused it, its `reason`."""
    auth.require(request, Scope.READ)
    return template_out(_template(request, template_id))


@router.delete("/templates/{int:template_id}", response={204: None, **ERRORS}, operation_id="delete_template")
def delete_template(request, template_id: PathId):
    """Delete the template (this language) at Meta and here."""
    auth.require(request, Scope.MANAGE)
    template_actions.delete_template(auth.actor(request), _template(request, template_id), request=request)
    return Status(204, None)


def _template(request, template_id):
    template = MessageTemplate.objects.filter(pk=template_id, tenant=request.auth.tenant).first()
    if template is None:
        raise Problem("not-found", "No such template.")
    return template


def _described(body):
    """A template as Meta's creation body describes it, for the template editor's Draft."""
    return SimpleNamespace(
        name=body.name,
        language=body.language,
        category=body.category,
        components=[component.model_dump(exclude_none=True) for component in body.components],
    )


def template_out(template):
    return {field: getattr(template, field) for field in TEMPLATE_FIELDS}
