"""/simulator/: be the customer. Demo mode only (see inbox/urls.py).

Sending is an async view: it posts a signed webhook to this same server, and under ASGI
Django runs sync views on one shared thread, which a sync view here would hold."""

import httpx
from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import Connection, Message
from whatsapp.simulator import payloads

from .demo import DEMO_CUSTOMER


def _phone_numbers():
    return list(Connection.objects.select_related("tenant").prefetch_related("tenant__phone_numbers"))


@require_GET
def simulator(request):
    # The simulator is only routed in demo mode, for anyone: it is the customer's phone.
    connections = _phone_numbers()
    numbers = [(c.tenant, number) for c in connections for number in c.tenant.phone_numbers.all()]
    wa_id, name = DEMO_CUSTOMER
    return render(
        request, "simulator/simulator.html", {"numbers": numbers, "default_wa_id": wa_id, "default_name": name}
    )


@require_GET
def thread(request):
    """What the customer's phone shows: both sides of the chat, with our delivery state."""
    # Reactions, edits and deletions show on the message they change (message.reactions).
    messages = (
        Message.objects.filter(
            conversation__phone_number__phone_number_id=request.GET.get("phone_number_id", ""),
            conversation__contact__wa_id=request.GET.get("wa_id", ""),
        )
        .exclude(type__in=FOLLOWUP_TYPES)
        .order_by("-timestamp", "-pk")[:50]
    )
    return render(request, "simulator/_thread.html", {"thread_messages": reversed(list(messages))})


@csrf_exempt
@require_POST
async def send(request):
    phone_number_id = request.POST.get("phone_number_id", "")
    wa_id = "".join(ch for ch in request.POST.get("wa_id", "") if ch.isdigit())
    text = request.POST.get("text", "").strip()
    if not (phone_number_id and wa_id and text):
        return JsonResponse({"error": "Choose a number, a customer phone and write something."}, status=400)
    connection = await sync_to_async(
        lambda: (
            Connection.objects.select_related("tenant")
            .filter(tenant__phone_numbers__phone_number_id=phone_number_id)
            .first()
        )
    )()
    if connection is None:
        return JsonResponse({"error": "Unknown business number."}, status=400)
    payload = payloads.text_message(phone_number_id, wa_id, text, name=request.POST.get("name", "") or "Customer")
    body = payloads.encode(payload)
    url = request.build_absolute_uri(reverse("whatsapp_webhook", kwargs={"slug": connection.tenant.slug}))
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": payloads.sign(body, connection.app_secret),
            },
        )
    return JsonResponse({"webhook_status": response.status_code}, status=200 if response.status_code == 200 else 502)
