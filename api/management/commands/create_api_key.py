from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api import keys
from tenants.models import Tenant
from whatsapp.errors import ActionError


class Command(BaseCommand):
    help = "Create an API key for a workspace. Prints the key alone on the last line (it is shown once)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", default="read,send", help="Comma-separated: read, send, manage.")
        parser.add_argument("--expires-in-days", type=int, default=None)
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests a second (default: the setting).")

    def handle(self, slug, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}: create it first with create_tenant.")
        days, rate = options["expires_in_days"], options["rate_limit"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be 1 or more.")
        if rate is not None and not 1 <= rate <= 100_000:
            raise CommandError("--rate-limit must be between 1 and 100000.")
        try:
            key, raw = keys.create_key(
                tenant,
                name=options["name"],
                scopes=options["scopes"].split(","),
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                rate_limit_per_second=rate,
            )
        except ActionError as error:
            raise CommandError(str(error))
        self.stdout.write(f"API key {key.name!r} for {tenant.slug}, scopes {', '.join(key.scopes)}:")
        self.stdout.write(raw)
