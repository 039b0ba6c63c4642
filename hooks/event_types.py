"""The events a workspace can subscribe to. Their bodies are described in docs/webhooks.md."""

MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS_CHANGED = "message.status_changed"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_UPDATED = "conversation.updated"
CONVERSATION_ASSIGNED = "conversation.assigned"
CONVERSATION_RESOLVED = "conversation.resolved"
CONTACT_UPDATED = "contact.updated"
TEMPLATE_STATUS_CHANGED = "template.status_changed"
# Sent only by the "Send test event" button, to one endpoint, whatever it subscribes to.
TEST = "webhook.test"

CHOICES = [
    (MESSAGE_RECEIVED, "A customer's message was received"),
    (MESSAGE_STATUS_CHANGED, "A sent message's status changed (sent, delivered, read, failed)"),
    (CONVERSATION_CREATED, "A conversation was created"),
    (CONVERSATION_UPDATED, "A conversation's status changed"),
    (CONVERSATION_ASSIGNED, "A conversation was assigned or unassigned"),
    (CONVERSATION_RESOLVED, "A conversation was resolved"),
    (CONTACT_UPDATED, "A contact was updated"),
    (TEMPLATE_STATUS_CHANGED, "A message template's status changed"),
]
SUBSCRIBABLE = [value for value, _ in CHOICES]
