"""The check that a webhook URL is one this service may call (issue 8): https (http only where
allowed), no credentials, and a host that resolves to no loopback, private, link-local or cloud
metadata address. Torch-free; used by the API (submission) and the worker (each delivery).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# Cloud metadata services that are not in a private range (AWS's IPv6 one, Alibaba's).
METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 forms that carry an IPv4 address in their last 32 bits (issue 17): NAT64's well-known and
# local-use prefixes, and the deprecated IPv4-compatible form.
_LAST_32_BITS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped, 6to4 (2002::/16), Teredo
    (2001::/32, server and client), NAT64 and IPv4-compatible."""
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in network for network in _LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def refused_address(address: Address) -> bool:
    """Loopback, private, link-local (169.254.169.254, the usual metadata service, included),
    metadata, multicast, reserved or unspecified: nothing a webhook should reach; nor an IPv6
    address that embeds such an IPv4 address."""
    embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    return _refused(address) or any(_refused(v4) for v4 in embedded)


def _refused(address: Address) -> bool:
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in METADATA_ADDRESSES
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, where Alibaba's sits


def url_problem(url: str, *, allow_private: bool, allow_http: bool) -> str | None:
    """Why the URL may not be called (None: it may), resolving its host name now."""
    problem, _address = checked_target(url, allow_private=allow_private, allow_http=allow_http)
    return problem


def checked_target(
    url: str, *, allow_private: bool, allow_http: bool
) -> tuple[str | None, Address | None]:
    """(why the URL may not be called, or None; the address that was checked). A caller that
    connects must connect to that address (issue 17: a name may answer a public address to
    the check and 127.0.0.1 to the connection). No address when private ones are allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a valid URL: {error}", None
    if parts.scheme not in ("https", "http"):
        return "must be an https:// URL", None
    if parts.scheme == "http" and not allow_http:
        return "must be an https:// URL (http:// is not allowed on this service)", None
    if not parts.hostname:
        return "has no host name", None
    if parts.username or parts.password:
        return "must not carry a user name or password", None
    if allow_private:
        return None, None
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        return f"host {parts.hostname!r} does not resolve: {error}", None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if refused_address(address):
            return (
                f"host {parts.hostname!r} resolves to {address}, a loopback, private, "
                "link-local or metadata address, which this service does not call"
            ), None
    if not addresses:
        return f"host {parts.hostname!r} does not resolve", None
    return None, addresses[0]
