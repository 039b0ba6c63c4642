from django.core.management.base import BaseCommand

from tenants.setup import create_tenant


class Command(BaseCommand):
    help = "Create or update a tenant and its WhatsApp connection and number. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--waba-id", required=True)
        parser.add_argument("--phone-number-id", required=True)
        parser.add_argument("--display-phone-number", required=True)
        parser.add_argument("--access-token", required=True)
        parser.add_argument("--app-secret", required=True)
        parser.add_argument("--verify-token", required=True)

    def handle(self, slug, **options):
        tenant = create_tenant(
            slug,
            name=options["name"],
            waba_id=options["waba_id"],
            phone_number_id=options["phone_number_id"],
            display_phone_number=options["display_phone_number"],
            access_token=options["access_token"],
            app_secret=options["app_secret"],
            verify_token=options["verify_token"],
        )
        self.stdout.write(f"Tenant {tenant.slug}: webhook URL path /webhooks/whatsapp/{tenant.slug}/")
