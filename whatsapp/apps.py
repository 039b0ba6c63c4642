from django.apps import AppConfig


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"

    def ready(self):
        from whatsapp.realtime import access as realtime_access  # noqa: F401  (the receivers that tell live connections to re-check access)
