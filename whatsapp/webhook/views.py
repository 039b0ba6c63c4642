"""`/webhooks/whatsapp/<slug>/`: Meta's verification handshake and its updates."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from whatsapp.access import connection_for_webhook
from whatsapp.webhook import ingest

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def _error(status, reason):
    return JsonResponse({"error": reason}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request, slug):
    connection = connection_for_webhook(slug)
    if request.method == "GET":
        body, status = ingest.answer_handshake(
            connection,
            mode=request.GET.get("hub.mode"),
            verify_token=request.GET.get("hub.verify_token"),
            challenge=request.GET.get("hub.challenge"),
        )
        return HttpResponse(body or "", status=status, content_type="text/plain")
    return _receive(request, connection)


def _receive(request, connection):
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "Bad Content-Length header.")
    if declared > settings.WEBHOOK_MAX_BODY_BYTES:
        return _error(413, f"Body over {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    try:
        # Never more than the limit in memory, even when no Content-Length was declared.
        body = request.read(settings.WEBHOOK_MAX_BODY_BYTES + 1)
    except RequestDataTooBig:
        return _error(413, f"Body over {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return _error(413, f"Body over {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")

    tenant = connection.tenant
    received = ingest.Received.read(connection.app_secret, body, request.headers.get(SIGNATURE_HEADER))
    status, reason = received.answer
    if status != 200:
        logger.warning("Webhook for %s not processed: %s", tenant.slug, reason)
    try:
        ingest.keep(tenant, body, received)
    except DatabaseError:
        # Not stored, so not acknowledged: Meta will send it again.
        logger.exception("Webhook for %s could not be stored", tenant.slug)
        return _error(500, "Could not store the update; please retry.")
    if status != 200:
        return _error(status, reason)
    return HttpResponse("ok", content_type="text/plain")
