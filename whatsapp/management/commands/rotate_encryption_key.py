from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import TOTPDevice
from whatsapp.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (WhatsApp tokens and secrets, authenticator app seeds) with the first "
        "key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, **options):
        with transaction.atomic():
            connections = list(Connection.objects.select_for_update())
            for connection in connections:
                # Reading decrypts with whichever key fits; saving encrypts with the first.
                connection.save(update_fields=["app_secret", "verify_token", "access_token"])
            devices = list(TOTPDevice.objects.select_for_update())
            for device in devices:
                device.save(update_fields=["key"])
        self.stdout.write(
            f"Re-encrypted the secrets of {len(connections)} connection(s) and {len(devices)} authenticator app(s)."
        )
