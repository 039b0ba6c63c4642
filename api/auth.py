"""Who calls: `Authorization: Bearer <key>`, then the key's rate limit. Sessions never reach
the API (no cookie is read here), and keys open no page (no authentication backend knows
them)."""

from ninja.security import HttpBearer

from tenants.models import Role

from . import keys, limits
from .models import Scope
from .problems import Problem


class ApiKeyAuth(HttpBearer):
    def __call__(self, request):
        if not request.headers.get("Authorization", "").startswith(("Bearer ", "bearer ")):
            raise Problem("unauthorized", "Send the key as `Authorization: Bearer <key>`.", headers=_challenge())
        return super().__call__(request)

    def authenticate(self, request, token):
        key = keys.authenticate(token.strip())
        if key is None:
            raise Problem("unauthorized", "The key is unknown, revoked or expired.", headers=_challenge())
        window = limits.take(key.prefix, key.per_second)
        request.rate_limit_headers = window.headers()
        if not window.allowed:
            raise Problem(
                "rate-limited",
                f"This key may make {window.limit} requests a second; try again shortly.",
                headers=window.headers(),
            )
        return key


def _challenge():
    return {"WWW-Authenticate": 'Bearer realm="api"'}


def require(request, scope):
    """The calling key, if it has `scope`; else a 403 problem."""
    key = request.auth
    if not key.allows(scope):
        raise Problem("insufficient-scope", f"This needs a key with the {scope} scope.", required_scope=scope)
    return key


def require_owner(request):
    """Owner-only changes (the workspace's numbers): the key must have the manage scope and
    have been made by an owner, as the pages let only owners make them."""
    require(request, Scope.MANAGE)
    acting = actor(request)
    if not acting.has_role(Role.OWNER):
        raise Problem("insufficient-role", "Only a key an owner of the workspace made can change its numbers.")
    return acting


def actor(request):
    return keys.ApiActor(request.auth)
