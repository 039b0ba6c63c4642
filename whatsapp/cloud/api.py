"""The WhatsApp Cloud API, through PyWA. The rest of the project never sees HTTP: it calls
these functions and catches CloudAPIError.

Every request goes to settings.WHATSAPP_GRAPH_URL: PyWA always builds graph.facebook.com
URLs, so the httpx transport it is given rewrites them (that is how the fake Graph API
stands in for Meta in tests and the demo). The same transport records every call in the
Graph API call log.
"""

import contextvars
import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
from django.conf import settings
from pywa import WhatsApp
from pywa.errors import WhatsAppError

from inbox.lengths import fit

logger = logging.getLogger(__name__)

META_GRAPH_HOST = "graph.facebook.com"
# How many sends a process makes at once (cloud_api.send_messages), on kept connections.
SEND_THREADS = 64

# How a failed send is handled, by Meta's code (META_FACTS.md section 6).
THROUGHPUT_LIMIT = 130429  # the number's messages per second
MEDIA_TOO_LARGE = 131052  # an inbound file over what WhatsApp delivers (100 MB) or we take
# OUTAGE: Meta or the network is struggling: wait and retry for as long as it takes.
OUTAGE_CODES = {0, 1, 2, 4, 80007, THROUGHPUT_LIMIT, 131016, 131057, 133004}
# The same recipient got too much too fast: back off 4^n seconds for them alone.
PAIR_RATE_LIMIT = 131056
# Unknown trouble at Meta: retry, a few times only.
RETRY_A_FEW = {131000}
# The access token is refused: pause the tenant's sending until it is replaced.
TOKEN_CODES = {190}
# Worth another try of some kind (reads, such as media downloads, retry on all of these).
RETRYABLE_CODES = OUTAGE_CODES | RETRY_A_FEW | {PAIR_RATE_LIMIT}

# What an agent is told, and what to do next, for the errors a sender meets most.
AGENT_EXPLANATIONS = {
    131047: "The 24-hour window is closed: the customer has not written in the last 24 hours. Send a template.",
    131026: "WhatsApp could not deliver this message: the number may not use WhatsApp, or the customer must "
    "update their app. Reach the customer another way.",
    131051: "WhatsApp does not support this message type.",
    131049: "WhatsApp held this marketing message back to protect engagement. Try again in a day or more.",
    131050: "The customer has stopped marketing messages from you.",
    131048: "This number is limited for spam reports. Pause bulk sending and check its quality in WhatsApp Manager.",
    131056: "Too many messages to this customer in a short time. It will be retried shortly.",
    130429: "The number's sending rate limit was reached. It will be retried shortly.",
    131052: "WhatsApp could not download this file.",
    131053: "WhatsApp could not use this file: check its type and size.",
    133010: "The business number is not registered with the Cloud API. An admin must register it.",
    190: "WhatsApp refused the access token. An owner must replace it; messages wait until then.",
    368: "The WhatsApp account is restricted for a policy violation. Check WhatsApp Manager.",
    100: "WhatsApp rejected the request as invalid.",
    131008: "WhatsApp rejected the message: a required part is missing.",
    131009: "WhatsApp rejected the message: a value is not allowed.",
    132000: "The template's variables do not match the template.",
    132001: "The template does not exist or is not approved in this language.",
    132005: "The template's text is too long once its variables are filled in.",
    132007: "The template breaks WhatsApp's policy.",
    132012: "The template's variables are not in the expected format.",
    132015: "The template is paused for low quality.",
    132016: "The template is disabled for low quality.",
}


