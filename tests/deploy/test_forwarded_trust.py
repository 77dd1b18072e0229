"""Forwarded headers are trusted only from the deployment's own proxy (issue 17, item 8): in
compose the TLS proxy's fixed address; in Kubernetes the addresses an operator sets, none by
default; the plain image and `make run` none."""

from __future__ import annotations

import ipaddress
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def test_compose_trusts_the_tls_proxy_alone() -> None:
    compose = _load("docker-compose.yml")
    api = compose["services"]["api"]
    command = shlex.split(api["command"][-1])
    [allowed] = [a.split("=", 1)[1] for a in command if a.startswith("--forwarded-allow-ips=")]
    proxy = _load("deploy/tls.yml")["services"]["proxy"]
    assert allowed == proxy["networks"]["edge"]["ipv4_address"]
    subnet = ipaddress.ip_network(compose["networks"]["edge"]["ipam"]["config"][0]["subnet"])
    assert ipaddress.ip_address(allowed) in subnet
    assert "edge" in api["networks"]
    # The bridge gateway (requests through the published port) is not the trusted address.
    assert ipaddress.ip_address(allowed) != next(subnet.hosts())


def test_kubernetes_trusts_none_by_default() -> None:
    documents = [d for d in yaml.safe_load_all((ROOT / "deploy/k8s/base/api.yaml").read_text())]
    [deployment] = [d for d in documents if d and d.get("kind") == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert not any("forwarded-allow-ips" in arg for arg in container["command"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FORWARDED_ALLOW_IPS"] == ""


def test_the_plain_image_trusts_none() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    assert "--no-proxy-headers" in cmd
