"""What agents send, from the thread: a text, a file, a reaction, an interactive message, a
template, or a send again. Each view parses the form, calls one action of sending/actions.py, and answers."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.access import tenant_view
from whatsapp.access import (
    access_contact,
    access_conversation,
    access_media_file,
    access_message,
    access_template,
)
from whatsapp.conversations import starting
from whatsapp.conversations.views import inbox_context
from whatsapp.errors import ActionError, FieldError
from whatsapp.models import Contact, MessageTemplate
from whatsapp.realtime import events as realtime
from whatsapp.search import queries as search
from whatsapp.sending import actions as sending
from whatsapp.sending import delivery, template_fields


def _error(error):
    return JsonResponse({"error": str(error)}, status=400)


@require_POST
@tenant_view()
def send(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    wants_json = "application/json" in request.headers.get("Accept", "")
    reply_to = request.POST.get("reply_to", "")
    try:
        quoted = access_message(conversation, reply_to) if reply_to.isdigit() else None
        message = sending.send_reply(membership, conversation, request.POST.get("text", ""), reply_to=quoted)
    except ActionError as error:
        if wants_json:
            return JsonResponse({"error": str(error)}, status=400)
        context = inbox_context(request, membership, conversation) | {"send_error": str(error)}
        return render(request, "whatsapp/inbox.html", context, status=400)
    if wants_json:
        return JsonResponse(
            {"message_id": message.pk, "status": message.status, "html": realtime.message_html(message)}, status=201
        )
    return redirect("whatsapp:conversation", slug=membership.tenant.slug, conversation_id=conversation.pk)


@require_POST
@tenant_view()
def resend(request, membership, conversation_id, message_id):
    conversation = access_conversation(membership, conversation_id)
    message = access_message(conversation, message_id)
    try:
        delivery.resend(message)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"message_id": message.pk, "status": message.status})


@require_POST
@tenant_view()
def react(request, membership, conversation_id, message_id):
    conversation = access_conversation(membership, conversation_id)
    target = access_message(conversation, message_id)
    try:
        reaction = sending.react(membership, conversation, target, request.POST.get("emoji", ""))
    except ActionError as error:
        return _error(error)
    return JsonResponse({"message_id": reaction.pk}, status=201)


@require_POST
@tenant_view()
def send_file(request, membership, conversation_id):
    """The composer's POST when a file is attached: the file, and the text as its caption.
    A file WhatsApp would refuse gets a 400 that says why."""
    conversation = access_conversation(membership, conversation_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ActionError("Choose a file to send.")
        message = sending.send_media_reply(membership, conversation, upload, caption=request.POST.get("text", ""))
    except ActionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"message_id": message.pk, "status": message.status, "html": realtime.message_html(message)}, status=201
        )
    return redirect("whatsapp:conversation", slug=membership.tenant.slug, conversation_id=conversation.pk)


def list_sections(text):
    """The list's rows as the agent writes them, one per line: `Title | description` (the
    description optional); a line `# Section title` starts a section."""
    sections = [{"title": "", "rows": []}]
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            sections.append({"title": line.lstrip("#").strip(), "rows": []})
        elif line:
            title, _, description = line.partition("|")
            sections[-1]["rows"].append({"title": title.strip(), "description": description.strip()})
    return [section for section in sections if section["rows"] or section["title"]]


@require_POST
@tenant_view()
def send_interactive(request, membership, conversation_id):
    """The composer's interactive message: its kind and fields. An error names its field."""
    conversation = access_conversation(membership, conversation_id)
    fields = {name: request.POST.get(name, "") for name in request.POST if name not in ("buttons", "rows")}
    fields["buttons"] = request.POST.getlist("buttons")
    fields["sections"] = list_sections(request.POST.get("rows", ""))
    try:
        message = sending.send_interactive(membership, conversation, request.POST.get("kind", ""), fields)
    except FieldError as error:
        field = "rows" if error.field == "sections" else error.field  # the form's one box of rows
        return JsonResponse({"error": str(error), "field": field}, status=400)
    except ActionError as error:
        return _error(error)
    return JsonResponse(
        {"message_id": message.pk, "status": message.status, "html": realtime.message_html(message)}, status=201
    )


@require_POST
@tenant_view()
def send_template(request, membership, conversation_id):
    """The template form's POST (multipart when the header's file is uploaded)."""
    conversation = access_conversation(membership, conversation_id)
    try:
        message = sending.send_template(membership, conversation, **_template_choice(request, membership))
    except ActionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(
        {"message_id": message.pk, "status": message.status, "html": realtime.message_html(message)}, status=201
    )


