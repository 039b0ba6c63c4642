from django.core.management.base import BaseCommand

from whatsapp.maintenance import schedule_maintenance


class Command(BaseCommand):
    help = (
        "Start the delivery maintenance job (every 30 s: sends whose worker died are settled, "
        "forgotten messages requeued). Idempotent: run it on every deploy."
    )

    def handle(self, **options):
        schedule_maintenance()
        self.stdout.write("Delivery maintenance is scheduled.")