@dataclass
class CloudAPIError(Exception):
    """A Graph API call that did not succeed. `code` is Meta's error code, or the HTTP
    status, or 0 when no answer came back at all."""

    code: int
    message: str
    details: str = ""
    http_status: int | None = None
    outcome_unknown: bool = False  # the request may have reached Meta
    # Whether another try may work. Worked out from the code unless the caller knows better
    # (a lost answer to a read, say, is safe to ask again).
    retryable: bool | None = None

    def __post_init__(self):
        if self.retryable is None:
            server_error = self.http_status is not None and self.http_status >= 500
            self.retryable = not self.outcome_unknown and (self.code in RETRYABLE_CODES or server_error)

    def __str__(self):
        return f"({self.code}) {self.message}"

    @property
    def is_outage(self):
        return not self.outcome_unknown and (
            self.code in OUTAGE_CODES or (self.http_status is not None and self.http_status >= 500)
        )

    @property
    def is_token_problem(self):
        return self.code in TOKEN_CODES

    def retry_delay(self, attempt):
        """Seconds to wait before attempt number `attempt` + 1, or None: do not retry."""
        if self.outcome_unknown or self.is_token_problem:
            return None
        if self.code == PAIR_RATE_LIMIT:
            return min(4**attempt, 600)  # Meta: retry after 4^X seconds
        if self.is_outage:
            return min(2**attempt, 300)
        if self.code in RETRY_A_FEW and attempt < 5:
            return 2**attempt
        return None

    @property
    def for_agent(self):
        if self.outcome_unknown:
            return (
                "WhatsApp did not answer in time, so we cannot tell whether this message went out. "
                "Check with the customer before sending it again."
            )
        explained = AGENT_EXPLANATIONS.get(self.code)
        if explained and self.details:
            return f"{explained} WhatsApp said: {self.details}"
        return explained or self.details or self.message


def explain(code, title="", details=""):
    """The agent's words for an error Meta reported (synchronously or in a status webhook)."""
    return CloudAPIError(code or 0, title, details).for_agent


class GraphTransport(httpx.HTTPTransport):
    """Sends requests PyWA addresses to graph.facebook.com to WHATSAPP_GRAPH_URL instead,
    and records each call for the tenant's log (with the message being sent, if any)."""

    def __init__(self, graph_url, tenant_id=None, **kwargs):
        super().__init__(**kwargs)
        self.graph_url = httpx.URL(graph_url)
        self.tenant_id = tenant_id

    def handle_request(self, request):
        if request.url.host == META_GRAPH_HOST and self.graph_url.host != META_GRAPH_HOST:
            request.url = request.url.copy_with(
                scheme=self.graph_url.scheme,
                host=self.graph_url.host,
                port=self.graph_url.port,
                path=self.graph_url.path.rstrip("/") + request.url.path,
            )
            request.headers["Host"] = request.url.netloc.decode()
        started, began = time.perf_counter(), time.time()
        try:
            response = super().handle_request(request)
        except httpx.HTTPError as error:
            self._record(request, began, started, None, None, f"{type(error).__name__}: {error}")
            raise
        code, message = None, ""
        if response.status_code >= 400:
            response.read()  # error bodies are small; successful ones may be streamed media
            code, message = _error_of(response)
        self._record(request, began, started, response.status_code, code, message)
        return response

    def _record(self, request, began, started, status_code, error_code, error_message):
        if self.tenant_id is None:
            return
        from whatsapp.models import GraphCall

        try:
            call = GraphCall(
                tenant_id=self.tenant_id,
                message_id=_logged_message_id.get(),
                started_at=datetime.fromtimestamp(began, tz=UTC),
                method=request.method,
                # Never the query string: media URLs carry signatures there.
                path=fit(GraphCall, "path", request.url.path),
                status_code=status_code,
                duration_ms=int((time.perf_counter() - started) * 1000),
                error_code=error_code,
                error_message=error_message[:2000],
            )
            deferred = _deferred_calls.get()
            if deferred is not None:
                deferred.append(call)  # send_messages saves them together
            else:
                call.save(force_insert=True)
        except Exception:
            logger.exception("Could not record a Graph API call")


