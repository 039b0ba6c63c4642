"""Login throttling (django-axes): the client's address, and what a locked-out person sees."""

from django.conf import settings


def client_ip(request):
    """REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies that each append to
    X-Forwarded-For, the address the outermost of them saw. Entries further left are the
    client's own claims and are never trusted."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def username(request, credentials=None):
    """The email as the throttle counts it: trimmed and lower-cased, so changing its case
    does not buy an attacker more guesses."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).strip().lower() or None
