"""The contacts pages: the list with search, one contact, the side panel's edit and block,
and CSV import and export (admins: both move many people's data at once)."""

from datetime import date

from django.contrib import messages as flash
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbox import paging
from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.access import access_contact
from whatsapp.contacts import actions as contacts
from whatsapp.contacts import consent
from whatsapp.contacts import csv_io as contact_csv
from whatsapp.errors import ActionError
from whatsapp.models import Contact
from whatsapp.search import queries as search

# Room for the multipart envelope around the file itself.
IMPORT_BODY_SLACK = 64 * 1024


def contact_page(tenant, query, before):
    """A page of contacts, newest first, matching `query` when given, and the next page's key."""
    everyone = Contact.objects.filter(tenant=tenant)
    rows = search.matching_contacts(tenant, query) if query else everyone
    return paging.older_page(rows, before, scope=everyone)


@require_GET
@tenant_view()
def contact_list(request, membership):
    query = request.GET.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    page, older = contact_page(membership.tenant, query, paging.page_key(request.GET.get("before")))
    return render(
        request,
        "whatsapp/contacts.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "contacts": page,
            "older_before": older,
            "query": query,
            "can_move_data": membership.has_role(Role.ADMIN),
        },
    )


@require_GET
@tenant_view()
def contact_detail(request, membership, contact_id):
    contact = access_contact(membership, contact_id)
    return render(
        request,
        "whatsapp/contact.html",
        {"tenant": membership.tenant, "membership": membership, "contact": contact, "next": request.path},
    )


@require_POST
@tenant_view()
def edit(request, membership, contact_id):
    contact = access_contact(membership, contact_id)
    pairs = zip(request.POST.getlist("attribute_key"), request.POST.getlist("attribute_value"))
    try:
        contact = contacts.update_contact(
            contact,
            name=request.POST.get("name", ""),
            notes=request.POST.get("notes", ""),
            attributes=list(pairs),
            version=request.POST.get("version", ""),
        )
    except contacts.ContactConflict as error:
        return _answer(request, access_contact(membership, contact_id), error, status=409)
    except ActionError as error:
        return _answer(request, contact, error, status=400)
    return _answer(request, contact)


@require_POST
@tenant_view()
def block(request, membership, contact_id):
    contact = contacts.set_blocked(access_contact(membership, contact_id), True)
    return _answer(request, contact)


@require_POST
@tenant_view()
def unblock(request, membership, contact_id):
    contact = contacts.set_blocked(access_contact(membership, contact_id), False)
    return _answer(request, contact)


@require_POST
@tenant_view()
def opt_in(request, membership, contact_id):
    contact = access_contact(membership, contact_id)
    try:
        contact = consent.record_opt_in(membership, contact, request.POST.get("source", ""), request=request)
    except ActionError as error:
        return _answer(request, contact, error, status=400)
    return _answer(request, contact)


@require_POST
@tenant_view()
def opt_out(request, membership, contact_id):
    contact = access_contact(membership, contact_id)
    consent.record_opt_out(
        contact, f"recorded by {membership.user.display_name}", membership=membership, request=request
    )
    return _answer(request, contact)


@require_GET
@tenant_view(role=Role.ADMIN)
def export(request, membership):
    response = StreamingHttpResponse(
        contact_csv.export_lines(membership.tenant_id), content_type="text/csv; charset=utf-8"
    )
    filename = f"contacts-{membership.tenant.slug}-{date.today().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def import_contacts(request, membership):
    context = {"tenant": membership.tenant, "membership": membership, "limits": contact_csv}
    if request.method == "GET":
        return render(request, "whatsapp/contacts_import.html", context)
    report = _import_upload(request, membership.tenant)
    context |= {"report": report, "errors_shown": report.errors[: contact_csv.MAX_ERRORS_SHOWN]}
    status = 413 if report.too_large else 400 if report.problem else 200
    return render(request, "whatsapp/contacts_import.html", context, status=status)


def _import_upload(request, tenant):
    # Refused before the file is looked at. Daphne has read the body by now, so a proxy in
    # front should cap request bodies too (README).
    if (_int(request.META.get("CONTENT_LENGTH")) or 0) > contact_csv.MAX_IMPORT_BYTES + IMPORT_BODY_SLACK:
        megabytes = contact_csv.MAX_IMPORT_BYTES // 2**20
        return contacts.ImportReport(
            problem=f"The file is larger than {megabytes} MB. Split it into smaller files.", too_large=True
        )
    rows, report = contact_csv.read_import(request.FILES.get("file"))
    if not report.problem:
        contacts.import_contacts(tenant, rows, report)
    return report


def _answer(request, contact, error=None, status=200):
    """The panel as JSON for the page's script; otherwise back where the form was."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if "application/json" in request.headers.get("Accept", ""):
        context = {"contact": contact, "tenant": contact.tenant, "next": next_url}
        body = {
            "contact_id": contact.pk,
            "version": contact.updated_at.isoformat(),
            "html": render_to_string("whatsapp/_contact_panel.html", context, request=request),
        }
        if error:
            body["error"] = str(error)
        return JsonResponse(body, status=status)
    if error:
        flash.error(request, str(error))
    if next_url:
        return redirect(next_url)
    return redirect("whatsapp:contact", slug=contact.tenant.slug, contact_id=contact.pk)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
