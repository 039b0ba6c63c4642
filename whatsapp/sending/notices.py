"""Messages the inbox sends by itself, with no agent behind them: the confirmation a customer
gets when a keyword stops marketing messages (whatsapp/contacts/consent.py)."""

from django.db import transaction

from whatsapp.contacts import consent
from whatsapp.conversations import actions as conversations
from whatsapp.realtime import events as realtime
from whatsapp.sending import delivery

# A typed message, or a template's quick-reply button whose text is a keyword ("Stop promotions"
# when the workspace lists it).
KEYWORD_TYPES = ("text", "button")


def opt_out_by_keyword(message):
    """If a customer's new message is one of the workspace's opt-out keywords, stop marketing
    messages to them and answer with the workspace's confirmation (the customer just wrote,
    so the window is open). Returns the confirmation, or None. A blocked contact's keyword
    still counts; they get no answer, nor does a keyword that arrives after its window closed."""
    conversation = message.conversation
    tenant = conversation.tenant
    if message.type not in KEYWORD_TYPES or not consent.is_opt_out_keyword(tenant, message.text):
        return None
    with transaction.atomic():
        consent.record_opt_out(conversation.contact, f'keyword "{message.text.strip()[:40]}"')
        conversation.refresh_from_db(fields=["window_closes_at"])
        # A keyword that reaches us late, after its window closed, is recorded; a text could not go.
        if conversation.contact.blocked or not tenant.opt_out_reply or not conversation.window_is_open:
            return None
        reply = delivery.queue_new(conversation, None, type="text", text=tenant.opt_out_reply)
        conversations.touch_conversation(conversation, reply, inbound=False)
        realtime.message_created(reply)
    return reply
