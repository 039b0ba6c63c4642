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
    """The email as the throttle counts it: the stored email of the account the login would
    reach, so no spelling of it buys an attacker more guesses. Login matches emails as the
    database folds case (PostgreSQL's upper() maps "ſ" to "S" and "ı" to "I"), so lower-casing
    the typed text is not enough. With no such account: the typed email, lower-cased."""
    from django.contrib.auth import get_user_model

    value = str((credentials or {}).get("username") or request.POST.get("username", "")).strip()
    if not value:
        return None
    account = get_user_model().objects.filter(email__iexact=value).values_list("email", flat=True).first()
    return (account or value).lower()
