"""A contact's data on request: everything as a ZIP, or erased (admins only)."""

from django import forms
from django.contrib import messages as flash
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.access import access_contact
from whatsapp.contacts import privacy


@require_GET
@tenant_view(role=Role.ADMIN)
def contact_export(request, membership, contact_id):
    contact = access_contact(membership, contact_id)
    archive = privacy.export_contact(contact, actor=request.user, request=request)
    response = FileResponse(
        archive, as_attachment=True, filename=f"contact-{contact.pk}.zip", content_type="application/zip"
    )
    response["Cache-Control"] = "no-store"
    return response


class ConfirmDeletionForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="I understand that this cannot be undone.",
        error_messages={"required": "Tick the box to confirm the deletion."},
    )


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def contact_delete(request, membership, contact_id):
    """GET asks for confirmation (with what will go); POST with the box ticked erases."""
    contact = access_contact(membership, contact_id)
    form = ConfirmDeletionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        counts = privacy.delete_contact(contact, actor=request.user, request=request)
        flash.success(
            request,
            f"The contact and their {counts['messages']} message(s) and {counts['files']} file(s) were deleted.",
        )
        return redirect("whatsapp:inbox", slug=membership.tenant.slug)
    return render(
        request,
        "whatsapp/contact_delete.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "contact": contact,
            "form": form,
            "summary": privacy.contact_summary(contact),
        },
        status=400 if request.method == "POST" else 200,
    )
