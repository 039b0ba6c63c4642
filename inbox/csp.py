"""The Content Security Policy, built from the settings (see settings.CONTENT_SECURITY_POLICY).

Scripts and styles come only from our own static files: no inline code, no eval, no
`style=` attributes (scripts may still set element.style). Pages cannot be framed."""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def media_hosts(bucket, endpoint_url, region, extra=()):
    """Where presigned media URLs point: the S3-compatible endpoint, or AWS's bucket hosts."""
    hosts = [host for host in extra if host]
    if endpoint_url:
        hosts.append(_origin(endpoint_url))
    elif bucket:
        hosts.append(f"https://{bucket}.s3.amazonaws.com")
        if region:
            hosts += [f"https://{bucket}.s3.{region}.amazonaws.com", f"https://s3.{region}.amazonaws.com"]
    return [host for host in hosts if host]


def websocket_sources(allowed_hosts, secure):
    """'self' covers the page's own ws(s) origin in current browsers; the explicit hosts
    cover browsers that read 'self' as http(s) only."""
    schemes = ["wss"] if secure else ["wss", "ws"]
    sources = []
    for host in allowed_hosts:
        host = host.strip()
        # CSP host sources cannot name IPv6 literals ([::1]); 'self' still covers them.
        if not host or host == "*" or host.startswith("["):
            continue
        name = f"*{host}" if host.startswith(".") else host
        sources += [f"{scheme}://{name}:*" for scheme in schemes]
    return sources


def content_security_policy(allowed_hosts, secure, bucket="", endpoint_url="", region="", extra_media_hosts=()):
    media = media_hosts(bucket, endpoint_url, region, extra_media_hosts)
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF],
            "img-src": [SELF, "data:", "blob:", *media],
            "media-src": [SELF, "blob:", *media],
            "font-src": [SELF],
            "connect-src": [SELF, *websocket_sources(allowed_hosts, secure)],
            "frame-src": [NONE],
            "frame-ancestors": [NONE],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
        }
    }
