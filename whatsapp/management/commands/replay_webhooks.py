from django.core.management.base import BaseCommand, CommandError

from tenants import audit
from tenants.models import Tenant
from whatsapp.models import WebhookEvent
from whatsapp.webhook import ingest


class Command(BaseCommand):
    help = "Queue stored webhook events for processing again (failed ones by default). Safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant's events (slug).")
        parser.add_argument("--state", default="failed", choices=["failed", "pending", "processed"])
        parser.add_argument("--id", type=int, action="append", dest="ids", help="Only these event ids.")

    def handle(self, tenant=None, state="failed", ids=None, **options):
        events = WebhookEvent.objects.filter(signature=WebhookEvent.Signature.VALID)
        events = events.filter(pk__in=ids) if ids else events.filter(state=state)
        if tenant:
            events = events.filter(tenant__slug=tenant)
        count, by_tenant = 0, {}
        for event in events.only("pk", "signature", "tenant_id").iterator():
            ingest.replay_event(event)
            by_tenant.setdefault(event.tenant_id, []).append(event.pk)
            count += 1
        for tenant in Tenant.objects.filter(pk__in=by_tenant):
            replayed = by_tenant[tenant.pk]
            audit.record(
                tenant,
                audit.Action.WEBHOOK_REPLAYED,
                target=f"{len(replayed)} webhook(s)",
                details={"by": "replay_webhooks", "ids": replayed[:100]},
            )
        if ids and count < len(ids):
            raise CommandError(f"Queued {count} of {len(ids)}: the others do not exist or were not signed.")
        self.stdout.write(f"Queued {count} event(s) for processing.")
