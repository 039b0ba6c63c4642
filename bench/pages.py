"""(c) Pages at scale: server time and query count in this process (Django's test Client,
DEBUG off), on the big tenant and on the small one (the count must not grow with the
data), and wall time over HTTP against a running server. Pages whose URL does not resolve
on this branch are skipped with a note, so new pages are picked up by adding a line."""

import statistics
import time
from datetime import date, timedelta

import httpx
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

# (name, path): {slug} is the tenant, {thread} a conversation (10k messages on the big tenant),
# {middle} the message halfway through that thread, {since} and {until} the dates of a
# custom range (three weeks ago to a week ago).
PAGES = [
    ("inbox", "/t/{slug}/inbox/"),
    ("inbox, filtered", "/t/{slug}/inbox/?status=resolved&assignee=unassigned"),
    ("thread of 10k messages", "/t/{slug}/inbox/c/{thread}/"),
    ("thread, earlier page", "/t/{slug}/inbox/c/{thread}/?before={middle}"),
    ("contacts", "/t/{slug}/contacts/"),
    ("contacts, search", "/t/{slug}/contacts/?q=customer+4242"),
    ("search", "/t/{slug}/search/?q=order+4242"),
    ("dashboard", "/t/{slug}/dashboard/"),
    ("dashboard, 30 days", "/t/{slug}/dashboard/?range=30d"),
    ("dashboard, custom dates", "/t/{slug}/dashboard/?range=custom&since={since}&until={until}"),
    ("logs page", "/t/{slug}/logs/"),
    ("logs, filtered by state", "/t/{slug}/logs/?state=processed"),
    ("logs, text search", "/t/{slug}/logs/?q=wamid.seed.1.4242"),
    ("Graph API calls page", "/t/{slug}/logs/graph/"),
]


def _middle(conversation_id):
    """The id of the message halfway through a thread, for a page from its middle."""
    from whatsapp.models import Message

    thread = Message.objects.filter(conversation_id=conversation_id).order_by("timestamp", "pk")
    return thread.values_list("pk", flat=True)[thread.count() // 2]


def _client(slug):
    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=f"owner@{slug}.bench"))
    return client


def measure(client, path, runs):
    """(median server ms, query count, status) of GET path."""
    client.get(path)  # warm up: templates, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return round(statistics.median(times), 1), len(queries), response.status_code


def http_wall_ms(url, cookie, path, runs):
    with httpx.Client(base_url=url, cookies={"sessionid": cookie}, timeout=30) as client:
        client.get(path)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _session(slug):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User

    user = User.objects.get(email=f"owner@{slug}.bench")
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


def run(processes, seeded, mode):
    big, small = seeded["tenants"]["seed-big"], seeded["tenants"]["seed-small"]
    runs = mode["page_runs"]
    clients = {"big": _client("seed-big"), "small": _client("seed-small")}
    url = processes.web("pages-web", "uvicorn")
    cookie = _session("seed-big")
    results = []
    dates = {"since": date.today() - timedelta(days=21), "until": date.today() - timedelta(days=7)}
    try:
        for name, template in PAGES:
            path = template.format(slug="seed-big", thread=big["thread"], middle=_middle(big["thread"]), **dates)
            try:
                resolve(path.split("?")[0])
            except Resolver404:
                note = f"skipped: {path.split('?')[0]} does not resolve on this branch"
                print(f"  {name}: {note}", flush=True)
                results.append({"name": name, "skipped": note})
                continue
            server_ms, queries, status = measure(clients["big"], path, runs)
            small_path = template.format(
                slug="seed-small", thread=small["small_thread"], middle=_middle(small["small_thread"]), **dates
            )
            _ms, queries_small, _status = measure(clients["small"], small_path, 1)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            result = {
                "name": name,
                "path": path,
                "status": status,
                "server_ms": server_ms,
                "queries": queries,
                "queries_small": queries_small,
                "http_ms": http_wall_ms(url, cookie, path, runs),
            }
            print(f"  {result}", flush=True)
            results.append(result)
    finally:
        processes.stop("pages-web")
    return {"pages": results}
