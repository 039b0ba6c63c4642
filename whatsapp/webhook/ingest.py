"""From Meta's POST to stored rows.

The request path (the endpoint, asgi.py) reads a POST with `Received.read`: the signature is
checked over the raw bytes and a signed body parsed; storage.py keeps the raw body of a signed
POST (durable first) with its processing task, and only counts one without a valid signature.
Processing (`process_webhook_event`) splits the body into its items (every entry, change,
message, status and error: Meta batches up to 1,000), has PyWA parse each one once and reads
it from PyWA's typed update (updates.py), and stores each exactly once through the database's
unique keys, so retries and replays are safe.
"""

import json
import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task
from pywa import WhatsApp
from pywa import utils as pywa_utils

from inbox.lengths import fit
from whatsapp.conversations import actions as conversations
from whatsapp.conversations import receiving
from whatsapp.jobs import batches, priority
from whatsapp.models import WebhookEvent
from whatsapp.sending import delivery, notices
from whatsapp.webhook import account_updates, ingest, updates
from whatsapp.webhook_body import changes, dicts, read_payload

logger = logging.getLogger(__name__)

MESSAGE_ITEM_KEYS = ("messages", "statuses", "errors")
# Other fields whose value lists items, one per customer, of which PyWA reads the first.
LISTED_ITEMS = {"user_preferences": "user_preferences"}


# --- The request path -------------------------------------------------------------------


def check_signature(app_secret, body, header):
    """The signature state of a POST: valid, missing or invalid (HMAC of the raw bytes)."""
    if not header:
        return WebhookEvent.Signature.MISSING
    # compare_digest refuses non-ASCII text: such a header cannot be a hex digest anyway.
    if header.isascii() and pywa_utils.webhook_updates_validator(
        app_secret=app_secret, request_body=body, x_hub_signature=header
    ):
        return WebhookEvent.Signature.VALID
    return WebhookEvent.Signature.INVALID


def answer_handshake(verify_token, mode, given_token, challenge):
    """Meta's GET verification: (body, status)."""
    if mode != "subscribe":
        return "Forbidden", 403
    wa = WhatsApp(token="unused", verify_token=verify_token, filter_updates=False)
    return wa.webhook_challenge_handler(vt=given_token, ch=challenge)


def _item_kinds(field, value):
    if field != "messages":
        return []
    return [key for key in MESSAGE_ITEM_KEYS if value.get(key)]


def summarize(payload):
    """The changes' fields and how many items of each kind a payload holds."""
    fields, counts = [], {}
    for _entry, field, value in changes(payload):
        if field not in fields:
            fields.append(field)
        kinds = _item_kinds(field, value)
        for kind in kinds or [field]:
            size = len(value[kind]) if kinds and isinstance(value[kind], list) else 1
            counts[kind] = counts.get(kind, 0) + size
    return fit(WebhookEvent, "fields", ",".join(fields)), counts


class Received:
    """What a POST's bytes amount to, before anything is stored: its signature state, the
    parsed payload of a signed body, or why a signed body cannot be read."""

    def __init__(self, signature, payload=None, error=""):
        self.signature, self.payload, self.error = signature, payload, error

    @classmethod
    def read(cls, app_secret, body, header):
        signature = check_signature(app_secret, body, header)
        if signature != WebhookEvent.Signature.VALID:
            return cls(signature)
        try:
            payload = read_payload(body)
        except ValueError as error:  # UnicodeDecodeError included
            return cls(signature, error=f"Malformed JSON: {error}")
        return cls(signature, payload)

    @property
    def answer(self):
        """(HTTP status, reason) once the event is stored or the reject counted; 200 for a
        processable event."""
        if self.signature == WebhookEvent.Signature.MISSING:
            return 401, "Missing X-Hub-Signature-256 header."
        if self.signature == WebhookEvent.Signature.INVALID:
            return 403, "X-Hub-Signature-256 does not match the body."
        if self.error:
            return 400, self.error
        return 200, "ok"