def _template_choice(request, membership):
    """The template form (template_form.js posts it) as send_template takes it: the
    template, its fields' values, and a media header by upload, a workspace file or a link."""
    template = access_template(membership, request.POST.get("template", ""))
    return {
        "template": template,
        "values": template_fields.values_from_post(template, request.POST),
        "header_file": request.FILES.get("header_file"),
        "header_media": _header_media(request, membership),
        "header_link": request.POST.get("header_link", ""),
    }


def _header_media(request, membership):
    """The workspace's file picked as a template's header, if one was."""
    media_id = request.POST.get("header_media_id", "")
    if not media_id:
        return None
    try:
        return access_media_file(membership, int(media_id) if media_id.isdigit() else 0)
    except Http404:
        raise ActionError("The header file chosen is not a file of this workspace.")


@require_http_methods(["GET", "POST"])
@tenant_view()
def new_conversation(request, membership):
    """Write first to a customer: a number typed or a contact picked, the business number
    to send from, and an approved template. When the customer wrote in the last 24 hours,
    their thread opens instead and nothing is sent."""
    if request.method == "GET":
        return _new_conversation_page(request, membership)
    try:
        conversation, message = _start_from_form(request, membership)
    except ActionError as error:
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": str(error)}, status=400)
        return _new_conversation_page(request, membership, error=str(error), status=400)
    url = reverse("whatsapp:conversation", kwargs={"slug": membership.tenant.slug, "conversation_id": conversation.pk})
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"url": url, "sent": message is not None}, status=201 if message else 200)
    return redirect(url)


@require_GET
@tenant_view()
def new_conversation_lookup(request, membership):
    """What the page says about the number being typed: who it is, and whether their window
    is open (then the thread opens instead of a template being sent)."""
    try:
        phone_number = _sending_number(membership, request.GET)
        wa_id = starting.normalise_number(request.GET.get("to", ""), membership.tenant.default_country)
    except ActionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    found = starting.existing_conversation(membership.tenant, phone_number, wa_id)
    answer = {"wa_id": wa_id, "name": "", "conversation_url": "", "window_open": False}
    if found is not None:
        url = reverse("whatsapp:conversation", kwargs={"slug": membership.tenant.slug, "conversation_id": found.pk})
        answer |= {"name": found.contact.display_name, "conversation_url": url, "window_open": found.window_is_open}
    return JsonResponse(answer)


CONTACTS_SUGGESTED = 10
CONTACTS_LISTED = 50  # the newest, suggested before anything is typed


@require_GET
@tenant_view()
def new_conversation_contacts(request, membership):
    """Contacts whose name, WhatsApp name, notes or number match what is typed in To, best
    first, for the page to suggest (contacts that can be written to: a number, not blocked)."""
    found = search.matching_contacts(membership.tenant, request.GET.get("q", ""), ranked=True)
    found = found.filter(blocked=False).exclude(wa_id="")[:CONTACTS_SUGGESTED]
    return JsonResponse({"contacts": [{"phone": c.phone, "name": c.display_name} for c in found]})


def _sending_number(membership, params):
    numbers = list(membership.tenant.phone_numbers.all())
    chosen = params.get("phone_number", "")
    phone_number = numbers[0] if len(numbers) == 1 else next((n for n in numbers if str(n.pk) == chosen), None)
    if phone_number is None:
        raise ActionError("Choose the business number to send from.")
    return phone_number


def _start_from_form(request, membership):
    phone_number = _sending_number(membership, request.POST)
    return sending.start_with_template(
        membership, phone_number=phone_number, to=request.POST.get("to", ""), **_template_choice(request, membership)
    )


def _new_conversation_page(request, membership, error="", status=200):
    tenant = membership.tenant
    contact = None
    contact_id = request.GET.get("contact", "")
    if contact_id.isdigit():
        contact = access_contact(membership, int(contact_id))
    context = {
        "tenant": tenant,
        "membership": membership,
        "contact": contact,
        "to": request.POST.get("to", "") or (contact.phone if contact else ""),
        "contacts": Contact.objects.filter(tenant=tenant, blocked=False)
        .exclude(wa_id="")
        .order_by("-pk")[:CONTACTS_LISTED],
        "phone_numbers": tenant.phone_numbers.order_by("display_phone_number"),
        "templates": MessageTemplate.objects.filter(tenant=tenant, status="APPROVED").order_by("name", "language"),
        "error": error,
    }
    return render(request, "whatsapp/new_conversation.html", context, status=status)
