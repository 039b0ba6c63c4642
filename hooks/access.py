"""Reaching a workspace's endpoints and deliveries: missing and not yours are the same 404."""

from django.http import Http404

from .models import Delivery, Endpoint


def access_endpoint(membership, endpoint_id):
    try:
        return Endpoint.objects.get(tenant=membership.tenant, pk=endpoint_id)
    except Endpoint.DoesNotExist:
        raise Http404("No such endpoint.")


def access_delivery(endpoint, delivery_id):
    try:
        return Delivery.objects.select_related("event", "endpoint").get(endpoint=endpoint, pk=delivery_id)
    except Delivery.DoesNotExist:
        raise Http404("No such delivery.")
