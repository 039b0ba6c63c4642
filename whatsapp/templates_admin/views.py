"""The template pages for admins: new, edit, delete. The list is team/views.py `templates`."""

from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.access import access_template
from whatsapp.errors import ActionError
from whatsapp.templates_admin import actions
from whatsapp.templates_admin.drafts import CATEGORIES, HEADER_FORMATS, LANGUAGES, Draft, DraftError


def _form_page(request, membership, draft, template=None, errors=None, status=200):
    return render(
        request,
        "whatsapp/template_form.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "template": template,
            "values": draft.form_values(),
            "errors": errors or {},
            "categories": CATEGORIES,
            "header_formats": HEADER_FORMATS,
            "languages": LANGUAGES,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def new_template(request, membership):
    if request.method == "GET":
        return _form_page(request, membership, Draft(name="", language="en_US", category="UTILITY"))
    draft = Draft.from_form(request.POST, request.FILES)
    try:
        template = actions.submit_template(membership, draft, request=request)
    except DraftError as error:
        return _form_page(request, membership, draft, errors=error.errors, status=400)
    except ActionError as error:
        return _form_page(request, membership, draft, errors={"__all__": str(error)}, status=400)
    flash.success(request, f"Template {template.name} was submitted to Meta for review.")
    return redirect("whatsapp:templates", slug=membership.tenant.slug)


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def edit_template(request, membership, template_id):
    template = access_template(membership, template_id)
    if request.method == "GET":
        return _form_page(request, membership, Draft.from_template(template), template)
    draft = Draft.from_form(request.POST, request.FILES)
    try:
        actions.edit_template(membership, template, draft, request=request)
    except DraftError as error:
        return _form_page(request, membership, draft, template, errors=error.errors, status=400)
    except ActionError as error:
        return _form_page(request, membership, draft, template, errors={"__all__": str(error)}, status=400)
    flash.success(request, f"Template {template.name} was submitted to Meta for review again.")
    return redirect("whatsapp:templates", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def delete_template(request, membership, template_id):
    template = access_template(membership, template_id)
    try:
        actions.delete_template(membership, template, request=request)
    except ActionError as error:
        flash.error(request, f"Could not delete template {template.name}: {error}")
    else:
        flash.success(request, f"Template {template.name} ({template.language}) deleted.")
    return redirect("whatsapp:templates", slug=membership.tenant.slug)
