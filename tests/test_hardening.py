"""Browser hardening: the Content Security Policy and the markup it relies on (no inline
script, style or handler anywhere), and customers' words always escaped, with links made
clickable only for http(s) and opened apart from the inbox."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from inbox.csp import content_security_policy
from tenants.models import Membership
from tests.support.hostile import HOSTILE_CAPTION, HOSTILE_NAME, HOSTILE_TEXT
from tests.support.routes import fill, tenant_routes
from tests.support.world import build_world
from whatsapp.models import Message
from whatsapp.realtime import events as realtime

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class Markup(HTMLParser):
    """Collects what a strict CSP would block, and every link."""

    def __init__(self):
        super().__init__()
        self.inline_scripts, self.handlers, self.styles, self.links = [], [], [], []
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value))
            if name == "style":
                self.styles.append((tag, value))
        if tag == "style":
            self.styles.append((tag, "<style> element"))
        if tag == "script":
            executable = attributes.get("type", "text/javascript") not in ("application/json",)
            self._in_script = executable and not attributes.get("src")
        if tag == "a" and "href" in attributes:
            self.links.append(attributes)

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def markup(html):
    parser = Markup()
    parser.feed(html if isinstance(html, str) else html.decode())
    return parser


@pytest.fixture
def hostile_world(acme, owner):
    world = build_world(acme, Membership.objects.get(user=owner, tenant=acme), name=HOSTILE_NAME)
    Message.objects.filter(pk=world.message.pk).update(text=HOSTILE_TEXT)
    photo = world.media_file.message
    photo.content["image"]["caption"] = HOSTILE_CAPTION
    photo.content["referral"] = {"source_url": "javascript:alert(7)", "headline": "<b>ad</b>"}
    photo.save(update_fields=["content"])
    world.note.text = HOSTILE_TEXT
    world.note.save(update_fields=["text"])
    Message.objects.create(
        tenant=acme,
        conversation=world.conversation,
        direction="in",
        type="contacts",
        wamid="wamid.card",
        content={
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": HOSTILE_NAME}, "phones": [{"phone": "javascript:alert(8)"}]}],
        },
    )
    Message.objects.create(
        tenant=acme,
        conversation=world.conversation,
        direction="in",
        type="location",
        wamid="wamid.location",
        content={
            "type": "location",
            "location": {"latitude": "javascript:alert(9)", "longitude": 1, "name": HOSTILE_NAME},
        },
    )
    return world


def test_every_page_gets_a_strict_content_security_policy(client, db):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"].startswith("'self' data: blob:")
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    assert "'self'" in directives["connect-src"] and "ws://127.0.0.1:*" in directives["connect-src"]
    assert "unsafe" not in policy


def test_production_allows_only_secure_websockets_and_the_media_bucket():
    policy = content_security_policy(
        ["inbox.example.com", ".example.org"],
        secure=True,
        bucket="media",
        endpoint_url="https://minio.example.net:9000/",
    )["DIRECTIVES"]
    assert policy["connect-src"] == ["'self'", "wss://inbox.example.com:*", "wss://*.example.org:*"]
    assert (
        "https://minio.example.net:9000" in policy["img-src"]
        and "https://minio.example.net:9000" in policy["media-src"]
    )
    aws = content_security_policy(["inbox.example.com"], secure=True, bucket="media", region="eu-west-1")["DIRECTIVES"]
    assert "https://media.s3.eu-west-1.amazonaws.com" in aws["img-src"]


def test_a_media_file_keeps_its_own_sandboxing_policy(hostile_world, owner):
    client = Client()
    client.force_login(owner)
    response = client.get(f"/t/acme/media/{hostile_world.media_file.pk}/")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_no_template_has_inline_script_style_or_handlers():
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern, what in [
            (r"<script(?![^>]*\ssrc=)[^>]*>", "inline <script>"),
            (r"\sstyle\s*=", "style attribute"),
            (r"<style[\s>]", "<style> element"),
            (r"\son[a-z]+\s*=", "event handler attribute"),
            (r"javascript:", "javascript: URL"),
        ]:
            problems += [f"{path.relative_to(TEMPLATES)}: {what}" for _ in re.finditer(pattern, text, re.IGNORECASE)]
    assert problems == []


def test_every_page_renders_without_anything_a_strict_policy_blocks(hostile_world, owner):
    client = Client()
    client.force_login(owner)
    for route in tenant_routes():
        path = fill(route, "acme", hostile_world)
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        found = markup(response.content)
        assert (found.inline_scripts, found.handlers, found.styles) == ([], [], []), path
    for path in ["/accounts/2fa/", "/accounts/password/", "/accounts/login/"]:
        found = markup(client.get(path).content)
        assert (found.inline_scripts, found.handlers, found.styles) == ([], [], []), path


def test_hostile_names_texts_and_captions_are_escaped_in_the_thread(hostile_world, owner):
    client = Client()
    client.force_login(owner)
    html = client.get(f"/t/acme/inbox/c/{hostile_world.conversation.pk}/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in html
    found = markup(html)
    assert found.inline_scripts == [] and found.handlers == []
    for link in found.links:
        assert urlsplit(link["href"]).scheme in ("", "http", "https", "tel"), link
        assert "alert" not in link["href"], link


def test_links_in_customer_text_are_http_only_and_open_apart(hostile_world, owner):
    client = Client()
    client.force_login(owner)
    html = client.get(f"/t/acme/inbox/c/{hostile_world.conversation.pk}/").content.decode()
    customer_links = [
        link for link in markup(html).links if link["href"].startswith("http") and "openstreetmap" not in link["href"]
    ]
    hrefs = {link["href"] for link in customer_links}
    assert "http://www.example.org" in hrefs
    assert any(href.startswith("https://shop.example/track?id=1") for href in hrefs)
    for link in customer_links:
        assert link["rel"] == "nofollow noopener noreferrer" and link["target"] == "_blank", link
        assert '"' not in link["href"] and "<" not in link["href"]
    assert "View the ad" not in html  # a javascript: ad URL gives no link at all


def test_live_events_carry_the_same_escaped_html(hostile_world):
    message = Message.objects.get(pk=hostile_world.message.pk)
    html = realtime.message_html(message)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert markup(html).handlers == []


def test_hostile_names_are_escaped_in_the_conversation_list_and_title(hostile_world, owner):
    client = Client()
    client.force_login(owner)
    html = client.get("/t/acme/inbox/?status=all").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    title = re.search(
        r"<title>(.*?)</title>", client.get(f"/t/acme/inbox/c/{hostile_world.conversation.pk}/").content.decode(), re.S
    )[1]
    assert "<" not in title


def test_the_logs_page_shows_hostile_bodies_as_text(hostile_world, owner):
    from whatsapp.models import WebhookEvent

    WebhookEvent.objects.filter(pk=hostile_world.event.pk).update(
        body='{"x": "<script>alert(1)</script>"}', error="<img src=x onerror=alert(1)>"
    )
    client = Client()
    client.force_login(owner)
    for path in [f"/t/acme/logs/{hostile_world.event.pk}/", "/t/acme/logs/"]:
        html = client.get(path).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
