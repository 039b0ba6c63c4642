"""Changes to a workspace's own settings: the inbox's (admins) and security and data (owners).
Each change is written in the audit log, with what each setting was and became."""

from django.db import transaction

from . import audit
from .models import Tenant


def change_settings(membership, values, *, target, request=None):
    """Give the member's workspace these `values` (setting name: value, checked by a form),
    and record what changed under `target`, the settings' name in words. Returns
    {name: [before, after]} for the settings that changed."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
        changed = {
            name: [getattr(tenant, name), value] for name, value in values.items() if getattr(tenant, name) != value
        }
        if not changed:
            return changed
        for name, (_, value) in changed.items():
            setattr(tenant, name, value)
        tenant.save(update_fields=list(changed))
        audit.record(
            tenant,
            audit.Action.SETTINGS_CHANGED,
            actor=membership.user,
            target=target,
            details=changed,
            request=request,
        )
    return changed
