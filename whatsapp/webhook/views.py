"""`/webhooks/whatsapp/<slug>/` in the URLconf: Meta's verification handshake and its updates.

Under an ASGI server the webhook endpoint (asgi.py) answers this URL before Django sees the
request. Requests that do reach Django here (its test client, a WSGI server) are handed to
that same endpoint, which then stores on Django's connection, inside Django's request.
"""

from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from whatsapp.webhook import storage
from whatsapp.webhook.asgi import WebhookEndpoint

READ_CHUNK_BYTES = 64 * 1024


@csrf_exempt
def whatsapp_webhook(request, slug):
    endpoint = WebhookEndpoint(app=None, database=storage.DjangoDatabase())
    scope = {
        "method": request.method,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
            for name, value in request.headers.items()
        ],
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
    }
    answer = async_to_sync(endpoint.answer)(slug, scope, _receive_from(request))
    response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type.decode())
    for name, value in answer.headers:
        response[name.decode()] = value.decode("latin-1")
    return response


def _receive_from(request):
    """The request's body as ASGI `http.request` messages, read as the endpoint asks for them."""

    async def receive():
        chunk = request.read(READ_CHUNK_BYTES)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    return receive
