"""What agents send, from the thread: a text, a file, a reaction, an interactive message, a
template, or a send again. Each view parses the form, calls one action of sending/actions.py, and answers."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants.access import tenant_view
from whatsapp.access import access_conversation, access_message
from whatsapp.conversations.views import inbox_context
from whatsapp.errors import ActionError, FieldError
from whatsapp.models import MessageTemplate
from whatsapp.realtime import events as realtime
from whatsapp.sending import actions as sending
from whatsapp.sending import delivery


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
    from django.http import JsonResponse

    conversation = access_conversation(membership, conversation_id)
    template_id = request.POST.get("template", "")
    if not template_id.isdigit():
        return JsonResponse({"error": "Choose a template from the list."}, status=400)
    template = MessageTemplate.objects.filter(tenant=membership.tenant, pk=int(template_id)).first()
    if template is None:
        raise Http404("No such template.")
    try:
        message = sending.send_template(membership, conversation, template, request.POST.getlist("values"))
    except ActionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"message_id": message.pk}, status=201)
