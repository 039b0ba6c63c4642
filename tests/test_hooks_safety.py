"""Which addresses an outgoing webhook may reach: public ones only, IPv4 and IPv6, with IPv4
hidden inside IPv6 unwrapped first."""

import pytest

from hooks.safety import UnsafeURL, check_url, is_public, resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2001:db8::1",
    ],
)
def test_private_loopback_link_local_multicast_and_reserved_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address):
    assert is_public(address)


def test_names_resolving_to_loopback_are_refused_unless_allowed(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURL, match="private or reserved"):
        resolve("localhost", 443)
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    assert "127.0.0.1" in resolve("localhost", 443)


def test_plain_http_is_allowed_only_with_private_addresses(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURL, match="https"):
        check_url("http://example.com/hook")
    assert check_url("https://example.com/hook") == ("example.com", 443)
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    assert check_url("http://example.com:8080/hook") == ("example.com", 8080)
