"""Sending a webhook to the address that was checked (issue 17, item 4: DNS rebinding).

The check resolves the host and refuses private addresses; if the connection resolved it again,
a name could answer a public address to the check and 127.0.0.1 to the connection. So the URL's
host is replaced by the checked address, and the name is kept where the receiver sees it: the
Host header and, for https, the TLS server name (SNI), which the certificate is verified against.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Pinned:
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)  # httpx request extensions


def pinned_request(url: str, address: Address | None) -> tuple[str, Pinned]:
    """The URL to connect to and what keeps the original name; unchanged without an address
    (private addresses allowed: nothing was checked)."""
    if address is None:
        return url, Pinned()
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": hostname} if parts.scheme == "https" else {}
    pinned_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return pinned_url, Pinned(headers={"host": host}, extensions=extensions)
