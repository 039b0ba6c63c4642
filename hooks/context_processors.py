from django.utils.functional import SimpleLazyObject

from .models import Endpoint


def disabled_endpoints(request):
    """The workspace's endpoints the system disabled, for the admins' banner (base.html).
    Read only when a page shows the banner."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    return {
        "disabled_webhook_endpoints": SimpleLazyObject(
            lambda: list(Endpoint.objects.filter(tenant=tenant, active=False).exclude(disabled_reason=""))
        )
    }
