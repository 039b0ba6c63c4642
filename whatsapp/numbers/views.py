"""The numbers pages (owners): the account's numbers, adding and removing one, and a
number's business profile."""

from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.access import access_phone_number
from whatsapp.errors import ActionError
from whatsapp.numbers import actions as numbers


@require_GET
@tenant_view(role=Role.OWNER)
def number_list(request, membership):
    tenant = membership.tenant
    context = {"tenant": tenant, "membership": membership, "workspace_numbers": tenant.phone_numbers.all()}
    try:
        context["account_numbers"] = numbers.account_numbers(tenant)
    except ActionError as error:
        context["account_error"] = str(error)
    return render(request, "whatsapp/numbers.html", context)


@require_POST
@tenant_view(role=Role.OWNER)
def add_number(request, membership):
    try:
        number = numbers.add_number(
            membership, request.POST.get("phone_number_id", ""), request.POST.get("pin", ""), request=request
        )
    except ActionError as error:
        flash.error(request, str(error))
    else:
        flash.success(
            request, f"+{number.display_phone_number} is in the workspace: its conversations show in the inbox."
        )
    return redirect("whatsapp:numbers", slug=membership.tenant.slug)


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.OWNER)
def remove_number(request, membership, number_id):
    number = access_phone_number(membership, number_id)
    if request.method == "POST":
        try:
            numbers.remove_number(membership, number, request=request)
        except ActionError as error:
            flash.error(request, str(error))
        else:
            flash.success(request, f"+{number.display_phone_number} was removed from the workspace.")
            return redirect("whatsapp:numbers", slug=membership.tenant.slug)
    context = {"tenant": membership.tenant, "membership": membership, "number": number}
    return render(request, "whatsapp/number_remove.html", context | {"facts": numbers.removal_facts(number)})


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.OWNER)
def profile(request, membership, number_id):
    number = access_phone_number(membership, number_id)
    context = {"tenant": membership.tenant, "membership": membership, "number": number, "verticals": numbers.VERTICALS}
    if request.method == "POST":
        try:
            numbers.update_business_profile(
                membership, number, request.POST, request.FILES.get("photo"), request=request
            )
        except ActionError as error:
            context |= {
                "profile": request.POST.dict(),
                "websites_text": request.POST.get("websites", ""),
                "error": error,
            }
            return render(request, "whatsapp/number_profile.html", context, status=400)
        flash.success(request, f"The WhatsApp profile of +{number.display_phone_number} is saved.")
        return redirect("whatsapp:number_profile", slug=membership.tenant.slug, number_id=number.pk)
    try:
        context["profile"] = numbers.business_profile(number)
        context["websites_text"] = "\n".join(context["profile"]["websites"])
    except ActionError as error:
        context |= {"profile": {}, "error": error}
    return render(request, "whatsapp/number_profile.html", context)
