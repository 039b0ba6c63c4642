from django.core.management.base import BaseCommand
from django.db import transaction

from whatsapp.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, **options):
        with transaction.atomic():
            connections = list(Connection.objects.select_for_update())
            for connection in connections:
                # Reading decrypts with whichever key fits; saving encrypts with the first.
                connection.save(update_fields=["app_secret", "verify_token", "access_token"])
        self.stdout.write(f"Re-encrypted the secrets of {len(connections)} connection(s).")