# Customers' messages are processed before status updates when both wait: a top-tier number
# brings ~3,000 status webhooks a second, and a message must not queue behind them (ticks
# only move forward, in any order of arrival).
MESSAGES_PRIORITY = 10


def processing_priority(item_counts):
    return MESSAGES_PRIORITY if item_counts.get("messages") else 0


class ReplayRefused(Exception):
    pass


def replay_event(event):
    """Process a stored event again (safe: every item is stored at most once). Events whose
    signature did not match are never processed."""
    from whatsapp.webhook.ingest import process_webhook_event

    if event.signature != WebhookEvent.Signature.VALID:
        raise ReplayRefused("This event's signature did not match, so it is never processed.")
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=event.pk).update(state=WebhookEvent.State.PENDING, processed_at=None)
        process_webhook_event.enqueue(event.pk)


# --- Processing ---------------------------------------------------------------------------


def split_items(payload):
    """Yield (kind, envelope) for every item, each envelope a webhook body holding that one
    item, as PyWA expects (it reads only the first item of a batch)."""
    for entry, field, value in changes(payload):
        kinds = _item_kinds(field, value)
        listed = value.get(LISTED_ITEMS[field]) if field in LISTED_ITEMS else None
        if not kinds and isinstance(listed, list) and listed:
            for item in listed:
                narrowed = {**value, LISTED_ITEMS[field]: [item]}
                narrowed["contacts"] = _contacts_naming(value.get("contacts"), item)
                yield field, _envelope(payload, entry, field, narrowed)
        elif not kinds:
            yield field, _envelope(payload, entry, field, value)
        for kind in kinds:
            items = value[kind] if kind != "errors" and isinstance(value[kind], list) else [value[kind]]
            for item in items:
                narrowed = {key: val for key, val in value.items() if key not in MESSAGE_ITEM_KEYS}
                narrowed[kind] = item if kind == "errors" else [item]
                if kind != "errors" and isinstance(value.get("contacts"), list):
                    narrowed["contacts"] = _contacts_for(value["contacts"], item)
                yield kind, _envelope(payload, entry, field, narrowed)


def _envelope(payload, entry, field, value):
    single_entry = {key: val for key, val in entry.items() if key != "changes"}
    single_entry["changes"] = [{"field": field, "value": value}]
    return {"object": "whatsapp_business_account", "entry": [single_entry]}


def _contacts_for(contacts, item):
    """The contacts[] entry that names this item's sender or recipient (PyWA reads [0])."""
    return _contacts_naming(contacts, item) or dicts(contacts)[:1]


def _contacts_naming(contacts, item):
    """The contacts[] entries that name the customer of an item (message, status, preference)."""
    if not isinstance(item, dict):
        return []
    keys = ("from", "from_user_id", "recipient_id", "recipient_user_id", "wa_id", "user_id")
    who = {name for name in (item.get(key) for key in keys) if isinstance(name, str) and name}
    return [c for c in dicts(contacts) if c.get("wa_id") in who or c.get("user_id") in who]


def process_event_id(event_id):
    process_event_ids([event_id])


def process_event(event):
    process_events([event])


def process_event_ids(event_ids):
    """The batch task's work: process the stored events these ids name (a batch of jobs)."""
    process_events(list(WebhookEvent.objects.select_related("tenant").filter(pk__in=event_ids).order_by("pk")))