def _error_of(response):
    try:
        error = response.json()["error"]
        return int(error.get("code")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.status_code, response.text[:500]


@functools.cache
def _tls_context():
    """One TLS context per process: building one loads the system's CA store, ~55 ms of CPU,
    which was most of a send's cost (bench/)."""
    return httpx.create_ssl_context()


# The message a Graph call is made for, for the call log (clients are shared between sends).
_logged_message_id = contextvars.ContextVar("graph_call_message_id", default=None)
# Where calls made on send_messages' threads are kept until it saves them in one statement.
_deferred_calls = contextvars.ContextVar("graph_calls_deferred", default=None)
# The process keeps its clients, one per number and token, shared by its threads (httpx's
# client is thread-safe, and PyWA's keeps no state between calls): building a PyWA client and
# its httpx client took a fifth of a send's CPU (bench/send_cost.py), and a kept client keeps
# its connections open too (HTTP keep-alive), as many as the sending threads use at once.
_clients = OrderedDict()
_clients_lock = threading.Lock()
CLIENTS_KEPT = 256


@contextmanager
def client(phone_number, connection, message=None):
    """A PyWA client for one business number, with the connection's current access token.
    It never runs a server or touches webhooks. Calls made with it are logged for `message`."""
    wa = _kept_client(phone_number.phone_number_id, connection)
    logged = _logged_message_id.set(getattr(message, "pk", None))
    try:
        yield wa
    finally:
        _logged_message_id.reset(logged)


def _kept_client(phone_number_id, connection):
    """The process's client for the number, made again when the token or the settings changed.
    The token itself is never a key or a local variable here (error reports show locals). A
    client replaced or forgotten is not closed here (another thread may be sending with it):
    its connections close when it is collected."""
    key = (
        connection.tenant_id,
        phone_number_id,
        settings.WHATSAPP_GRAPH_URL,
        settings.WHATSAPP_API_VERSION,
        settings.WHATSAPP_TIMEOUT_SECONDS,
    )
    fingerprint = hashlib.sha256(connection.access_token.encode()).digest()
    with _clients_lock:
        if key in _clients and _clients[key][0] == fingerprint:
            _clients.move_to_end(key)
            return _clients[key][1]
    transport = GraphTransport(
        settings.WHATSAPP_GRAPH_URL,
        tenant_id=connection.tenant_id,
        verify=_tls_context(),
        limits=httpx.Limits(max_connections=SEND_THREADS + 8, max_keepalive_connections=SEND_THREADS + 8),
    )
    wa = WhatsApp(
        phone_id=phone_number_id,
        token=connection.access_token,
        session=httpx.Client(transport=transport, timeout=settings.WHATSAPP_TIMEOUT_SECONDS),
        api_version=settings.WHATSAPP_API_VERSION,
    )
    with _clients_lock:
        _clients[key] = (fingerprint, wa)
        _clients.move_to_end(key)
        while len(_clients) > CLIENTS_KEPT:
            _clients.popitem(last=False)
    return wa


def call(function, *args, **kwargs):
    """Run one PyWA call, turning every failure into a CloudAPIError."""
    try:
        return function(*args, **kwargs)
    except WhatsAppError as error:
        raised = CloudAPIError(
            code=error.code, message=error.message, details=error.details or "", http_status=error.status_code
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        # The request never left: safe to try again.
        raised = CloudAPIError(code=0, message=f"WhatsApp is unreachable: {error}")
    except httpx.HTTPError as error:
        # It may have reached Meta: a blind retry could send twice.
        raised = CloudAPIError(code=0, message=f"No answer from WhatsApp: {error}", outcome_unknown=True)
    except (ValueError, json.JSONDecodeError) as error:
        raised = CloudAPIError(code=100, message=str(error))
    raise raised


def send_message(message, media_ids=None, unless=None):
    """Send one of our outbound messages and return Meta's wamid. Each message carries its
    own id as biz_opaque_callback_data, so status webhooks can always be matched to it. A
    file needs `media_ids`, the keeper of uploaded media ids (see _send_media). `unless
    (message)`, called once the client is ready, just before the request, may give an
    outcome to return instead of sending."""
    conversation = message.conversation
    sender = _SENDERS.get(message.type)
    if message.type in _MEDIA_SENDS:
        sender = functools.partial(_send_media, media_ids=media_ids)
    if message.type == "template":
        sender = functools.partial(_send_template, media_ids=media_ids)
    if message.content.get(AS_GIVEN):
        sender = _send_as_given
    if sender is None:
        raise CloudAPIError(code=131051, message=f"This inbox cannot send {message.type} messages yet.")
    common = {
        "to": conversation.contact.recipient,
        "reply_to_message_id": message.reply_to_wamid or None,
        "tracker": tracker_for(message),
    }
    with client(conversation.phone_number, message.tenant.whatsapp, message) as wa:
        if unless is not None and (instead := unless(message)) is not None:
            return instead
        sent = call(sender, wa, message, common)
    return sent.id


# The sends of a batch go out side by side on the process's SEND_THREADS threads, for all its
# batches: a send waits ~100 ms or more for Meta and spends little CPU.
_send_pool = {"executor": None}
_send_pool_lock = threading.Lock()


def _sending_threads():
    with _send_pool_lock:
        if _send_pool["executor"] is None:
            _send_pool["executor"] = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="graph-send")
        return _send_pool["executor"]


def sends_without_database(message):
    """Whether sending the message needs no database: a file, or a template whose header is
    a file of ours, needs its stored media id (or its upload)."""
    if message.type in _MEDIA_SENDS:
        return False
    if message.type == "template" and not message.content.get(AS_GIVEN):
        header = _header_file_parameter(message.content.get("template") or {})
        return header is None
    return True


def send_messages(messages, unless=None):
    """Send messages side by side (each as send_message would; files are not sent here, see
    sends_without_database); returns (message, wamid or CloudAPIError) pairs in order. Their
    Graph API calls are logged in one statement once all have answered. The messages must
    have loaded what sending reads (conversation, contact, number, tenant's connection): the
    sending threads never touch the database. `unless`: see send_message (it runs on the
    sending threads)."""
    calls = []

    def send(message):
        deferring = _deferred_calls.set(calls)  # list.append is atomic
        try:
            return send_message(message, unless=unless)
        except CloudAPIError as error:
            return error
        finally:
            _deferred_calls.reset(deferring)

    outcomes = list(_sending_threads().map(send, messages)) if len(messages) > 1 else [send(m) for m in messages]
    _save_calls(calls)
    return list(zip(messages, outcomes, strict=True))


def _save_calls(calls):
    from whatsapp.models import GraphCall

    try:
        GraphCall.objects.bulk_create(calls)
    except Exception:
        logger.exception("Could not record %d Graph API calls", len(calls))


def tracker_for(message):
    return f"message:{message.pk}"


def message_id_from_tracker(tracker):
    prefix, _, number = (tracker or "").partition(":")
    return int(number) if prefix == "message" and number.isdigit() else None


# Set in a message's content when its type's object is sent as it was given (by the REST
# API, in Meta's own shape), not built from our fields.
AS_GIVEN = "as_given"


def _send_as_given(wa, message, common):
    """Meta's object for the message's type, as given, through PyWA's Graph layer."""
    answer = wa.api.send_message(
        sender=wa.phone_id,
        to=common["to"],
        recipient=None,
        recipient_type="individual",
        typ=message.type,
        msg=message.content[message.type],
        reply_to_message_id=common["reply_to_message_id"],
        biz_opaque_callback_data=common["tracker"],
    )
    return SimpleNamespace(id=answer["messages"][0]["id"])


def upload_media(phone_number, connection, data, mime_type, filename):
    """Upload a file to Meta for this number; returns Meta's media id (valid 30 days)."""
    with client(phone_number, connection) as wa:
        uploaded = call(
            wa.api.upload_media,
            phone_id=phone_number.phone_number_id,
            media=data,
            mime_type=mime_type,
            filename=filename,
        )
    return str(uploaded["id"])


def _send_text(wa, message, common):
    return wa.send_message(text=message.text, **common)


def _send_reaction(wa, message, common):
    # A reaction quotes nothing: it names its message itself.
    return wa.send_reaction(
        to=common["to"], emoji=message.text, message_id=message.target_wamid, tracker=common["tracker"]
    )


def _send_template(wa, message, common, media_ids=None):
    """Meta's `template` object as the action built it. A media header whose file is ours
    goes by media id: uploaded once (or reused, as files are) and set here, with the same
    one retry as a file message when Meta has lost a reused id."""
    template = message.content["template"]
    header_file = _header_file_parameter(template) if getattr(message, "media_file", None) else None
    if header_file is None:
        return _send_filled_template(wa, template, common)
    kind, parameter = header_file

    def upload(content):
        media_file = message.media_file
        return wa.upload_media(
            media=content, mime_type=media_file.mime_type, filename=media_file.filename, media_type=kind
        ).id

    parameter["id"], reused = media_ids.uploaded_media_id(message, upload)
    try:
        return _send_filled_template(wa, template, common)
    except WhatsAppError as error:
        if not reused or error.code not in STALE_MEDIA_CODES:
            raise
    media_ids.forget_uploaded_media(message)
    parameter["id"], _ = media_ids.uploaded_media_id(message, upload)
    return _send_filled_template(wa, template, common)


def _header_file_parameter(template):
    """(kind, the header's media object) when the header is a file to upload, not a link."""
    for component in template.get("components", []):
        if component.get("type") == "header":
            for parameter in component.get("parameters", []):
                kind = parameter.get("type")
                if kind in ("image", "video", "document") and "link" not in parameter.get(kind, {}):
                    return kind, parameter[kind]
    return None


def _send_filled_template(wa, template, common):
    return wa.send_template(
        name=template["name"], language=_language(template["language"]["code"]), params=template["components"], **common
    )


def _language(code):
    """PyWA's enum of Meta's languages; a code it does not list yet still goes through."""
    from pywa.types.templates import TemplateLanguage

    try:
        return TemplateLanguage(code)
    except ValueError:
        return SimpleNamespace(value=code)


# Codes Meta answers when a media id we reused is gone: upload again, once.
STALE_MEDIA_CODES = {100, 131053}


def _send_media(wa, message, common, media_ids):
    """Files go by media id, never by link: Meta rate-limits sends by link (131053), and an
    uploaded id is reusable for 30 days, so the same content goes up once. `media_ids`
    remembers them (media.actions): uploaded_media_id(message, upload) gives (id, reused),
    uploading with `upload` when it has none; forget_uploaded_media(message) drops one. A
    reused id Meta has lost is replaced by a fresh upload, once."""
    send = _MEDIA_SENDS[message.type]
    media_id, reused = media_ids.uploaded_media_id(message, lambda content: _upload(wa, message, content))
    try:
        return send(wa, message, media_id, common)
    except WhatsAppError as error:
        if not reused or error.code not in STALE_MEDIA_CODES:
            raise
    media_ids.forget_uploaded_media(message)
    media_id, _ = media_ids.uploaded_media_id(message, lambda content: _upload(wa, message, content))
    return send(wa, message, media_id, common)


def _upload(wa, message, content):
    media_file = message.media_file
    uploaded = wa.upload_media(
        media=content, mime_type=media_file.mime_type, filename=media_file.filename, media_type=message.type
    )
    return uploaded.id


def _caption(message):
    return message.text or None


def _send_image(wa, message, media_id, common):
    return wa.send_image(image=media_id, caption=_caption(message), **common)


def _send_video(wa, message, media_id, common):
    return wa.send_video(video=media_id, caption=_caption(message), **common)


def _send_audio(wa, message, media_id, common):
    return wa.send_audio(audio=media_id, **common)


def _send_sticker(wa, message, media_id, common):
    return wa.send_sticker(sticker=media_id, **common)


def _send_document(wa, message, media_id, common):
    filename = message.media_file.filename or None
    return wa.send_document(document=media_id, filename=filename, caption=_caption(message), **common)


# How each media type is sent, once its media id is known.
_MEDIA_SENDS = {
    "image": _send_image,
    "video": _send_video,
    "audio": _send_audio,
    "sticker": _send_sticker,
    "document": _send_document,
}


def _send_interactive(wa, message, common):
    """Reply buttons, a list, a call-to-action URL or a location request, from the Meta-shaped
    `interactive` object the message keeps (sending/actions.py builds it), through PyWA's types."""
    from pywa.types import Button, Section, SectionList, SectionRow, URLButton

    interactive = message.content["interactive"]
    text, action = interactive["body"]["text"], interactive.get("action", {})
    if interactive["type"] == "location_request_message":
        return wa.request_location(text=text, **common)
    if interactive["type"] == "button":
        buttons = [Button(title=b["reply"]["title"], callback_data=b["reply"]["id"]) for b in action["buttons"]]
    elif interactive["type"] == "list":
        sections = [
            Section(
                title=section.get("title", ""),
                rows=[
                    SectionRow(title=r["title"], callback_data=r["id"], description=r.get("description"))
                    for r in section["rows"]
                ],
            )
            for section in action["sections"]
        ]
        buttons = SectionList(button_title=action["button"], sections=sections)
    else:
        parameters = action["parameters"]
        buttons = URLButton(title=parameters["display_text"], url=parameters["url"])
    header = (interactive.get("header") or {}).get("text")
    footer = (interactive.get("footer") or {}).get("text")
    return wa.send_message(text=text, header=header, footer=footer, buttons=buttons, **common)


def _send_location(wa, message, common):
    place = message.content["location"]
    return wa.send_location(
        latitude=place["latitude"],
        longitude=place["longitude"],
        name=place.get("name"),
        address=place.get("address"),
        **common,
    )


# How each other message type is sent: (PyWA client, message, common arguments) -> SentMessage.
_SENDERS = {
    "text": _send_text,
    "reaction": _send_reaction,
    "template": _send_template,
    "interactive": _send_interactive,
    "location": _send_location,
}


def fetch_templates(phone_number, connection):
    """Every message template of the WhatsApp Business Account, as Meta describes them.
    PyWA's typed templates drop what they do not model, so this reads Meta's own JSON,
    through PyWA's Graph layer, page by page."""
    fields = ("id", "name", "language", "status", "category", "quality_score", "components")
    templates, after = [], None
    with client(phone_number, connection) as wa:
        for _page in range(50):  # 50 pages of 100: far above Meta's template limit
            pagination = {"limit": 100, **({"after": after} if after else {})}
            page = call(wa.api.get_templates, waba_id=connection.waba_id, fields=fields, pagination=pagination)
            templates += [_template_fields(raw) for raw in page.get("data", [])]
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (page.get("paging") or {}).get("next"):
                break
    return templates


def _template_fields(raw):
    quality = raw.get("quality_score")
    return {
        "meta_id": str(raw.get("id", "")),
        "name": raw.get("name", ""),
        "language": raw.get("language", ""),
        "status": str(raw.get("status", "")).upper(),
        "category": str(raw.get("category", "")).upper(),
        "quality_score": (quality.get("score", "") if isinstance(quality, dict) else str(quality or "")).upper(),
        "components": raw.get("components") or [],
    }


def mark_read(phone_number, connection, wamid, typing=False):
    """Blue ticks on the customer's messages up to `wamid`; with typing, also "typing…"."""
    with client(phone_number, connection) as wa:
        call(wa.indicate_typing if typing else wa.mark_message_as_read, message_id=wamid)


# Fields of a business number that say how it is doing (Graph API phone number node).
NUMBER_HEALTH_FIELDS = (
    "verified_name",
    "display_phone_number",
    "quality_rating",
    "messaging_limit_tier",
    "whatsapp_business_manager_messaging_limit",
    "throughput",
)


def get_number_health(phone_number, connection):
    """Ask Meta for a number's quality rating, messaging limit tier and verified name.
    Returns {"quality_rating", "messaging_limit", "verified_name"}, values "" when absent."""
    from whatsapp.models import PhoneNumber

    with client(phone_number, connection) as wa:
        data = call(
            wa.api.get_business_phone_number, phone_id=phone_number.phone_number_id, fields=NUMBER_HEALTH_FIELDS
        )
    limit = data.get("messaging_limit_tier") or data.get("whatsapp_business_manager_messaging_limit") or ""
    return {
        "quality_rating": fit(PhoneNumber, "quality_rating", str(data.get("quality_rating") or "")),
        "messaging_limit": fit(PhoneNumber, "messaging_limit", str(limit)),
        "verified_name": fit(PhoneNumber, "verified_name", str(data.get("verified_name") or "")),
    }


# Template management: Meta reviews what is created or edited, and says how it went in a
# message_template_status_update webhook.


def _account_client(connection):
    """A client for calls on the WhatsApp Business Account itself (templates, its numbers)."""
    return client(_AccountNumber(connection.waba_id), connection)


@dataclass
class _AccountNumber:
    phone_number_id: str


def create_template(connection, template):
    """Submit a new template (Meta's shape: name, language, category, components) for review.
    Returns Meta's answer: {"id", "status", "category"}."""
    with _account_client(connection) as wa:
        return call(wa.api.create_template, waba_id=connection.waba_id, template=template)


def edit_template(connection, meta_id, template):
    """Submit new components (and category) of an existing template for review again."""
    with _account_client(connection) as wa:
        call(wa.api.update_template, template_id=meta_id, template=template)


def delete_template(connection, name, meta_id):
    """Delete one template (by name and id: only this language's)."""
    with _account_client(connection) as wa:
        call(wa.api.delete_template, waba_id=connection.waba_id, template_name=name, template_id=meta_id)


# The numbers of the WhatsApp Business Account, and their business profiles.

ACCOUNT_NUMBER_FIELDS = (
    "id",
    "display_phone_number",
    "verified_name",
    "name_status",
    "quality_rating",
    "messaging_limit_tier",
    "code_verification_status",
    "platform_type",
    "status",
)


def list_account_numbers(connection):
    """Every number of the WhatsApp Business Account, as {phone_number_id, display_phone_number,
    verified_name, name_status, quality_rating, messaging_limit, status, platform_type}."""
    numbers, after = [], None
    with _account_client(connection) as wa:
        for _page in range(20):
            pagination = {"limit": 100, **({"after": after} if after else {})}
            page = call(
                wa.api.get_business_phone_numbers,
                waba_id=connection.waba_id,
                fields=ACCOUNT_NUMBER_FIELDS,
                pagination=pagination,
            )
            numbers += [_number_fields(raw) for raw in page.get("data", []) if raw.get("id")]
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (page.get("paging") or {}).get("next"):
                break
    return numbers


def _number_fields(raw):
    return {
        "phone_number_id": str(raw["id"]),
        "display_phone_number": "".join(ch for ch in str(raw.get("display_phone_number") or "") if ch.isdigit()),
        "verified_name": str(raw.get("verified_name") or "")[:200],
        "name_status": str(raw.get("name_status") or "")[:32],
        "quality_rating": str(raw.get("quality_rating") or "")[:32],
        "messaging_limit": str(raw.get("messaging_limit_tier") or "")[:64],
        "status": str(raw.get("status") or ""),
        "platform_type": str(raw.get("platform_type") or ""),
    }


def register_number(connection, phone_number_id, pin):
    """Register a number for the Cloud API with its two-step verification PIN (six digits)."""
    with client(_AccountNumber(phone_number_id), connection) as wa:
        call(wa.api.register_phone_number, phone_id=phone_number_id, pin=pin)


PROFILE_FIELDS = ("about", "address", "description", "email", "websites", "vertical", "profile_picture_url")


def get_business_profile(phone_number, connection):
    """The number's WhatsApp business profile: {about, address, description, email, websites
    (a list), vertical, profile_picture_url}, "" (or []) when not set."""
    with client(phone_number, connection) as wa:
        answer = call(wa.api.get_business_profile, phone_id=phone_number.phone_number_id, fields=PROFILE_FIELDS)
    data = (answer.get("data") or [{}])[0]
    profile = {name: str(data.get(name) or "") for name in PROFILE_FIELDS if name != "websites"}
    profile["websites"] = [str(site) for site in data.get("websites") or []]
    return profile


def update_business_profile(phone_number, connection, fields, photo=None):
    """Change the profile's fields (about, address, description, email, websites, vertical).
    A new `photo` ((bytes, mime type)) goes up through Meta's resumable upload first, as PyWA
    does it, which needs the connection's app id; the profile then names its handle."""
    data = {name: fields[name] for name in ("about", "address", "description", "email", "websites", "vertical")}
    with client(phone_number, connection) as wa:
        if photo is not None:
            content, mime_type = photo
            data["profile_picture_handle"] = _resumable_upload(wa, connection, content, mime_type, "profile")
        call(wa.api.update_business_profile, phone_id=phone_number.phone_number_id, data=data)


def upload_example(connection, content, mime_type, name):
    """Upload a template header's example file (image, video, PDF) through Meta's resumable
    upload; returns its handle for the template's `header_handle`. Needs the app id."""
    with _account_client(connection) as wa:
        return _resumable_upload(wa, connection, content, mime_type, name)


RESUMABLE_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "application/pdf": ".pdf"}


def _resumable_upload(wa, connection, content, mime_type, name):
    """Meta's resumable upload, as PyWA does it: a session on the app, then the bytes."""
    session = call(
        wa.api.create_upload_session,
        app_id=connection.app_id,
        file_name=name + RESUMABLE_EXTENSIONS.get(mime_type, ""),
        file_length=len(content),
        file_type=mime_type,
    )
    return call(wa.api.upload_file, upload_session_id=session["id"], file=content)["h"]
