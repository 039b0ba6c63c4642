"""Who calls: `Authorization: Bearer <key>`, then the key's rate limit. Sessions never reach
the API (no cookie is read here), and keys open no page (no authentication backend knows
them)."""

from ninja.security import HttpBearer

from . import keys, limits
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


def actor(request):
    return keys.ApiActor(request.auth)
