"""One process for the embedded demo: the web server (Daphne), a task worker thread and
the fake Graph API with its simulated customer. Demo mode only."""

import threading
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from whatsapp.jobs.worker import ThreadedWorker  # here, not in the thread: imports race with the server's
from whatsapp.maintenance import schedule_maintenance
from whatsapp.simulator.demo import (
    DEMO_CUSTOMER,
    DEMO_PASSWORD,
    DEMO_PHONE_NUMBER_ID,
    DEMO_REVIEW_SECONDS,
    DEMO_SECOND_NUMBER,
    DEMO_SLUG,
    DEMO_USERS,
    add_demo_second_number,
    add_demo_templates,
    seed_demo,
)
from whatsapp.simulator.fake_graph import FakeGraphAPI


class Command(BaseCommand):
    help = "Run the demo: web, worker and WhatsApp simulator in one process (DEMO_MODE only)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, host, port, **options):
        if not settings.DEMO_MODE:
            raise CommandError("run_demo needs DEMO_MODE=true (and DEBUG=true): it starts a fake WhatsApp.")
        graph = urlsplit(settings.WHATSAPP_GRAPH_URL)
        if graph.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError(
                "Set WHATSAPP_GRAPH_URL to a local address for the simulator, e.g. http://127.0.0.1:8001"
            )

        tenant, first_run = seed_demo()
        schedule_maintenance()
        connection = tenant.whatsapp
        base_url = f"http://{host}:{port}"
        fake = FakeGraphAPI(
            host=graph.hostname, port=graph.port or 80, status_delay=1.0, review_delay=DEMO_REVIEW_SECONDS
        ).start()
        webhook_url = f"{base_url}/webhooks/whatsapp/{DEMO_SLUG}/"
        fake.register_number(
            DEMO_PHONE_NUMBER_ID,
            webhook_url,
            connection.app_secret,
            waba_id=connection.waba_id,
            access_token=connection.access_token,
        )
        add_demo_templates(fake)
        add_demo_second_number(fake, webhook_url, connection.app_secret, connection.access_token)
        threading.Thread(target=self._run_worker, name="task-worker", daemon=True).start()
        if first_run:
            threading.Thread(target=self._greet, args=(fake, base_url), daemon=True).start()
        self._print_banner(base_url, connection)
        self._serve(host, port)
        fake.stop()

    def _run_worker(self):
        # One runner: SQLite takes one writer at a time, and the demo's traffic is one person's.
        ThreadedWorker(
            threads=1,
            queue_names=["*"],
            interval=0.1,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="embedded",
            excluded_queue_names=[],
        ).run()

    def _greet(self, fake, base_url):
        """The simulated customer's first message, once the server answers."""
        for _ in range(100):
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        wa_id, name = DEMO_CUSTOMER
        fake.customer_says(DEMO_PHONE_NUMBER_ID, wa_id, "Hi! Where is my order #1042? 📦", name=name)

    def _print_banner(self, base_url, connection):
        lines = [
            "",
            f"  Team Inbox demo at {base_url}/",
            "",
            "  Log in as:",
            *[f"    {email:<20} {DEMO_PASSWORD}   ({role})" for email, role, _ in DEMO_USERS],
            "",
            f"  Be the customer:  {base_url}/simulator/",
            f"  Django admin:     {base_url}/admin/  (python manage.py createsuperuser)",
            f"  Webhook URL:      {base_url}/webhooks/whatsapp/{DEMO_SLUG}/",
            f"  Fake Graph API:   {settings.WHATSAPP_GRAPH_URL}",
            f"  New templates are approved {DEMO_REVIEW_SECONDS} s after you submit them. A second number,",
            f"  +{DEMO_SECOND_NUMBER[1]}, can be added on the Numbers page with PIN {DEMO_SECOND_NUMBER[3]}.",
            "",
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _serve(self, host, port):
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from inbox.asgi import application

        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
        ).run()
