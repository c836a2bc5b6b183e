"""The nats-server configuration the official chart renders from `deploy/nats/values.yaml`.

It follows the chart's templates (files/config/*.yaml of nats-io/k8s, chart 2.14.x) for the parts
the values use: server name, client port and TLS, the cluster block with one route per replica,
the monitoring port, JetStream's store and `merge`, and the top-level `merge`. Where a Kubernetes
name cannot exist on one machine it is approximated (`Placement`), and said so in `APPROXIMATED`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPROXIMATED = (
    "pod DNS names (nats-N.nats-headless) -> 127.0.0.1",
    "ports 4222/6222/8222 of each pod -> free loopback ports per node",
    "the PVC mount /data -> a temporary folder per node",
    "cert-manager's Certificate -> a CA and server certificate made for the check",
    "`<< $SERVER_NAME >>` (the pod name) -> nats-0, nats-1, nats-2",
)

_UNQUOTED = re.compile(r"^<< (.+) >>$")


@dataclass(frozen=True)
class Placement:
    """Where one node of the approximated cluster runs on this machine."""

    index: int
    client_port: int
    route_ports: tuple[int, ...]
    monitor_port: int
    store_dir: Path
    tls_dir: Path


def _value(value: Any) -> str:
    """A values.yaml value as nats.conf text: `<< x >>` unquoted, the rest as JSON."""
    if isinstance(value, str):
        match = _UNQUOTED.match(value)
        return match.group(1) if match else json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def _tls(values: dict[str, Any], placement: Placement, section: dict[str, Any]) -> list[str]:
    if not section.get("tls", {}).get("enabled"):
        return []
    lines = [
        f'  cert_file: "{placement.tls_dir / "tls.crt"}"',
        f'  key_file: "{placement.tls_dir / "tls.key"}"',
    ]
    if values.get("tlsCA", {}).get("enabled"):
        lines.append(f'  ca_file: "{placement.tls_dir / values["tlsCA"].get("key", "ca.crt")}"')
    return ["tls {", *lines, "}"]


def node_config(values: dict[str, Any], placement: Placement) -> str:
    config = values["config"]
    lines = [
        f'server_name: "nats-{placement.index}"',
        "lame_duck_grace_period: 10s",
        "lame_duck_duration: 30s",
        "host: 127.0.0.1",
        f"port: {placement.client_port}",
        *_tls(values, placement, config.get("nats", {})),
    ]
    cluster = config.get("cluster", {})
    if cluster.get("enabled"):
        scheme = "tls" if cluster.get("tls", {}).get("enabled") else "nats"
        routes = [f"{scheme}://127.0.0.1:{port}" for port in placement.route_ports]
        lines += [
            "cluster {",
            '  name: "nats"',
            f"  host: 127.0.0.1, port: {placement.route_ports[placement.index]}",
            "  no_advertise: true",
            f"  routes: {json.dumps(routes)}",
            *(f"  {line}" for line in _tls(values, placement, cluster)),
            "}",
        ]
    if config.get("monitor", {}).get("enabled"):
        lines.append(f"http: 127.0.0.1:{placement.monitor_port}")
    jetstream = config.get("jetstream", {})
    if jetstream.get("enabled"):
        size = jetstream.get("fileStore", {}).get("pvc", {}).get("size", "10Gi")
        lines += [
            "jetstream {",
            "  max_memory_store: 0",
            f'  store_dir: "{placement.store_dir}"',
            f"  max_file_store: {size}",
            *(f"  {k}: {_value(v)}" for k, v in jetstream.get("merge", {}).items()),
            "}",
        ]
    lines += [f"{key}: {_value(value)}" for key, value in config.get("merge", {}).items()]
    return "\n".join(lines) + "\n"


def container_environment(values: dict[str, Any], secret: dict[str, str]) -> dict[str, str]:
    """The container's environment: plain values, and each secretKeyRef resolved in `secret`."""
    environment: dict[str, str] = {}
    for name, value in values.get("container", {}).get("env", {}).items():
        if isinstance(value, str):
            environment[name] = value
        else:
            environment[name] = secret[value["valueFrom"]["secretKeyRef"]["key"]]
    return environment