def process_events(events):
    """Process every item of stored events, one event or a batch. Items stand alone: one
    that fails is reported on its event and the others are stored; processing an event again
    is always safe. A body that is no JSON object (a failed event replayed) fails again with
    the reason. Other fields are stored item by item as they are read; the batch's customers'
    messages are stored together after them (receiving.receive_messages: a few statements per
    number, one live event per message and per conversation), then its statuses
    (delivery.apply_status_batch: a few statements for the whole batch, one live event per
    workspace), and every event is marked done in one statement."""
    batch = Batch(updates.Parser.for_this_thread())
    # Events with customers' messages are read and stored first, so their live events leave
    # before the batch's statuses are even parsed (a batch may be one message and 99 statuses).
    for event in events:
        if _has_messages(event):
            batch.read(event)
    batch.receive_messages()
    for event in events:
        if not _has_messages(event):
            priority.give_way()  # to a customer's message another thread is storing
            batch.read(event)
    batch.receive_messages()
    batch.apply_statuses()
    batch.finish()


def _has_messages(event):
    return isinstance(event.item_counts, dict) and bool(event.item_counts.get("messages"))


class Batch:
    """The events of one processing batch, what each came to, and their statuses to apply."""

    def __init__(self, parser):
        self.parser = parser
        self.events = []
        self.outcomes = {}  # event id: (problems, notes)
        self.statuses = []  # (event, ReportedStatus)
        self.messages = []  # (event, PhoneNumber, InboundMessage)
        self.numbers = {}  # (tenant id, phone number id): PhoneNumber or None

    def read(self, event):
        problems, notes = self.outcomes[event.pk] = ([], [])
        self.events.append(event)
        try:
            payload = read_payload(event.body)
        except ValueError as error:
            problems.append(f"Malformed JSON: {error}")
            return
        if "\\u0000" in event.body:  # only JSON's escape can bring one: PostgreSQL keeps no NUL
            payload = without_nul(payload)
        try:
            items = list(split_items(payload))
        except Exception as error:  # a shape no Meta payload has: the event says so, the batch goes on
            logger.exception("Webhook event %s could not be split into items", event.pk)
            problems.append(f"Unreadable payload: {type(error).__name__}: {error}")
            return
        for kind, envelope in items:
            try:
                if kind == "statuses":
                    self.statuses.append((event, self.read_status(event.tenant, envelope)))
                    continue
                if kind == "messages":
                    self.messages.append((event, *self.read_message(event.tenant, envelope)))
                    continue
                note = process_item(event.tenant, kind, envelope, self.parser)
            except Exception as error:
                logger.exception("Webhook event %s: a %s item failed", event.pk, kind)
                problems.append(f"{kind}: {type(error).__name__}: {error}")
            else:
                if note:
                    notes.append(note)

    def read_status(self, tenant, envelope):
        value = envelope["entry"][0]["changes"][0]["value"]
        self.phone_number(tenant, value)
        return updates.reported_status(self.parser.parse("statuses", envelope), value["statuses"][0])

    def read_message(self, tenant, envelope):
        value = envelope["entry"][0]["changes"][0]["value"]
        number = self.phone_number(tenant, value)
        return number, updates.inbound_message(self.parser.parse("messages", envelope), value["messages"][0])

    def receive_messages(self):
        """Store the batch's customers' messages: each number's ordinary ones together, in
        order of arrival, then the others (reactions, edits…) one by one. When storing a
        number's together fails, each of them is stored alone, so the one at fault is
        reported on its own event."""
        messages, self.messages = self.messages, []
        together = {}
        for event, number, inbound in messages:
            if inbound.together:
                together.setdefault((event.tenant.pk, number.pk), []).append((event, number, inbound))
        for items in together.values():
            event, number, _inbound = items[0]
            try:
                stored = receiving.receive_messages(event.tenant, number, [inbound for _e, _n, inbound in items])
            except Exception:
                logger.exception("Storing %d customers' messages together failed; storing them one by one", len(items))
                self.receive_one_by_one(items)
            else:
                for (event, _number, _inbound), message in zip(items, stored, strict=True):
                    self.after_receipt(event, lambda message=message: message)
        self.receive_one_by_one([item for item in messages if not item[2].together])

    def receive_one_by_one(self, items):
        for event, number, inbound in items:
            self.after_receipt(event, lambda e=event, n=number, i=inbound: receiving.receive_message(e.tenant, n, i))

    def after_receipt(self, event, receive):
        """Run `receive` (which returns the stored message, or None for a copy), then answer an
        opt-out keyword; a failure is reported on the event."""
        try:
            message = receive()
            if message is not None:
                notices.opt_out_by_keyword(message)
        except Exception as error:
            logger.exception("Webhook event %s: a message failed", event.pk)
            self.outcomes[event.pk][0].append(f"messages: {type(error).__name__}: {error}")

    def phone_number(self, tenant, value):
        """The tenant's number a change is for (each looked up once a batch)."""
        phone_number_id = (value.get("metadata") or {}).get("phone_number_id", "")
        key = (tenant.pk, phone_number_id)
        if key not in self.numbers:
            self.numbers[key] = conversations.phone_number_for(tenant, phone_number_id)
        if self.numbers[key] is None:
            raise ValueError(f"Phone number id {phone_number_id!r} is not one of this tenant's numbers.")
        return self.numbers[key]

    def apply_statuses(self):
        if not self.statuses:
            return
        try:
            delivery.apply_status_batch([(event.tenant, reported) for event, reported in self.statuses])
        except Exception:
            # Nothing of the batch's statement stayed (its transaction rolled back): apply them
            # one by one, so one bad status is reported on its own event.
            logger.exception("Applying a batch of %d statuses failed; applying them one by one", len(self.statuses))
            for event, reported in self.statuses:
                try:
                    delivery.record_status(event.tenant, reported)
                except Exception as error:
                    logger.exception("Webhook event %s: a status failed", event.pk)
                    self.outcomes[event.pk][0].append(f"statuses: {type(error).__name__}: {error}")

    def finish(self):
        """Mark every event done: one statement per outcome (usually one: processed, no note)."""
        outcomes = {}
        for event in self.events:
            problems, notes = self.outcomes[event.pk]
            state = WebhookEvent.State.FAILED if problems else WebhookEvent.State.PROCESSED
            outcomes.setdefault((state, "\n".join(problems + notes)), []).append(event.pk)
        now = timezone.now()
        for (state, error), event_ids in outcomes.items():
            WebhookEvent.objects.filter(pk__in=event_ids).update(state=state, error=error, processed_at=now)


