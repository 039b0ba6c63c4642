"""Reads of tenant data. Missing and not yours are the same 404."""

from django.http import Http404

from whatsapp.models import CannedResponse, Contact, Conversation, Label, Message


def access_conversation(membership, conversation_id):
    try:
        return Conversation.objects.select_related("contact", "phone_number", "assignee", "tenant").get(
            pk=conversation_id, tenant=membership.tenant
        )
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.")


def access_message(conversation, message_id):
    try:
        return Message.objects.select_related("tenant", "conversation__tenant").get(
            pk=message_id, conversation=conversation
        )
    except Message.DoesNotExist:
        raise Http404("No such message.")


def access_media_file(membership, media_file_id):
    from whatsapp.models import MediaFile

    try:
        return MediaFile.objects.select_related("message").get(pk=media_file_id, tenant=membership.tenant)
    except MediaFile.DoesNotExist:
        raise Http404("No such file.")


def access_contact(membership, contact_id):
    try:
        return Contact.objects.select_related("tenant").get(pk=contact_id, tenant=membership.tenant)
    except Contact.DoesNotExist:
        raise Http404("No such contact.")


def access_label(membership, label_id):
    try:
        return Label.objects.get(pk=label_id, tenant=membership.tenant)
    except Label.DoesNotExist:
        raise Http404("No such label.")


def access_saved_reply(membership, saved_reply_id):
    try:
        return CannedResponse.objects.get(pk=saved_reply_id, tenant=membership.tenant)
    except CannedResponse.DoesNotExist:
        raise Http404("No such saved reply.")


def access_template(membership, template_id):
    """A template of the workspace, chosen in a form: a choice that is not an id is the
    user's to fix (ActionError); an id that is missing or not theirs is a 404."""
    from whatsapp.errors import ActionError
    from whatsapp.models import MessageTemplate

    template_id = str(template_id)
    if not template_id.isdigit():
        raise ActionError("Choose a template from the list.")
    try:
        return MessageTemplate.objects.get(pk=int(template_id), tenant=membership.tenant)
    except MessageTemplate.DoesNotExist:
        raise Http404("No such template.")


def access_phone_number(membership, phone_number_id):
    """One of the workspace's business numbers, by our id."""
    from whatsapp.models import PhoneNumber

    try:
        return PhoneNumber.objects.get(pk=phone_number_id, tenant=membership.tenant)
    except PhoneNumber.DoesNotExist:
        raise Http404("No such number.")
