"""Making, revoking and checking API keys. A key reads `wai_<prefix>_<secret>`: the prefix
finds the row, the secret is checked against its keyed hash in constant time. Nothing about
a key is cached: a revoked or expired key is refused on its next request."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants import audit
from whatsapp.errors import ActionError

from .models import ApiKey, Scope

KEY_START = "wai_"
# last_used_at is written at most this often per key: a busy key costs no write per request.
LAST_USED_EVERY = timedelta(seconds=60)


def secret_hash(secret):
    return hmac.new(settings.API_KEY_HASH_SECRET.encode(), secret.encode(), hashlib.sha256).hexdigest()


def clean_scopes(scopes):
    scopes = [scope.strip() for scope in scopes if scope.strip()]
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown or not scopes:
        raise ActionError(f"Scopes are one or more of {', '.join(Scope.values)}; not {', '.join(unknown) or 'none'}.")
    return [scope for scope in Scope.values if scope in scopes]


def create_key(tenant, *, name, scopes, created_by=None, expires_at=None, rate_limit_per_second=None, request=None):
    """A new key for `tenant`. Returns (the key's row, the key itself): the only time the
    key is seen, since only its hash is kept."""
    name = " ".join(str(name).split())[:100]
    if not name:
        raise ActionError("Give the key a name, to know later what uses it.")
    scopes = clean_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ActionError("The expiry must be in the future.")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            tenant=tenant,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash(secret),
            scopes=scopes,
            created_by=created_by,
            expires_at=expires_at,
            rate_limit_per_second=rate_limit_per_second,
        )
        details = {"scopes": ", ".join(scopes), "prefix": prefix}
        if expires_at:
            details["expires"] = expires_at.isoformat(timespec="minutes")
        audit.record(
            tenant, audit.Action.API_KEY_CREATED, actor=created_by, target=name, details=details, request=request
        )
    return key, f"{KEY_START}{prefix}_{secret}"


def revoke_key(key, *, by=None, request=None):
    """Revoke `key` (of the caller's workspace, checked by the caller); again changes nothing."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(
            key.tenant,
            audit.Action.API_KEY_REVOKED,
            actor=by,
            target=key.name,
            details={"prefix": key.prefix},
            request=request,
        )
    return key


def parse(raw):
    """(prefix, secret) of a presented key, or None when it cannot be one of ours."""
    if not raw or not raw.startswith(KEY_START) or len(raw) > 100:
        return None
    prefix, _, secret = raw[len(KEY_START) :].partition("_")
    return (prefix, secret) if prefix and secret else None


def authenticate(raw):
    """The active key `raw` is, with its workspace; None for anything else."""
    parsed = parse(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = ApiKey.objects.select_related("tenant").filter(prefix=prefix, tenant__active=True).first()
    # Compared even when there is no such row, so that the time taken says nothing.
    expected = key.secret_hash if key else "0" * 64
    if not hmac.compare_digest(expected, secret_hash(secret)) or key is None or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


class ApiActor:
    """Who acts when a key calls an action: the workspace, through the key. It stands where
    actions take a member's membership: no user (messages have no author), the admin role
    only with the manage scope, the owner role only when an owner of the workspace made the
    key (or the server's operator, with create_api_key), and the audit log names it
    "API key <name>". So an admin's key can do no more than the admin."""

    user = None
    user_id = None

    def __init__(self, key):
        self.key = key
        self.tenant = key.tenant
        self.tenant_id = key.tenant_id

    @property
    def audit_name(self):
        return f"API key {self.key.name}"

    def has_role(self, role):
        from tenants.models import Role

        if role == Role.AGENT:
            return True
        if not self.key.allows(Scope.MANAGE):
            return False
        return role != Role.OWNER or self._made_by_an_owner()

    def _made_by_an_owner(self):
        from tenants.models import Membership, Role

        if self.key.created_by_id is None:  # made on the server with create_api_key
            return True
        return Membership.objects.filter(
            tenant_id=self.tenant_id, user_id=self.key.created_by_id, role=Role.OWNER
        ).exists()
