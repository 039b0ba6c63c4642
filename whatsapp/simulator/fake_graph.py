"""A fake WhatsApp Graph API: a real HTTP server that answers like Meta (META_FACTS.md 5-7).

Sends are accepted with a wamid, then signed sent/delivered/read webhooks follow in the
background, as they do from Meta. Tests script errors, delays and dropped connections, and
for media an expired download URL or bytes that do not match the advertised checksum.
`/_fake/...` endpoints let another process configure and drive it. Run it alone with:

    python -m whatsapp.simulator.fake_graph --port 8001 [--status-delay 0.5]
"""

import argparse
import base64
import email.parser
import email.policy
import hashlib
import json
import logging
import re
import secrets
import signal
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from whatsapp.simulator import payloads, template_check

logger = logging.getLogger(__name__)

VERSION = r"/v\d+\.\d+"
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF_SECONDS = 0.2
TYPING_SECONDS = 25  # Meta shows "typing…" until the business answers, or for 25 s at most
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
DROP = object()  # a handler's answer meaning: close the connection without a response


class GraphError(Exception):
    """An error answered with Meta's body shape."""

    def __init__(self, code, message, http_status=400, details=""):
        super().__init__(message)
        self.code, self.message, self.http_status, self.details = code, message, http_status, details

    def body(self):
        return payloads.graph_error(self.code, self.message, self.details)


@dataclass
class Number:
    phone_number_id: str
    webhook_url: str
    app_secret: str
    display_phone_number: str = "15550001111"
    waba_id: str = "WABA_ID"
    access_token: str | None = None
    # What GET /{phone-number-id} answers; tests change them to play a number in trouble.
    verified_name: str = "Fake Business"
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_1K"
    name_status: str = "APPROVED"
    # Numbers added in WhatsApp Manager are registered for the Cloud API with their PIN.
    registered: bool = True
    pin: str = "000000"
    profile: dict | None = None
    profile_photo: bytes | None = None  # the last photo set through a resumable upload


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: object
    body: bytes

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise GraphError(100, "Invalid parameter", details="The request body is not valid JSON.")

    @property
    def bearer(self):
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""


class _Server(ThreadingHTTPServer):
    # Meta takes many connections at once: socketserver's default backlog of 5 refused a
    # worker's side-by-side sends (connection reset) before any reached a handler.
    request_queue_size = 256


