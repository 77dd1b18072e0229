"""Webhook targets that embed a private IPv4 address in an IPv6 one are refused (issue 17,
item 5); public ones of the same forms are not."""

from __future__ import annotations

import ipaddress

import pytest

from core.webhook_urls import refused_address, url_problem


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:3fff:fdd2",  # Teredo, server 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:100.100.100.200",  # mapped metadata
    ],
)
def test_ipv6_forms_of_private_ipv4_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address))
    problem = url_problem(f"https://[{address}]/hook", allow_private=False, allow_http=False)
    assert problem is not None and "private" in problem


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "2606:4700::1111"])
def test_ipv6_forms_of_public_addresses_pass(address: str) -> None:
    assert not refused_address(ipaddress.ip_address(address))
