"""The WhatsApp Cloud API, through PyWA. The rest of the project never sees HTTP: it calls
these functions and catches CloudAPIError.

Every request goes to settings.WHATSAPP_GRAPH_URL: PyWA always builds graph.facebook.com
URLs, so the httpx transport it is given rewrites them (that is how the fake Graph API
stands in for Meta in tests and the demo).
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings
from pywa import WhatsApp
from pywa.errors import WhatsAppError

logger = logging.getLogger(__name__)

META_GRAPH_HOST = "graph.facebook.com"

# Meta's codes worth another try, with backoff (META_FACTS.md section 6).
RETRYABLE_CODES = {1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057, 133004}

# What an agent is told, and what to do next, for the errors a sender meets most.
AGENT_EXPLANATIONS = {
    131047: "The 24-hour window is closed: the customer has not written in the last 24 hours. Send a template.",
    131026: "WhatsApp could not deliver this message: the number may not use WhatsApp. Reach the customer another way.",
    131051: "WhatsApp does not support this message type.",
    131049: "WhatsApp held this marketing message back to protect engagement. Try again in a day or more.",
    131050: "The customer has stopped marketing messages from you.",
    131048: "This number is limited for spam reports. Pause bulk sending and check its quality in WhatsApp Manager.",
    131056: "Too many messages to this customer in a short time. It will be retried shortly.",
    130429: "The number's sending rate limit was reached. It will be retried shortly.",
    133010: "The business number is not registered with the Cloud API. An admin must register it.",
    190: "The WhatsApp access token has expired. An owner must replace it.",
    368: "The WhatsApp account is restricted for a policy violation.",
    100: "WhatsApp rejected the request as invalid.",
    131008: "WhatsApp rejected the message: a required part is missing.",
    131009: "WhatsApp rejected the message: a value is not allowed.",
    132000: "The template's variables do not match the template.",
    132001: "The template does not exist or is not approved in this language.",
}


@dataclass
class CloudAPIError(Exception):
    """A Graph API call that did not succeed. `code` is Meta's error code, or the HTTP
    status, or 0 when no answer came back at all."""

    code: int
    message: str
    details: str = ""
    retryable: bool = False
    outcome_unknown: bool = False  # the request may have reached Meta

    def __str__(self):
        return f"({self.code}) {self.message}"

    @property
    def for_agent(self):
        if self.outcome_unknown:
            return (
                "WhatsApp did not answer in time, so we cannot tell whether this message went out. "
                "Check with the customer before sending it again."
            )
        return AGENT_EXPLANATIONS.get(self.code) or self.details or self.message


class GraphURLTransport(httpx.HTTPTransport):
    """Sends requests PyWA addresses to graph.facebook.com to WHATSAPP_GRAPH_URL instead."""

    def __init__(self, graph_url, **kwargs):
        super().__init__(**kwargs)
        self.graph_url = httpx.URL(graph_url)

    def handle_request(self, request):
        if request.url.host == META_GRAPH_HOST and self.graph_url.host != META_GRAPH_HOST:
            base_path = self.graph_url.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self.graph_url.scheme,
                host=self.graph_url.host,
                port=self.graph_url.port,
                path=base_path + request.url.path,
            )
            request.headers["Host"] = request.url.netloc.decode()
        return super().handle_request(request)


@contextmanager
def client(phone_number, connection):
    """A PyWA client for one business number. It never runs a server or touches webhooks."""
    transport = GraphURLTransport(settings.WHATSAPP_GRAPH_URL)
    with httpx.Client(transport=transport, timeout=settings.WHATSAPP_TIMEOUT_SECONDS) as session:
        yield WhatsApp(
            phone_id=phone_number.phone_number_id,
            token=connection.access_token,
            session=session,
            api_version=settings.WHATSAPP_API_VERSION,
        )


def _call(function, *args, **kwargs):
    """Run one PyWA call, turning every failure into a CloudAPIError."""
    try:
        return function(*args, **kwargs)
    except WhatsAppError as error:
        status = error.status_code or 0
        return_error = CloudAPIError(
            code=error.code,
            message=error.message,
            details=error.details or "",
            retryable=error.code in RETRYABLE_CODES or status >= 500,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        # The request never left: safe to try again.
        return_error = CloudAPIError(code=0, message=f"Graph API unreachable: {error}", retryable=True)
    except httpx.HTTPError as error:
        # It may have reached Meta: a blind retry could send twice.
        return_error = CloudAPIError(
            code=0, message=f"No answer from the Graph API: {error}", retryable=False, outcome_unknown=True
        )
    except ValueError as error:
        return_error = CloudAPIError(code=100, message=str(error))
    raise return_error


def send_message(message):
    """Send one of our outbound messages and return Meta's wamid. Each message carries its
    own id as biz_opaque_callback_data, so status webhooks can always be matched to it."""
    conversation = message.conversation
    sender = _SENDERS.get(message.type)
    if sender is None:
        raise CloudAPIError(code=131051, message=f"This inbox cannot send {message.type} messages yet.")
    common = {
        "to": conversation.contact.recipient,
        "reply_to_message_id": message.reply_to_wamid or None,
        "tracker": f"message:{message.pk}",
    }
    with client(conversation.phone_number, message.tenant.whatsapp) as wa:
        sent = _call(sender, wa, message, common)
    return sent.id


def _send_text(wa, message, common):
    return wa.send_message(text=message.text, **common)


def _send_media(wa, message, common):
    # Upload once, send by media id: whatsapp/cloud_media.py.
    from .cloud_media import send_media

    return send_media(wa, message, common)


# How each message type is sent: (PyWA client, message, common arguments) -> SentMessage.
_SENDERS = {
    "text": _send_text,
    **dict.fromkeys(("image", "video", "audio", "document", "sticker"), _send_media),
}