class FakeGraphAPI:
    def __init__(self, host="127.0.0.1", port=0, status_delay=0.3, review_delay=None):
        """`review_delay`: seconds after which Meta's review approves a created or edited
        template by itself (the demo); None leaves the review to review_template()."""
        self.host, self.port, self.status_delay, self.review_delay = host, port, status_delay, review_delay
        self.numbers, self.media, self.script = {}, {}, []
        self.sent, self.marked_read = [], []
        self.inbound = []  # what the simulated customers sent: phone_number_id, wa_id, wamid, time
        self.templates = {}  # waba id -> list of Meta-shaped template objects
        self.upload_sessions = {}  # resumable upload session id -> {app_id, file_type, data}
        self.media_script, self.uploads, self.media_requests = [], [], []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._generation = 0  # a reset forgets the status webhooks still to come
        self._server = None
        self.routes = [
            ("POST", r"/_fake/numbers", self._fake_register),
            ("GET", r"/_fake/sent", self._fake_sent),
            ("POST", r"/_fake/script", self._fake_script),
            ("POST", r"/_fake/reset", self._fake_reset),
            ("POST", r"/_fake/customer", self._fake_customer),
            ("GET", r"/_fake/customer", self._fake_business_side),
            ("POST", r"/_fake/templates/(?P<template_id>\d+)/review", self._fake_review),
            ("GET", r"/_fake/media/(?P<media_id>[^/]+)", self._download_media),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/messages", self._messages),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/media", self._upload_media),
            ("GET", VERSION + r"/(?P<waba_id>[^/]+)/message_templates", self._list_templates),
            ("POST", VERSION + r"/(?P<waba_id>[^/]+)/message_templates", self._create_template),
            ("DELETE", VERSION + r"/(?P<waba_id>[^/]+)/message_templates", self._delete_template),
            ("GET", VERSION + r"/(?P<waba_id>[^/]+)/phone_numbers", self._list_numbers),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/register", self._register),
            ("GET", VERSION + r"/(?P<phone_number_id>[^/]+)/whatsapp_business_profile", self._get_profile),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/whatsapp_business_profile", self._update_profile),
            ("POST", VERSION + r"/(?P<app_id>[^/]+)/uploads", self._create_upload_session),
            ("POST", VERSION + r"/(?P<session_id>upload:[^/]+)", self._upload_file),
            ("POST", VERSION + r"/(?P<template_id>\d+)", self._edit_template),
            ("GET", VERSION + r"/(?P<object_id>[^/]+)", self._number_or_media_info),
            ("DELETE", VERSION + r"/(?P<media_id>[^/]+)", self._delete_media),
        ]

    # Lifecycle

    running = weakref.WeakSet()  # every started fake, so tests can quiet them all

    def start(self):
        FakeGraphAPI.running.add(self)
        self._server = _Server((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        self._stopped.clear()
        # A short poll interval keeps stop() fast: tests start and stop a fake each.
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-graph", daemon=True)
        serve.start()
        logger.info("Fake Graph API listening on %s", self.url)
        return self

    def stop(self):
        FakeGraphAPI.running.discard(self)
        self._stopped.set()  # status threads stop sending webhooks
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        host, port = self._server.server_address[:2] if self._server else (self.host, self.port)
        return f"http://{host}:{port}"

    # Configuration and scripting, for tests in this process

    def register_number(
        self,
        phone_number_id,
        webhook_url,
        app_secret,
        display_phone_number="15550001111",
        waba_id="WABA_ID",
        access_token=None,
    ):
        number = Number(str(phone_number_id), webhook_url, app_secret, display_phone_number, waba_id, access_token)
        with self._lock:
            self.numbers[number.phone_number_id] = number
        return number

    def script_error(
        self,
        phone_number_id=None,
        code=131047,
        message="Re-engagement message",
        http_status=400,
        details="Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
        times=1,
    ):
        error = GraphError(code, message, http_status, details)
        self._push_script("error", phone_number_id, times, error=error)

    def script_delay(self, seconds, times=1, phone_number_id=None):
        self._push_script("delay", phone_number_id, times, seconds=seconds)

    def script_drop(self, times=1, phone_number_id=None):
        self._push_script("drop", phone_number_id, times)

    def script_media_url_expired(self, media_id=None, times=1):
        """The next download(s) answer 404, as a URL older than 5 minutes does at Meta."""
        self._push_media_script("expired", media_id, times)

    def script_media_corrupt(self, media_id=None, times=1):
        """The next download(s) serve bytes that differ from the advertised sha256 and size."""
        self._push_media_script("corrupt", media_id, times)

    def reset(self):
        with self._lock:
            self._generation += 1
            self.script.clear()
            self.sent.clear()
            self.marked_read.clear()
            self.inbound.clear()
            self.media_script.clear()
            self.uploads.clear()
            self.media_requests.clear()
            self.templates.clear()

    def sent_messages(self, phone_number_id=None, to=None):
        with self._lock:
            records = list(self.sent)
        return [
            record
            for record in records
            if phone_number_id in (None, record["phone_number_id"])
            and (to is None or _digits(record["to"]) == _digits(to))
        ]

    def add_template(
        self,
        waba_id,
        name,
        body=None,
        language="en_US",
        status="APPROVED",
        category="UTILITY",
        components=None,
        parameter_format=None,
    ):
        """A message template as Meta lists it; returns its id. `components` in Meta's
        shape (HEADER, BODY, FOOTER, BUTTONS), or only a body's text."""
        template = {
            "id": str(10**14 + secrets.randbelow(9 * 10**14)),
            "name": name,
            "language": language,
            "status": status,
            "category": category,
            "components": components or [{"type": "BODY", "text": body}],
        }
        if parameter_format:
            template["parameter_format"] = parameter_format
        with self._lock:
            self.templates.setdefault(str(waba_id), []).append(template)
        return template["id"]

    def template(self, template_id):
        """The stored template of this id (Meta's shape), or None."""
        with self._lock:
            for templates in self.templates.values():
                for template in templates:
                    if template["id"] == str(template_id):
                        return dict(template)
        return None

    def review_template(self, template_id, event="APPROVED", reason=None, rejection_info=None):
        """Meta's review: the template's status changes and a signed message_template_status_update
        webhook goes to the numbers of its WhatsApp Business Account (to the first one only: one
        app's webhook URL serves them all). Returns whether it was delivered."""
        with self._lock:
            found = [
                (waba_id, template)
                for waba_id, templates in self.templates.items()
                for template in templates
                if template["id"] == str(template_id)
            ]
            if not found:
                raise KeyError(f"No template {template_id}")
            waba_id, template = found[0]
            template["status"] = event
            numbers = [number for number in self.numbers.values() if number.waba_id == waba_id and number.webhook_url]
        value = {
            "event": event,
            "message_template_id": int(template["id"]),
            "message_template_name": template["name"],
            "message_template_language": template["language"],
            "reason": reason or "NONE",
            "message_template_category": template["category"],
        }
        if rejection_info:
            value["rejection_info"] = rejection_info
        if not numbers:
            return False
        return self._deliver_webhook(
            numbers[0], payloads.field_update("message_template_status_update", value, waba_id)
        )

    def _create_template(self, request, waba_id):
        self._authenticate(request)
        body = request.json()
        name, language, category = body.get("name"), body.get("language"), str(body.get("category") or "").upper()
        for field, value in (("name", name), ("language", language), ("category", category)):
            if not value:
                raise GraphError(100, "Invalid parameter", details=f"Parameter '{field}' is required.")
        if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
            raise GraphError(100, "Invalid parameter", details="Template names use lowercase letters, digits and _.")
        if category not in ("MARKETING", "UTILITY", "AUTHENTICATION"):
            raise GraphError(100, "Invalid parameter", details=f"Invalid category {category}.")
        components = self._checked_components(body.get("components"))
        with self._lock:
            templates = self.templates.setdefault(str(waba_id), [])
            if any(t["name"] == name and t["language"] == language for t in templates):
                raise GraphError(
                    100, "Invalid parameter", details=f"Content in this language already exists for {name}."
                )
            template = {
                "id": str(10**14 + secrets.randbelow(9 * 10**14)),
                "name": name,
                "language": language,
                "status": "PENDING",
                "category": category,
                "components": components,
            }
            templates.append(template)
        self._review_later(template["id"])
        return _json({"id": template["id"], "status": "PENDING", "category": category})

    def _review_later(self, template_id):
        if self.review_delay is None:
            return
        generation = self._generation

        def review():
            if not self._stopped.wait(self.review_delay) and generation == self._generation:
                self.review_template(template_id, "APPROVED")

        threading.Thread(target=review, name="fake-review", daemon=True).start()

    def _checked_components(self, components):
        """Meta's checks that matter here: a body, and an example for every variable."""
        if not isinstance(components, list) or not any(
            isinstance(c, dict) and str(c.get("type", "")).upper() == "BODY" for c in components
        ):
            raise GraphError(100, "Invalid parameter", details="A template needs a BODY component.")
        for component in components:
            media = str(component.get("format", "")).upper() in ("IMAGE", "VIDEO", "DOCUMENT")
            if component.get("type") == "HEADER" and media:
                handles = (component.get("example") or {}).get("header_handle") or [""]
                with self._lock:
                    known = any(s.get("handle") == handles[0] for s in self.upload_sessions.values())
                if not known:
                    raise GraphError(100, "Invalid parameter", details="A media header needs an uploaded example.")
            text = component.get("text") or ""
            if re.search(r"{{\s*\w+\s*}}", text) and not component.get("example"):
                raise GraphError(
                    100,
                    "Invalid parameter",
                    details=f"The {component.get('type', '').lower()} has variables and needs an example.",
                )
        return components

    def _edit_template(self, request, template_id):
        self._authenticate(request)
        body = request.json()
        with self._lock:
            matches = [t for ts in self.templates.values() for t in ts if t["id"] == template_id]
        if not matches:
            raise GraphError(100, "Unsupported post request", details=f"Object with ID '{template_id}' does not exist.")
        components = self._checked_components(body.get("components"))
        with self._lock:
            matches[0]["components"] = components
            if body.get("category"):
                matches[0]["category"] = str(body["category"]).upper()
            matches[0]["status"] = "PENDING"
        self._review_later(template_id)
        return _json({"success": True})

    def _delete_template(self, request, waba_id):
        self._authenticate(request)
        name, hsm_id = request.query.get("name"), request.query.get("hsm_id")
        with self._lock:
            templates = self.templates.get(waba_id, [])
            kept = [t for t in templates if not (t["name"] == name and hsm_id in (None, t["id"]))]
            if len(kept) == len(templates):
                raise GraphError(100, "Invalid parameter", details=f"Message template {name} was not found.")
            self.templates[waba_id] = kept
        return _json({"success": True})

    # Numbers of a WhatsApp Business Account

    def add_account_number(
        self,
        waba_id,
        phone_number_id,
        display_phone_number,
        webhook_url="",
        app_secret="",
        verified_name="Fake Business",
        pin="123456",
        access_token=None,
    ):
        """A number of the account that is not registered for the Cloud API yet, as one added in
        WhatsApp Manager is; POST /{id}/register with its `pin` registers it."""
        number = self.register_number(
            phone_number_id, webhook_url, app_secret, display_phone_number, waba_id, access_token
        )
        number.verified_name, number.pin, number.registered = verified_name, pin, False
        number.name_status = "APPROVED"
        return number

    def _list_numbers(self, request, waba_id):
        self._authenticate(request)
        with self._lock:
            numbers = [number for number in self.numbers.values() if number.waba_id == waba_id]
        return _json(
            {
                "data": [
                    {
                        "id": number.phone_number_id,
                        "display_phone_number": "+" + number.display_phone_number,
                        "verified_name": number.verified_name,
                        "name_status": number.name_status,
                        "quality_rating": number.quality_rating,
                        "messaging_limit_tier": number.messaging_limit_tier,
                        "code_verification_status": "VERIFIED",
                        "platform_type": "CLOUD_API" if number.registered else "NOT_APPLICABLE",
                        "status": "CONNECTED" if number.registered else "PENDING",
                    }
                    for number in numbers
                ],
                "paging": {"cursors": {"before": "", "after": ""}},
            }
        )

    def _register(self, request, phone_number_id):
        number = self._number(phone_number_id)
        self._authenticate(request, number)
        body = request.json()
        if not re.fullmatch(r"\d{6}", str(body.get("pin") or "")):
            raise GraphError(100, "Invalid parameter", details="The PIN must be 6 digits.")
        if str(body["pin"]) != number.pin:
            raise GraphError(133005, "Two step verification PIN Mismatch", details="The PIN is not this number's.")
        number.registered = True
        return _json({"success": True})

    def _get_profile(self, request, phone_number_id):
        number = self._number(phone_number_id)
        self._authenticate(request, number)
        profile = {"messaging_product": "whatsapp", "about": "Hello", "websites": [], **(number.profile or {})}
        wanted = [name for name in request.query.get("fields", "").split(",") if name]
        return _json({"data": [{k: v for k, v in profile.items() if not wanted or k in wanted}]})

    def _update_profile(self, request, phone_number_id):
        number = self._number(phone_number_id)
        self._authenticate(request, number)
        body = request.json()
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "Invalid parameter", details="messaging_product must be 'whatsapp'.")
        if len(body.get("websites") or []) > 2:
            raise GraphError(100, "Invalid parameter", details="At most 2 websites.")
        profile = dict(number.profile or {})
        for name in ("about", "address", "description", "email", "websites", "vertical"):
            if name in body:
                profile[name] = body[name]
        handle = body.get("profile_picture_handle")
        if handle:
            with self._lock:
                uploaded = [s for s in self.upload_sessions.values() if s.get("handle") == handle]
            if not uploaded:
                raise GraphError(100, "Invalid parameter", details="Unknown profile_picture_handle.")
            profile["profile_picture_url"] = f"{self.url}/_fake/profile/{phone_number_id}.jpg"
            number.profile_photo = uploaded[0]["data"]
        number.profile = profile
        return _json({"success": True})

    def _create_upload_session(self, request, app_id):
        self._authenticate(request)
        file_type = request.query.get("file_type", "")
        if not app_id.isdigit():
            raise GraphError(100, "Invalid parameter", details=f"Unknown app id {app_id!r}.")
        if file_type not in ("image/jpeg", "image/jpg", "image/png", "application/pdf", "video/mp4"):
            raise GraphError(100, "Invalid parameter", details=f"Unsupported file_type {file_type!r}.")
        session_id = "upload:" + secrets.token_urlsafe(12)
        with self._lock:
            self.upload_sessions[session_id] = {"app_id": app_id, "file_type": file_type, "data": b""}
        return _json({"id": session_id})

    def _upload_file(self, request, session_id):
        with self._lock:
            session = self.upload_sessions.get(session_id)
        if session is None:
            raise GraphError(100, "Invalid parameter", details="Unknown upload session.")
        if request.headers.get("Authorization", "").split(" ")[0].lower() not in ("oauth", "bearer"):
            raise GraphError(190, "Error validating access token", http_status=401)
        with self._lock:
            session["data"] = request.body
            session["handle"] = "4::" + base64.b64encode(secrets.token_bytes(12)).decode()
        return _json({"h": session["handle"]})

    def _list_templates(self, request, waba_id):
        self._authenticate(request)
        with self._lock:
            templates = list(self.templates.get(waba_id, []))
        return _json({"data": templates, "paging": {"cursors": {"before": "", "after": ""}}})

    def add_media(self, data, mime_type, phone_number_id=None):
        """Store media as if a customer had sent it; returns its media id."""
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))
        item = {
            "data": data,
            "mime_type": mime_type,
            "phone_number_id": phone_number_id,
            "url_token": secrets.token_urlsafe(12),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        with self._lock:
            self.media[media_id] = item
        return media_id

    def customer_sends_media(
        self,
        phone_number_id,
        wa_id,
        kind,
        data,
        mime_type,
        name="Customer",
        caption=None,
        filename=None,
        voice=None,
        **kwargs,
    ):
        """A customer's image, video, audio, document or sticker: the file is stored here and
        a signed webhook names it, with its sha256 in base64 as Meta's webhooks give it.
        Returns (wamid, media_id)."""
        number = self._number(phone_number_id)
        media_id = self.add_media(data, mime_type, number.phone_number_id)
        body = {
            "id": media_id,
            "mime_type": mime_type,
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        }
        extras = {"caption": caption, "filename": filename, "voice": voice}
        body.update({key: value for key, value in extras.items() if value is not None})
        wamid = self._customer_sends(number, payloads.message, wa_id, kind, body, name=name, **kwargs)
        return wamid, media_id

    def uploaded(self, phone_number_id=None):
        """The files uploaded through POST /{phone-number-id}/media, oldest first."""
        with self._lock:
            return [upload for upload in self.uploads if phone_number_id in (None, upload["phone_number_id"])]

    def _push_media_script(self, kind, media_id, times):
        with self._lock:
            self.media_script.append({"kind": kind, "media_id": media_id, "times": times})

    def _next_media_script(self, media_id):
        with self._lock:
            for step in self.media_script:
                if step["media_id"] in (None, media_id):
                    step["times"] -= 1
                    if step["times"] <= 0:
                        self.media_script.remove(step)
                    return step["kind"]
        return None

    def customer_says(self, phone_number_id, wa_id, text, name="Customer", **kwargs):
        """Deliver a signed inbound text to the number's webhook now; returns its wamid."""
        number = self._number(phone_number_id)
        return self._customer_sends(number, payloads.text_message, wa_id, text, name=name, **kwargs)

    def customer_shares_location(self, phone_number_id, wa_id, latitude, longitude, **kwargs):
        """A pin, or a place with `place_name` and `address`; returns the message's wamid."""
        number = self._number(phone_number_id)
        return self._customer_sends(number, payloads.location_message, wa_id, latitude, longitude, **kwargs)

    def customer_shares_contacts(self, phone_number_id, wa_id, cards, **kwargs):
        """Contact cards (payloads.contact_card); returns the message's wamid."""
        number = self._number(phone_number_id)
        return self._customer_sends(number, payloads.contacts_message, wa_id, cards, **kwargs)

    def customer_reacts(self, phone_number_id, wa_id, target_wamid, emoji, **kwargs):
        """The customer reacts to a message (an empty emoji removes the reaction)."""
        number = self._number(phone_number_id)
        return self._customer_sends(number, payloads.reaction_message, wa_id, target_wamid, emoji, **kwargs)

    def customer_taps(self, phone_number_id, wa_id, wamid, choice, **kwargs):
        """The customer taps a reply button, or chooses a list row, of the interactive message
        the business sent as `wamid`; `choice` is the button's or row's id or title. Raises
        GraphError when that message has no such choice, as the phone would offer none."""
        number = self._number(phone_number_id)
        with self._lock:
            sent = next((record["body"] for record in self.sent if record["wamid"] == wamid), None)
        reply = _choice(sent, choice)
        if reply is None:
            raise GraphError(100, "Invalid parameter", details=f"Message {wamid} offers no choice {choice!r}.")
        kwargs.setdefault("display_phone_number", number.display_phone_number)
        return self._customer_sends(number, payloads.interactive_reply, wa_id, wamid, *reply, **kwargs)

    def business_side(self, phone_number_id, wa_id):
        """What the customer's phone shows of the business: the customer's messages it has
        read (blue ticks, each read receipt covering the messages before it) and whether it
        is typing now."""
        now = time.time()
        with self._lock:
            mine = [
                item for item in self.inbound if (item["phone_number_id"], item["wa_id"]) == (phone_number_id, wa_id)
            ]
            receipts = [r for r in self.marked_read if r["phone_number_id"] == phone_number_id]
            answered = [
                r["time"] for r in self.sent if r["phone_number_id"] == phone_number_id and _digits(r["to"]) == wa_id
            ]
        wamids = {item["wamid"] for item in mine}
        receipts = [receipt for receipt in receipts if receipt["body"]["message_id"] in wamids]
        read = {receipt["body"]["message_id"] for receipt in receipts}
        latest = max((index for index, item in enumerate(mine) if item["wamid"] in read), default=-1)
        typing_since = max((r["time"] for r in receipts if r["body"].get("typing_indicator")), default=None)
        typing = bool(
            typing_since and now - typing_since < TYPING_SECONDS and not any(at > typing_since for at in answered)
        )
        return {"read": [item["wamid"] for item in mine[: latest + 1]], "typing": typing}

    def _customer_sends(self, number, build, wa_id, *args, **kwargs):
        """Build a customer's message for `number` (a payloads function), record it, deliver it
        signed to the number's webhook now, and return its wamid."""
        kwargs.setdefault("display_phone_number", number.display_phone_number)
        kwargs.setdefault("waba_id", number.waba_id)
        payload = build(number.phone_number_id, wa_id, *args, **kwargs)
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        with self._lock:
            self.inbound.append(
                {
                    "phone_number_id": number.phone_number_id,
                    "wa_id": _digits(wa_id),
                    "wamid": wamid,
                    "time": time.time(),
                }
            )
        self._deliver_webhook(number, payload)
        return wamid

    def _push_script(self, kind, phone_number_id, times, **fields):
        pnid = None if phone_number_id is None else str(phone_number_id)
        with self._lock:
            self.script.append({"kind": kind, "phone_number_id": pnid, "times": times, **fields})

    def _next_script(self, phone_number_id):
        """Consume one use of the first scripted behaviour that applies to this number."""
        with self._lock:
            for step in self.script:
                if step["phone_number_id"] in (None, phone_number_id):
                    step["times"] -= 1
                    if step["times"] <= 0:
                        self.script.remove(step)
                    return step
        return None

    def _number(self, phone_number_id):
        with self._lock:
            number = self.numbers.get(str(phone_number_id))
        if number is None:
            raise GraphError(100, "Invalid parameter", details=f"Unknown phone number id {phone_number_id}.")
        return number

    # Graph endpoints

    def dispatch(self, request):
        """Route one request; returns (http_status, content_type, body bytes) or DROP."""
        try:
            for method, pattern, handler in self.routes:
                match = re.fullmatch(pattern, request.path)
                if match and method == request.method:
                    return handler(request, **match.groupdict())
            raise GraphError(
                100,
                "Unsupported request",
                http_status=404,
                details=f"Unknown path components: {request.method} {request.path}",
            )
        except GraphError as error:
            return _json(error.body(), error.http_status)

    def _authenticate(self, request, number=None):
        token = request.bearer
        if not token or (number and number.access_token and token != number.access_token):
            raise GraphError(
                190,
                "Error validating access token",
                http_status=401,
                details="The access token is missing, invalid or expired.",
            )

    def _messages(self, request, phone_number_id):
        self._authenticate(request)  # like Meta: no token is refused before anything is looked up
        number = self._number(phone_number_id)
        self._authenticate(request, number)
        body = request.json()
        if not number.registered:
            raise GraphError(
                133010,
                "Account not registered",
                details="Phone number not registered on the WhatsApp Business Platform.",
            )
        if body.get("status") == "read":
            return self._mark_read(number, body)
        # Scripts answer message sends only, so a background read receipt never eats them.
        step = self._next_script(number.phone_number_id)
        if step and step["kind"] == "error":
            raise step["error"]
        if step and step["kind"] == "drop":
            return DROP
        if step and step["kind"] == "delay":
            time.sleep(step["seconds"])
        return self._accept_message(number, body)

    def _mark_read(self, number, body):
        if not body.get("message_id"):
            raise GraphError(131008, "Required parameter is missing", details="Parameter 'message_id' is required.")
        with self._lock:
            self.marked_read.append({"phone_number_id": number.phone_number_id, "body": body, "time": time.time()})
        return _json({"success": True})

    def _accept_message(self, number, body):
        to = body.get("to") or body.get("recipient")
        kind = body.get("type", "text")
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "Invalid parameter", details="messaging_product must be 'whatsapp'.")
        for field, value in (("to", to), (kind, body.get(kind))):
            if not value:
                raise GraphError(131008, "Required parameter is missing", details=f"Parameter '{field}' is required.")
        if kind == "interactive":
            _check_interactive(body["interactive"])
        media_id = body[kind].get("id") if isinstance(body[kind], dict) else None
        if kind == "template":
            media_id = self._check_template(number, body["template"])
        with self._lock:
            unknown_media = media_id is not None and str(media_id) not in self.media
        if unknown_media:
            raise GraphError(131053, "Media upload error", details=f"Media id {media_id} does not exist or expired.")
        wamid = payloads.new_wamid()
        record = {
            "phone_number_id": number.phone_number_id,
            "to": to,
            "body": body,
            "wamid": wamid,
            "time": time.time(),
        }
        with self._lock:
            self.sent.append(record)
        # A reaction only ever gets `sent` (META_FACTS.md section 2).
        statuses = ("sent",) if kind == "reaction" else payloads.STATUS_ORDER
        tracker = body.get("biz_opaque_callback_data")
        threading.Thread(
            target=self._send_statuses, args=(number, wamid, _digits(to), statuses, tracker), daemon=True
        ).start()
        return _json(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": _digits(to)}],
                "messages": [{"id": wamid}],
            }
        )

    def _check_template(self, number, sent):
        """Check a template send against the template's components as Meta does; returns the
        media id of its header, if any, for the caller's media check."""
        language = (sent.get("language") or {}).get("code")
        with self._lock:
            # A number registered without its WABA (many tests) finds templates of any.
            pool = self.templates.get(number.waba_id) or [t for ts in self.templates.values() for t in ts]
            listed = [t for t in pool if t["name"] == sent.get("name")]
        template = next((t for t in listed if t["language"] == language), None)
        if template is None or template["status"] != "APPROVED":
            raise GraphError(
                132001,
                "Template name does not exist in the translation",
                details=f"template name ({sent.get('name')}) does not exist in {language}",
            )
        try:
            return template_check.check(template, sent.get("components") or [])
        except template_check.Refused as refused:
            raise GraphError(refused.code, refused.message, details=refused.details)

    def _send_statuses(self, number, wamid, recipient_id, statuses, tracker):
        generation = self._generation
        for status in statuses:
            if self._stopped.wait(self.status_delay) or generation != self._generation:
                return
            payload = payloads.status(
                number.phone_number_id,
                wamid,
                status,
                recipient_id,
                tracker=tracker,
                display_phone_number=number.display_phone_number,
                waba_id=number.waba_id,
            )
            self._deliver_webhook(number, payload)

    def _deliver_webhook(self, number, payload):
        """Sign and POST, retrying briefly. Only 200 counts, as with Meta. Never raises."""
        if not number.webhook_url:
            return False
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            try:
                response = payloads.deliver(number.webhook_url, payload, number.app_secret)
                if response.status_code == 200:
                    return True
                problem = f"HTTP {response.status_code}"
            except Exception as error:  # a webhook failure must never take the server down
                problem = repr(error)
            logger.warning("Webhook to %s failed (attempt %d): %s", number.webhook_url, attempt, problem)
            if attempt < WEBHOOK_ATTEMPTS and self._stopped.wait(WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)):
                return False
        return False

    # Media

    def _upload_media(self, request, phone_number_id):
        number = self._number(phone_number_id)
        self._authenticate(request, number)
        fields = _multipart_fields(request)
        if "file" not in fields:
            raise GraphError(100, "Invalid parameter", details="Parameter 'file' is required.")
        data, file_type = fields["file"]
        mime_type = fields.get("type", (b"", None))[0].decode() or file_type
        media_id = self.add_media(data, mime_type, number.phone_number_id)
        with self._lock:
            self.uploads.append(
                {
                    "phone_number_id": number.phone_number_id,
                    "media_id": media_id,
                    "mime_type": mime_type,
                    "size": len(data),
                    "time": time.time(),
                }
            )
        return _json({"id": media_id})

    def _media_item(self, request, media_id):
        with self._lock:
            item = self.media.get(media_id)
            owner = self.numbers.get(item["phone_number_id"]) if item and item["phone_number_id"] else None
        if item is None:
            raise GraphError(100, "Unsupported get request", details=f"Object with ID '{media_id}' does not exist.")
        self._authenticate(request, owner)
        return item

    def _number_or_media_info(self, request, object_id):
        with self._lock:
            number = self.numbers.get(object_id)
        return self._number_info(request, number) if number else self._media_info(request, object_id)

    def _number_info(self, request, number):
        """The phone number node, with only the fields asked for (and its id), as Meta does."""
        self._authenticate(request, number)
        node = {
            "id": number.phone_number_id,
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
            "quality_rating": number.quality_rating,
            "messaging_limit_tier": number.messaging_limit_tier,
            "throughput": {"level": "STANDARD"},
        }
        wanted = [name for name in request.query.get("fields", "").split(",") if name]
        return _json({key: value for key, value in node.items() if key == "id" or not wanted or key in wanted})

    def _media_info(self, request, media_id):
        item = self._media_item(request, media_id)
        base = f"http://{request.headers['Host']}" if request.headers.get("Host") else self.url
        with self._lock:
            # Each answer is a new URL and the older ones stop working, as at Meta.
            item["url_token"] = secrets.token_urlsafe(12)
            self.media_requests.append(("url", media_id))
        return _json(
            {
                "messaging_product": "whatsapp",
                "url": f"{base}/_fake/media/{media_id}?token={item['url_token']}",
                "mime_type": item["mime_type"],
                "sha256": item["sha256"],
                "file_size": len(item["data"]),
                "id": media_id,
            }
        )

    def _download_media(self, request, media_id):
        item = self._media_item(request, media_id)
        scripted = self._next_media_script(media_id)
        with self._lock:
            self.media_requests.append(("download", media_id))
        if scripted == "expired" or request.query.get("token") != item["url_token"]:
            raise GraphError(100, "Media URL expired", http_status=404, details="Fetch a new media URL.")
        if scripted == "corrupt":
            return 200, item["mime_type"], item["data"][:-1] + bytes([item["data"][-1] ^ 0xFF])
        return 200, item["mime_type"], item["data"]

    def _delete_media(self, request, media_id):
        self._media_item(request, media_id)
        with self._lock:
            self.media.pop(media_id, None)
        return _json({"success": True})

    # /_fake endpoints, for a separate process (the demo) to drive the fake

    def _fake_register(self, request):
        number = self.register_number(**request.json())
        return _json({"success": True, "phone_number_id": number.phone_number_id})

    def _fake_sent(self, request):
        records = self.sent_messages(request.query.get("phone_number_id"), request.query.get("to"))
        return _json({"data": records})

    def _fake_script(self, request):
        fields = request.json()
        actions = {"error": self.script_error, "delay": self.script_delay, "drop": self.script_drop}
        action = actions.get(fields.pop("kind", None))
        if action is None:
            raise GraphError(100, "Invalid parameter", details="kind must be error, delay or drop.")
        action(**fields)
        return _json({"success": True})

    def _fake_reset(self, request):
        self.reset()
        return _json({"success": True})

    def _fake_review(self, request, template_id):
        fields = request.json()
        try:
            delivered = self.review_template(
                template_id, fields.get("event", "APPROVED"), fields.get("reason"), fields.get("rejection_info")
            )
        except KeyError:
            raise GraphError(100, "Invalid parameter", http_status=404, details=f"No template {template_id}.")
        return _json({"success": True, "delivered": delivered})

    def _fake_customer(self, request):
        """The simulated customer sends a message: `type` (text when absent) and its fields,
        as the customer_* methods take them; a file comes as base64 `data`."""
        fields = request.json()
        try:
            number_id, wa_id, kind = fields.pop("phone_number_id"), fields.pop("wa_id"), fields.pop("type", "text")
            if kind in MEDIA_KINDS:
                fields["data"] = base64.b64decode(fields["data"], validate=True)
                wamid, _ = self.customer_sends_media(number_id, wa_id, kind, **fields)
            else:
                send = {
                    "text": self.customer_says,
                    "location": self.customer_shares_location,
                    "contacts": self.customer_shares_contacts,
                    "reaction": self.customer_reacts,
                    "reply": self.customer_taps,
                }.get(kind)
                if send is None:
                    raise GraphError(100, "Invalid parameter", details=f"A customer cannot send {kind!r}.")
                wamid = send(number_id, wa_id, **fields)
        except (KeyError, TypeError, ValueError) as error:
            raise GraphError(100, "Invalid parameter", details=f"Not a customer's message: {error}")
        return _json({"wamid": wamid})

    def _fake_business_side(self, request):
        side = self.business_side(request.query.get("phone_number_id", ""), _digits(request.query.get("wa_id")))
        return _json(side)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer()

    do_POST = do_DELETE = do_GET

    def _answer(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, parts.path, dict(parse_qsl(parts.query)), self.headers, self.rfile.read(length))
        try:
            answer = self.server.fake.dispatch(request)
        except Exception:
            logger.exception("Fake Graph API crashed on %s %s", self.command, parts.path)
            answer = _json(GraphError(1, "An unknown error occurred", 500).body(), 500)
        if answer is DROP:
            logger.info("%s %s -> dropped", self.command, parts.path)
            self.close_connection = True
            return
        status, content_type, body = answer
        # The path only: queries can carry a media URL token, and headers the access token.
        logger.info("%s %s -> %d", self.command, parts.path, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # _answer logs one line per request, without the default stderr noise


def _json(data, status=200):
    return status, "application/json", json.dumps(data).encode()


INTERACTIVE_TYPES = ("button", "list", "cta_url", "location_request_message", "product", "product_list", "flow")


def _check_interactive(interactive):
    """Refuse, as Meta does with 131009, the interactive messages WhatsApp cannot show
    (META_FACTS.md 9.1): an unknown type, no body text, more than 3 buttons or 10 rows, or
    titles past their length."""

    def invalid(details):
        return GraphError(131009, "Parameter value is not valid", details=details)

    if not isinstance(interactive, dict) or interactive.get("type") not in INTERACTIVE_TYPES:
        raise invalid("interactive.type is not one WhatsApp knows.")
    if not (interactive.get("body") or {}).get("text"):
        raise invalid("interactive.body.text is required.")
    action = interactive.get("action") or {}
    if interactive["type"] == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3 or any(len(b.get("reply", {}).get("title", "")) > 20 for b in buttons):
            raise invalid("Reply buttons: 1 to 3, titles of at most 20 characters.")
    if interactive["type"] == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10 or any(len(row.get("title", "")) > 24 for row in rows):
            raise invalid("List rows: 1 to 10, titles of at most 24 characters.")


def _choice(sent, choice):
    """(id, title) of the reply button, or (id, title, description) of the list row, of a sent
    interactive message whose id or title is `choice`; None when it offers no such choice."""
    interactive = (sent or {}).get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        for button in action.get("buttons", []):
            reply = button.get("reply", {})
            if choice in (reply.get("id"), reply.get("title")):
                return reply["id"], reply["title"]
    if interactive.get("type") == "list":
        for row in (row for section in action.get("sections", []) for row in section.get("rows", [])):
            if choice in (row.get("id"), row.get("title")):
                return row["id"], row["title"], row.get("description", "")
    return None


def _digits(phone):
    return re.sub(r"\D", "", phone or "")


def _multipart_fields(request):
    """{name: (bytes, content type)} from a multipart/form-data body (the cgi module is gone)."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        raise GraphError(100, "Invalid parameter", details="Upload media as multipart/form-data.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return {
        part.get_param("name", header="content-disposition"): (part.get_payload(decode=True), part.get_content_type())
        for part in message.iter_parts()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve a fake WhatsApp Graph API until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--status-delay", type=float, default=0.3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fake = FakeGraphAPI(args.host, args.port, args.status_delay).start()
    # Process managers stop us with SIGTERM; exit through `finally` as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
