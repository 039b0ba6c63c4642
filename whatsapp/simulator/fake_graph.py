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

from whatsapp.simulator import payloads

logger = logging.getLogger(__name__)

VERSION = r"/v\d+\.\d+"
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF_SECONDS = 0.2
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
    def __init__(self, host="127.0.0.1", port=0, status_delay=0.3):
        self.host, self.port, self.status_delay = host, port, status_delay
        self.numbers, self.media, self.script = {}, {}, []
        self.sent, self.marked_read = [], []
        self.templates = {}  # waba id -> list of Meta-shaped template objects
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
            ("GET", r"/_fake/media/(?P<media_id>[^/]+)", self._download_media),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/messages", self._messages),
            ("POST", VERSION + r"/(?P<phone_number_id>[^/]+)/media", self._upload_media),
            ("GET", VERSION + r"/(?P<waba_id>[^/]+)/message_templates", self._list_templates),
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
            self.media_script.clear()
            self.uploads.clear()
            self.media_requests.clear()

    def sent_messages(self, phone_number_id=None, to=None):
        with self._lock:
            records = list(self.sent)
        return [
            record
            for record in records
            if phone_number_id in (None, record["phone_number_id"])
            and (to is None or _digits(record["to"]) == _digits(to))
        ]

    def add_template(self, waba_id, name, body, language="en_US", status="APPROVED", category="UTILITY"):
        """A message template as Meta lists it; returns its id."""
        template = {
            "id": str(10**14 + secrets.randbelow(9 * 10**14)),
            "name": name,
            "language": language,
            "status": status,
            "category": category,
            "components": [{"type": "BODY", "text": body}],
        }
        with self._lock:
            self.templates.setdefault(str(waba_id), []).append(template)
        return template["id"]

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
        kwargs.setdefault("display_phone_number", number.display_phone_number)
        kwargs.setdefault("waba_id", number.waba_id)
        payload = payloads.message(number.phone_number_id, wa_id, kind, body, name=name, **kwargs)
        self._deliver_webhook(number, payload)
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"], media_id

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
        kwargs.setdefault("display_phone_number", number.display_phone_number)
        kwargs.setdefault("waba_id", number.waba_id)
        payload = payloads.text_message(number.phone_number_id, wa_id, text, name=name, **kwargs)
        self._deliver_webhook(number, payload)
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

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
        media_id = body[kind].get("id") if isinstance(body[kind], dict) else None
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

    def _fake_customer(self, request):
        fields = request.json()
        wamid = self.customer_says(fields.pop("phone_number_id"), fields.pop("wa_id"), fields.pop("text"), **fields)
        return _json({"wamid": wamid})


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
