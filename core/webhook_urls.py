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


def refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (169.254.169.254, the usual metadata service, included),
    metadata, multicast, reserved or unspecified: nothing a webhook should reach."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a valid URL: {error}"
    if parts.scheme not in ("https", "http"):
        return "must be an https:// URL"
    if parts.scheme == "http" and not allow_http:
        return "must be an https:// URL (http:// is not allowed on this service)"
    if not parts.hostname:
        return "has no host name"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        return f"host {parts.hostname!r} does not resolve: {error}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if refused_address(address):
            return (
                f"host {parts.hostname!r} resolves to {address}, a loopback, private, "
                "link-local or metadata address, which this service does not call"
            )
    return None
