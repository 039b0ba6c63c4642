from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self):
        from . import signals  # noqa: F401  (the audit log's sign-in receivers)
