"""/simulator/: be the customer. Demo mode only (see inbox/urls.py).

The customer's phone talks to WhatsApp, here the fake Graph API at WHATSAPP_GRAPH_URL: what
the customer sends goes through it (it keeps the customer's files for the inbox to download,
and delivers the signed webhook), and it tells the phone which messages the business has read
and whether the business is typing. The views are async: under ASGI Django runs sync views on
one shared thread, which a call to the fake would hold."""

import base64
import mimetypes

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import Connection, Message, PhoneNumber

from .demo import DEMO_CONTACT_CARD, DEMO_CUSTOMER, DEMO_PLACE

MAX_FILE_BYTES = 16 * 1024 * 1024  # what the simulator's phone sends; WhatsApp's audio and video limit
REACTIONS = ("👍", "❤️", "😂", "😮", "🙏")


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


def _thread_messages(phone_number_id, wa_id):
    # Reactions, edits and deletions show on the message they change (message.reactions).
    messages = (
        Message.objects.filter(
            conversation__phone_number__phone_number_id=phone_number_id, conversation__contact__wa_id=wa_id
        )
        .exclude(type__in=FOLLOWUP_TYPES)
        .order_by("-timestamp", "-pk")[:50]
    )
    return list(reversed(list(messages)))


async def _fake(method, path, **kwargs):
    async with httpx.AsyncClient(base_url=settings.WHATSAPP_GRAPH_URL, timeout=10) as client:
        return await client.request(method, path, **kwargs)


@require_GET
async def thread(request):
    """What the customer's phone shows: both sides of the chat, the business's read receipts
    on the customer's messages, and "typing…" while the business writes."""
    phone_number_id = request.GET.get("phone_number_id", "")
    wa_id = "".join(ch for ch in request.GET.get("wa_id", "") if ch.isdigit())
    messages = await sync_to_async(_thread_messages)(phone_number_id, wa_id)
    try:
        answer = await _fake("GET", "/_fake/customer", params={"phone_number_id": phone_number_id, "wa_id": wa_id})
        side = answer.json() if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        side = {}
    read = set(side.get("read", []))
    html = await sync_to_async(render_to_string)(
        "simulator/_thread.html",
        {"thread_messages": messages, "read": read, "typing": side.get("typing", False), "reactions": REACTIONS},
        request,
    )
    return JsonResponse({"html": html, "typing": bool(side.get("typing"))})


class Refused(Exception):
    """What the customer asked for cannot be sent; the message says why."""


def _file_fields(upload):
    if upload.size > MAX_FILE_BYTES:
        raise Refused(f"{upload.name} is larger than the simulator sends ({MAX_FILE_BYTES // 1024 // 1024} MB).")
    if not upload.size:
        raise Refused(f"{upload.name} is empty.")
    mime_type = (upload.content_type or mimetypes.guess_type(upload.name)[0] or "").split(";")[0]
    kind = {"image": "image", "audio": "audio", "video": "video"}.get(mime_type.split("/")[0], "document")
    if mime_type in ("image/svg+xml", "image/gif"):
        kind = "document"  # WhatsApp sends these as files, not as photos
    fields = {"type": kind, "mime_type": mime_type or "application/octet-stream"}
    fields["data"] = base64.b64encode(upload.read()).decode()
    if kind == "audio":
        fields["voice"] = True  # a voice note recorded in the chat
    if kind == "document":
        fields["filename"] = upload.name
    return fields


def _number(text, name, low, high):
    try:
        value = float(text)
    except ValueError:
        raise Refused(f"The {name} must be a number.")
    if not low <= value <= high:
        raise Refused(f"The {name} must be between {low} and {high}.")
    return value


def _message_fields(post, files):
    """The fake Graph API's fields for the customer's message, from the phone's form."""
    kind = post.get("kind", "text")
    text = post.get("text", "").strip()
    if kind == "text":
        if files.get("file"):
            fields = _file_fields(files["file"])
            if text and fields["type"] in ("image", "video", "document"):
                fields["caption"] = text
            return fields
        if not text:
            raise Refused("Write something, or attach a file.")
        return {"type": "text", "text": text}
    if kind == "location":
        # The phone shares the demo's place unless the form names another (place_latitude, …).
        place = {key: post.get(f"place_{key}", "").strip() or value for key, value in DEMO_PLACE.items()}
        return {
            "type": "location",
            "latitude": _number(place["latitude"], "latitude", -90, 90),
            "longitude": _number(place["longitude"], "longitude", -180, 180),
            "place_name": place["name"],
            "address": place["address"],
        }
    if kind == "contacts":
        return {"type": "contacts", "cards": [DEMO_CONTACT_CARD]}
    if kind == "reaction":
        if not post.get("wamid") or post.get("emoji", "") not in ("", *REACTIONS):
            raise Refused("Choose a message and a reaction.")
        return {"type": "reaction", "target_wamid": post["wamid"], "emoji": post.get("emoji", "")}
    if kind == "reply":
        if not (post.get("wamid") and post.get("choice")):
            raise Refused("Choose a button or a row of the business's message.")
        return {"type": "reply", "wamid": post["wamid"], "choice": post["choice"]}
    raise Refused(f"The simulator cannot send {kind!r}.")


def _known_number(phone_number_id):
    return PhoneNumber.objects.filter(phone_number_id=phone_number_id).exists()


@csrf_exempt
@require_POST
async def send(request):
    phone_number_id = request.POST.get("phone_number_id", "")
    wa_id = "".join(ch for ch in request.POST.get("wa_id", "") if ch.isdigit())
    if not (phone_number_id and wa_id):
        return JsonResponse({"error": "Choose a business number and write your phone number."}, status=400)
    try:
        fields = _message_fields(request.POST, request.FILES)
    except Refused as refused:
        return JsonResponse({"error": str(refused)}, status=400)
    if not await sync_to_async(_known_number)(phone_number_id):
        return JsonResponse({"error": "Unknown business number."}, status=400)
    fields.update(phone_number_id=phone_number_id, wa_id=wa_id, name=request.POST.get("name", "") or "Customer")
    try:
        answer = await _fake("POST", "/_fake/customer", json=fields)
    except httpx.HTTPError:
        return JsonResponse({"error": "WhatsApp (the fake Graph API) does not answer."}, status=502)
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or "wamid" not in body:
        details = (body.get("error") or {}).get("error_data", {}).get("details", "")
        return JsonResponse({"error": details or f"WhatsApp answered {answer.status_code}."}, status=400)
    return JsonResponse({"wamid": body["wamid"]})
