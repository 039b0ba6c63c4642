"""Where endpoints may point. An endpoint must be an https URL whose host resolves only to
public addresses: never to the inbox's own network (private, loopback, link-local, shared,
multicast, reserved or unspecified addresses, IPv4 or IPv6, IPv4 inside IPv6 included).
The URL is checked when it is saved, and every connection is made to an address checked
just before (transport.py), so a name that later resolves elsewhere (DNS rebinding) is
refused too. OUTGOING_WEBHOOKS_ALLOW_PRIVATE lifts both rules, for development and tests."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why, in words for the admin."""


def allow_private():
    return settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE


def is_public(address):
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        return is_public(ip.ipv4_mapped)  # the connection goes to that IPv4 address
    if ip.version == 6:
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def check_url(url):
    """The URL's (host, port), or UnsafeURL. Does not resolve the host."""
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        raise UnsafeURL("The URL holds spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"That is not a valid URL ({error}).") from error
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL("Enter a full URL starting with https://.")
    if parts.scheme == "http" and not allow_private():
        raise UnsafeURL("Use an https:// URL: events are only sent encrypted.")
    if parts.username or parts.password:
        raise UnsafeURL("Leave user names and passwords out of the URL; the signature proves who sends.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host, port):
    """The addresses `host` resolves to, all of them checked: UnsafeURL when any is not
    public (a name with one private address is refused, whichever a client would pick)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:
        raise UnsafeURL(f"The name {host} cannot be resolved.") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private():
        for address in addresses:
            if not is_public(address):
                raise UnsafeURL(f"{host} resolves to {address}, an address on a private or reserved network.")
    return addresses


def check_endpoint_url(url):
    """At subscription: the URL's form, and every address its host has now."""
    host, port = check_url(url)
    resolve(host, port)
    return url