def process_item(tenant, kind, envelope, parser):
    """Store one item other than a message or a status (Batch stores those together), read
    from PyWA's typed update of it. Returns a note for the log when something is worth knowing."""
    value = envelope["entry"][0]["changes"][0]["value"]
    if kind == "errors":
        return f"Meta reported errors: {json.dumps(value['errors'])[:500]}"
    typed = parser.parse(kind, envelope) if account_updates.reads_typed(kind, value) else None
    return account_updates.apply(tenant, kind, value, typed)


def without_nul(data):
    """JSON can carry \u0000, which PostgreSQL's text and jsonb refuse: replace it."""
    if isinstance(data, str):
        return data.replace("\x00", "\ufffd")
    if isinstance(data, list):
        return [without_nul(item) for item in data]
    if isinstance(data, dict):
        return {without_nul(key): without_nul(item) for key, item in data.items()}
    return data


# How many stored events a worker processes together. A batch of statuses costs a few
# statements whatever its size, and customers' messages (claimed first) are stored one by
# one, so a message that arrives while a batch runs waits for about one batch.
BATCH_SIZE = 100
# The group a processing job's event takes turns by: its workspace.
TENANT_OF_EVENT_SQL = "SELECT tenant_id FROM whatsapp_webhookevent WHERE id = (args_kwargs->'args'->>0)::bigint"


@task(queue_name="webhooks")
def process_webhook_event(event_id):
    ingest.process_event_id(event_id)


def _process_webhook_events(arguments):
    ingest.process_event_ids([event_id for event_id, *_rest in arguments])


batches.run_in_batches(process_webhook_event, _process_webhook_events, BATCH_SIZE, TENANT_OF_EVENT_SQL)
