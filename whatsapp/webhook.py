"""`/webhooks/whatsapp/<slug>/`: Meta's verification handshake and its updates."""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import ingest
from .access import connection_for_webhook
from .models import WebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# An unsigned or wrongly signed body is kept for the log, cut to this size.
REJECTED_BODY_LIMIT = 16 * 1024


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
    signature = ingest.check_signature(connection.app_secret, body, request.headers.get(SIGNATURE_HEADER))
    if signature != WebhookEvent.Signature.VALID:
        logger.warning("Webhook for %s rejected: signature %s", tenant.slug, signature)
        ingest.store_event(tenant, body[:REJECTED_BODY_LIMIT], signature)
        if signature == WebhookEvent.Signature.MISSING:
            return _error(401, f"Missing {SIGNATURE_HEADER} header.")
        return _error(403, f"{SIGNATURE_HEADER} does not match the body.")

    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        logger.warning("Webhook for %s: malformed JSON (%s)", tenant.slug, error)
        ingest.store_event(tenant, body, signature, error=f"Malformed JSON: {error}")
        return _error(400, f"Malformed JSON: {error}")

    try:
        ingest.store_event(tenant, body, signature, payload)
    except DatabaseError:
        # Not stored, so not acknowledged: Meta will send it again.
        logger.exception("Webhook for %s could not be stored", tenant.slug)
        return _error(500, "Could not store the update; please retry.")
    return HttpResponse("ok", content_type="text/plain")
