"""Contacts: create, read, update, delete with their data (as the privacy tools do), search,
CSV import as a job with progress, export."""

from django.http import FileResponse, Http404, StreamingHttpResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from whatsapp.access import access_contact
from whatsapp.contacts import actions as contact_actions
from whatsapp.contacts import consent, csv_io, privacy
from whatsapp.contacts.views import contact_page
from whatsapp.models import Contact
from whatsapp.search import queries as search

from . import auth, imports
from .common import PathId, answer, cursor, page
from .conversations import contact_out
from .idempotency import idempotent
from .messages import ERRORS
from .models import ContactImport, Scope
from .problems import Problem
from .schemas import ConsentChange, ContactCreate, ContactOut, ContactPage, ContactUpdate, ImportOut

router = Router(tags=["contacts"])


class ContactSearch(Schema):
    q: str = ""
    cursor: str | None = None


@router.get(
    "/contacts", response={200: ContactPage, **ERRORS}, summary="List or search contacts", operation_id="list_contacts"
)
def list_contacts(request, query: Query[ContactSearch]):
    """Newest first; `q` searches names, numbers and notes as the inbox's search does."""
    auth.require(request, Scope.READ)
    terms = query.q.strip()[: search.MAX_QUERY_LENGTH]
    rows, next_key = contact_page(request.auth.tenant, terms, cursor(query.cursor))
    return page([contact_out(row) for row in rows], next_key)


@router.post(
    "/contacts", response={201: ContactOut, **ERRORS}, summary="Create a contact", operation_id="create_contact"
)
@idempotent
def create_contact(request, body: ContactCreate):
    auth.require(request, Scope.MANAGE)
    tenant = request.auth.tenant
    wa_id = csv_io.wa_id_from(body.wa_id)
    if not wa_id:
        raise Problem("validation-error", "wa_id: give the contact's phone number.")
    if Contact.objects.filter(tenant=tenant, wa_id=wa_id).exists():
        raise Problem("conflict", "A contact with this number exists already.")
    row = contact_actions.ImportRow(line=1, wa_id=wa_id)
    contact_actions.import_contacts(tenant, [row], contact_actions.ImportReport())
    contact = Contact.objects.get(tenant=tenant, wa_id=wa_id)
    contact = contact_actions.update_contact(
        contact, name=body.name, notes=body.notes, attributes=list(body.attributes.items())
    )
    return answer(ContactOut, contact_out(contact), status=201)


@router.get(
    "/contacts/export",
    summary="Export every contact as CSV",
    response={200: str, **ERRORS},
    operation_id="export_contacts",
)
def export_contacts(request):
    auth.require(request, Scope.READ)
    response = StreamingHttpResponse(
        csv_io.export_lines(request.auth.tenant_id), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


@router.post(
    "/contacts/imports",
    response={202: ImportOut, **ERRORS},
    summary="Import contacts from CSV",
    operation_id="import_contacts",
)
@idempotent
def import_contacts(request, file: File[UploadedFile]):
    """Columns as the inbox's import page takes them (wa_id, name, notes, custom fields). The
    import runs as a job: follow it at `GET /contacts/imports/{id}`."""
    auth.require(request, Scope.MANAGE)
    if file.size > csv_io.MAX_IMPORT_BYTES:
        raise Problem("body-too-large", f"The file is larger than {csv_io.MAX_IMPORT_BYTES // 2**20} MB.")
    job = imports.queue_import(request.auth, file.read())
    return answer(ImportOut, import_out(job), status=202)


@router.get("/contacts/imports/{int:import_id}", response={200: ImportOut, **ERRORS}, operation_id="read_import")
def read_import(request, import_id: PathId):
    auth.require(request, Scope.READ)
    job = ContactImport.objects.filter(pk=import_id, tenant=request.auth.tenant).first()
    if job is None:
        raise Http404("No such import.")
    return import_out(job)


@router.get("/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS}, operation_id="read_contact")
def read_contact(request, contact_id: PathId):
    auth.require(request, Scope.READ)
    return contact_out(access_contact(auth.actor(request), contact_id))


@router.patch("/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS}, operation_id="update_contact")
def update_contact(request, contact_id: PathId, body: ContactUpdate):
    """Change the fields given; the others stay. `attributes` replaces the custom fields."""
    auth.require(request, Scope.MANAGE)
    contact = access_contact(auth.actor(request), contact_id)
    if body.name is not None or body.notes is not None or body.attributes is not None:
        contact = contact_actions.update_contact(
            contact,
            name=contact.name if body.name is None else body.name,
            notes=contact.notes if body.notes is None else body.notes,
            attributes=list((contact.attributes if body.attributes is None else body.attributes).items()),
        )
    if body.blocked is not None:
        contact = contact_actions.set_blocked(contact, body.blocked)
    return contact_out(contact)


@router.delete("/contacts/{int:contact_id}", response={204: None, **ERRORS}, operation_id="delete_contact")
def delete_contact(request, contact_id: PathId):
    """Erase the contact with their conversations, messages, files and statuses."""
    auth.require(request, Scope.MANAGE)
    actor = auth.actor(request)
    privacy.delete_contact(access_contact(actor, contact_id), actor=actor)
    return Status(204, None)


@router.post(
    "/contacts/{int:contact_id}/consent",
    response={200: ContactOut, **ERRORS},
    summary="Record marketing consent",
    operation_id="record_consent",
)
@idempotent
def record_consent(request, contact_id: PathId, body: ConsentChange):
    """`opt_in` records that the customer agreed to marketing messages and where (`source`,
    required); it clears an earlier opt-out. `opt_out` records that they stopped them (marketing
    templates are then refused for them). The contact's `marketing_*` fields say what is kept."""
    auth.require(request, Scope.MANAGE)
    actor = auth.actor(request)
    contact = access_contact(actor, contact_id)
    if body.marketing == "opt_in":
        contact = consent.record_opt_in(actor, contact, body.source, request=request)
    else:
        source = " ".join(body.source.split()) or f"recorded by {actor.audit_name}"
        consent.record_opt_out(contact, source, membership=actor, request=request)
    return answer(ContactOut, contact_out(contact))


@router.get(
    "/contacts/{int:contact_id}/export",
    response={200: bytes, **ERRORS},
    summary="Everything about a contact",
    operation_id="export_contact",
)
def export_contact(request, contact_id: PathId):
    """A ZIP: contact.json (the contact, conversations, messages, statuses, notes) and files."""
    auth.require(request, Scope.READ)
    actor = auth.actor(request)
    archive = privacy.export_contact(access_contact(actor, contact_id), actor=actor)
    return FileResponse(
        archive, as_attachment=True, filename=f"contact-{contact_id}.zip", content_type="application/zip"
    )


def import_out(job):
    return {
        field: getattr(job, field)
        for field in ("id", "state", "rows", "processed", "created", "updated", "unchanged", "errors", "problem")
    }
