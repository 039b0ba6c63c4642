"""The webhooks pages, for admins: endpoints, their delivery logs, and the buttons. Each
write calls one action (actions.py)."""

from datetime import datetime

from django import forms
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbox import paging
from tenants.access import tenant_view
from tenants.models import Role

from . import actions
from . import event_types as types
from .access import access_delivery, access_endpoint
from .models import Delivery, Endpoint


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", max_length=actions.URL_MAX, widget=forms.URLInput())
    description = forms.CharField(max_length=actions.DESCRIPTION_MAX, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=types.CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


def _context(membership, **more):
    return {"tenant": membership.tenant, "membership": membership, **more}


@require_GET
@tenant_view(role=Role.ADMIN)
def endpoints(request, membership):
    rows = Endpoint.objects.filter(tenant=membership.tenant)
    return render(request, "hooks/endpoints.html", _context(membership, endpoints=rows))


def _save(request, membership, endpoint=None):
    initial = (
        {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
        if endpoint
        else None
    )
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if endpoint is None:
                endpoint = actions.create_endpoint(membership, **form.cleaned_data, request=request)
                flash.success(request, "Endpoint added. Its signing secret is below.")
            else:
                actions.update_endpoint(membership, endpoint, **form.cleaned_data, request=request)
                flash.success(request, "Endpoint saved.")
            return redirect("hooks:endpoint", slug=membership.tenant.slug, endpoint_id=endpoint.pk)
        except actions.ActionError as error:
            form.add_error(None, str(error))
    return render(
        request,
        "hooks/endpoint_form.html",
        _context(membership, form=form, endpoint=endpoint),
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def create(request, membership):
    return _save(request, membership)


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def edit(request, membership, endpoint_id):
    return _save(request, membership, access_endpoint(membership, endpoint_id))


@require_GET
@tenant_view(role=Role.ADMIN)
def endpoint(request, membership, endpoint_id):
    endpoint = access_endpoint(membership, endpoint_id)
    deliveries = Delivery.objects.filter(endpoint=endpoint)
    if request.GET.get("status") in Delivery.Status.values:
        deliveries = deliveries.filter(status=request.GET["status"])
    page = paging.key_page(
        deliveries.select_related("event"), request.GET, scope=Delivery.objects.filter(endpoint=endpoint), by="pk"
    )
    return render(
        request,
        "hooks/endpoint.html",
        _context(
            membership,
            endpoint=endpoint,
            deliveries=page.pop("rows"),
            **page,
            statuses=Delivery.Status.choices,
            event_labels=dict(types.CHOICES),
            now=timezone.now(),
        ),
    )


@require_GET
@tenant_view(role=Role.ADMIN)
def delivery(request, membership, endpoint_id, delivery_id):
    endpoint = access_endpoint(membership, endpoint_id)
    delivery = access_delivery(endpoint, delivery_id)
    return render(request, "hooks/delivery.html", _context(membership, endpoint=endpoint, delivery=delivery))


def _button(request, membership, endpoint_id, act, done):
    """A POST button: run `act(endpoint)`, say `done` (or the error), back to the endpoint."""
    endpoint = access_endpoint(membership, endpoint_id)
    try:
        result = act(endpoint)
        flash.success(request, done(result) if callable(done) else done)
    except actions.ActionError as error:
        flash.error(request, str(error))
    return redirect("hooks:endpoint", slug=membership.tenant.slug, endpoint_id=endpoint.pk)


@require_POST
@tenant_view(role=Role.ADMIN)
def rotate(request, membership, endpoint_id):
    return _button(
        request,
        membership,
        endpoint_id,
        lambda endpoint: actions.rotate_secret(membership, endpoint, request=request),
        "New secret made. The old one also signs for the overlap period shown below.",
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def enable(request, membership, endpoint_id):
    return _button(
        request,
        membership,
        endpoint_id,
        lambda endpoint: actions.set_enabled(membership, endpoint, True, request=request),
        "Endpoint enabled.",
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def disable(request, membership, endpoint_id):
    return _button(
        request,
        membership,
        endpoint_id,
        lambda endpoint: actions.set_enabled(membership, endpoint, False, request=request),
        "Endpoint disabled: it gets no events until it is enabled again.",
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def delete(request, membership, endpoint_id):
    endpoint = access_endpoint(membership, endpoint_id)
    actions.delete_endpoint(membership, endpoint, request=request)
    flash.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("hooks:endpoints", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def send_test(request, membership, endpoint_id):
    return _button(
        request,
        membership,
        endpoint_id,
        lambda endpoint: actions.send_test_event(membership, endpoint, request=request),
        lambda event: f"Test event {event.public_id} queued; its delivery shows below.",
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def redeliver(request, membership, endpoint_id, delivery_id):
    def act(endpoint):
        return actions.redeliver(membership, access_delivery(endpoint, delivery_id), request=request)

    return _button(request, membership, endpoint_id, act, "The event will be sent again.")


def _since(value):
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        raise actions.ActionError("Give the time as shown in the field, e.g. 2026-01-31T09:00.")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@require_POST
@tenant_view(role=Role.ADMIN)
def redeliver_failed(request, membership, endpoint_id):
    def act(endpoint):
        return actions.redeliver_failed_since(membership, endpoint, _since(request.POST.get("since")), request=request)

    return _button(request, membership, endpoint_id, act, lambda count: f"{count} failed event(s) will be sent again.")
