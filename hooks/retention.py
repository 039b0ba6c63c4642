"""Forgetting events when the inbox forgets what they tell: a contact's erasure and a
workspace's retention period reach the copies outgoing webhooks keep (events and their
delivery logs, pending ones too: the data they would send is gone)."""

from django.db import transaction
from django.db.models import Q

from .models import ConversationSequence, Delivery, Event


def _delete(events):
    with transaction.atomic():
        ids = list(events.values_list("pk", flat=True))
        Delivery.objects.filter(event_id__in=ids).delete()
        return Event.objects.filter(pk__in=ids).delete()[0]


def forget_contact(tenant_id, contact_id, conversation_ids):
    """Delete the events of the contact's conversations and those naming the contact."""
    conversation_ids = list(conversation_ids)
    events = Event.objects.filter(tenant_id=tenant_id).filter(
        Q(conversation_id__in=conversation_ids) | Q(data__contact__id=contact_id)
    )
    count = _delete(events)
    ConversationSequence.objects.filter(conversation_id__in=conversation_ids).delete()
    return count


def forget_before(tenant_id, cutoff):
    """Delete the workspace's events recorded before `cutoff`."""
    return _delete(Event.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff))
