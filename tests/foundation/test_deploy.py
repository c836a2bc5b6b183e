"""The Kubernetes deployment as kubectl renders each overlay: one hardened Deployment per service
with its own probes and NATS identity, the notifier alone and recreated, a provision Job per
release, configuration mounted from the overlay, network policies for every pod, KEDA scaling on
the consumers the code declares, and NATS permissions that make deleting a stream impossible
(R13). `make deploy-check` validates the same objects against their schemas."""

from __future__ import annotations

import copy
import ipaddress
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devtools.deploycheck.render import OVERLAYS, Manifest, overlays, render
from devtools.deploycheck.validate import InvalidObject, check
from sakspost.components import SERVICE_NAMES
from sakspost.registry import built_services
from services.common.jetstream import EVENTS_STREAM
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_HTTP_PORTS, REPO_ROOT, Settings
from services.ingest.config import IngestSettings
from services.notifier.config import NotifierSecrets, load_notifier_config
from services.overview.settings import OverviewSettings
from services.websak.config import ArchivingOptions, WebSakConnection, load_placement

OVERLAY_NAMES = ("dev", "prod")
SCALED = ("classifier", "router", "websak")
# The services that call outside the cluster: Graph and Entra ID (ingest, router, notifier),
# Teams and webhooks (notifier), WebSak (websak).
CALL_OUT = ("ingest", "router", "notifier", "websak", "overview")
CONFIG_FILES = ("organisation.yaml", "notifier.yaml", "websak.yaml")
Labels = dict[str, str]


@cache
def _rendered(overlay: str) -> tuple[Manifest, ...]:
    return tuple(render(OVERLAYS / overlay))


def rendered(overlay: str) -> list[Manifest]:
    """A fresh copy of what `kubectl kustomize deploy/overlays/<overlay>` prints."""
    return copy.deepcopy(list(_rendered(overlay)))


def of_kind(overlay: str, kind: str) -> list[Manifest]:
    return [m for m in rendered(overlay) if m["kind"] == kind]


def named(overlay: str, kind: str, name: str) -> Manifest:
    (found,) = [m for m in of_kind(overlay, kind) if m["metadata"]["name"] == name]
    return found


def workloads(overlay: str) -> list[Manifest]:
    return [m for m in rendered(overlay) if m["kind"] in ("Deployment", "Job")]


def env_config(overlay: str) -> dict[str, str]:
    (env,) = [
        m
        for m in of_kind(overlay, "ConfigMap")
        if m["metadata"]["name"].startswith("sakspost-env-")
    ]
    data: dict[str, str] = env["data"]
    return data


def test_every_overlay_renders_without_a_load_restrictor_flag() -> None:
    assert [path.name for path in overlays()] == list(OVERLAY_NAMES)
    for overlay in OVERLAY_NAMES:
        kinds = {m["kind"] for m in rendered(overlay)}
        assert {"Deployment", "Job", "NetworkPolicy", "ScaledObject", "ConfigMap"} <= kinds
        # Everything lands in the namespace, and nothing outside the overlay's folder is read.
        assert {
            m["metadata"].get("namespace") for m in rendered(overlay) if m["kind"] != "Namespace"
        } == {"sakspost"}


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_has_a_hardened_deployment_with_its_own_probes_and_identity(
    overlay: str, name: str
) -> None:
    deployment = named(overlay, "Deployment", f"sakspost-{name}")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [f"services.{name}"]
    assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_HTTP_PORTS[name]}]
    env = {e["name"]: e for e in container["env"]}
    assert env["SAKSPOST_HTTP_PORT"]["value"] == str(DEFAULT_HTTP_PORTS[name])
    # Its NATS identity is its own name, with the password from its own Secret.
    assert env["SAKSPOST_NATS_USER"]["value"] == name
    secret = env["SAKSPOST_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": f"sakspost-nats-{name}", "key": "password"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    _assert_hardened(pod)
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    keys = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert keys["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert "topology.kubernetes.io/zone" in keys
    for constraint in keys.values():
        assert "app.kubernetes.io/component" in constraint["matchLabelKeys"]
    # Graceful stop (SIGTERM drains in-flight work) needs more than the default 30 s.
    assert pod["terminationGracePeriodSeconds"] >= 60


def _assert_hardened(pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_every_pod_mounts_the_overlays_configuration_files(overlay: str) -> None:
    (config,) = [
        m
        for m in of_kind(overlay, "ConfigMap")
        if m["metadata"]["name"].startswith("sakspost-config-")
    ]
    assert sorted(config["data"]) == sorted(CONFIG_FILES)
    env = env_config(overlay)
    assert env["SAKSPOST_ORG_CONFIG"] == "/etc/sakspost/organisation.yaml"
    assert env["SAKSPOST_NOTIFIER_CONFIG"] == "/etc/sakspost/notifier.yaml"
    assert env["SAKSPOST_WEBSAK_CONFIG"] == "/etc/sakspost/websak.yaml"
    for workload in workloads(overlay):
        pod = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        mount = mounts["/etc/sakspost"]
        assert mount["readOnly"] is True
        assert volumes[mount["name"]]["configMap"]["name"] == config["metadata"]["name"]
        env_from = [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e]
        assert env_from == [named(overlay, "ConfigMap", env_from[0])["metadata"]["name"]]


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_each_overlays_configuration_files_are_valid_together(overlay: str) -> None:
    folder = OVERLAYS / overlay
    org = load_organisation(folder / "organisation.yaml")
    load_notifier_config(folder / "notifier.yaml", org)
    load_placement(folder / "websak.yaml").check_covers(org)


def test_the_dev_deployment_runs_the_repositorys_own_configuration() -> None:
    local = {"organisation.yaml": "ha-kommune.yaml", "notifier.yaml": "notifier.yaml"}
    for name in CONFIG_FILES:
        own = (REPO_ROOT / "config" / local.get(name, name)).read_text(encoding="utf-8")
        assert (OVERLAYS / "dev" / name).read_text(encoding="utf-8") == own, name


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_environment_names_are_settings_and_the_public_url_is_the_ingress_host(
    overlay: str,
) -> None:
    known = {
        f"{model.model_config.get('env_prefix', '')}{field}".upper()
        for model in (
            Settings,
            IngestSettings,
            NotifierSecrets,
            ArchivingOptions,
            WebSakConnection,
            OverviewSettings,
        )
        for field in model.model_fields
    }
    env = env_config(overlay)
    for name in env:
        assert name in known or name.startswith("OTEL_EXPORTER_OTLP_"), name
    public = urlsplit(env["SAKSPOST_INGEST_PUBLIC_URL"])
    assert public.scheme == "https"
    ingress = named(overlay, "Ingress", "sakspost-ingest")
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [public.hostname]
    assert [host for tls in ingress["spec"]["tls"] for host in tls["hosts"]] == [public.hostname]
    overview = urlsplit(env["SAKSPOST_OVERVIEW_PUBLIC_URL"])
    assert overview.scheme == "https"
    pages = named(overlay, "Ingress", "sakspost-overview")
    assert [rule["host"] for rule in pages["spec"]["rules"]] == [overview.hostname]
    # Every node of the 3-node NATS cluster, by its stable name, over TLS that the certificate
    # of deploy/nats/certificates.yaml covers, checked against the CA every pod mounts.
    servers = Settings(nats_url=env["SAKSPOST_NATS_URL"]).nats_servers
    assert len(servers) == 3
    (certificate,) = [
        c
        for c in _documents(REPO_ROOT / "deploy" / "nats" / "certificates.yaml")
        if c["kind"] == "Certificate" and c["metadata"]["name"] == "nats-tls"
    ]
    for server in servers:
        url = urlsplit(server)
        assert url.scheme == "tls", server
        assert any(_covers(name, url.hostname or "") for name in certificate["spec"]["dnsNames"])
    for workload in workloads(overlay):
        pod = workload["spec"]["template"]["spec"]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "nats-ca"]
        assert Path(env["SAKSPOST_NATS_CA_FILE"]).parent == Path(mount["mountPath"])


def _covers(dns_name: str, host: str) -> bool:
    """A certificate's DNS name covers `host` (a wildcard stands for exactly one label)."""
    if dns_name.startswith("*."):
        return host.partition(".")[2] == dns_name[2:]
    return host == dns_name


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_the_notifier_runs_alone_and_is_recreated(overlay: str) -> None:
    notifier = named(overlay, "Deployment", "sakspost-notifier")
    assert notifier["spec"]["replicas"] == 1
    assert notifier["spec"]["strategy"] == {"type": "Recreate"}
    targets = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(overlay, "ScaledObject")}
    assert "sakspost-notifier" not in targets


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_each_release_has_its_own_provision_job_run_as_admin(overlay: str) -> None:
    release = yaml.safe_load((OVERLAYS / overlay / "release.yaml").read_text(encoding="utf-8"))
    version = release["data"]["release"]
    (job,) = of_kind(overlay, "Job")
    assert job["metadata"]["name"] == f"sakspost-provision-{version}"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["sakspost", "provision"]
    env = {e["name"]: e for e in container["env"]}
    assert env["SAKSPOST_NATS_USER"]["value"] == "admin"
    secret = env["SAKSPOST_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "sakspost-nats-admin", "key": "password"}
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    _assert_hardened(pod)
    # The Job and every service run the release's image; the release file itself is not rendered.
    images = {
        c["image"] for w in workloads(overlay) for c in w["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1
    assert images.pop().endswith(f"/sakspost:{version}")
    assert not [
        m for m in of_kind(overlay, "ConfigMap") if m["metadata"]["name"] == "sakspost-release"
    ]


# --- network policies ---------------------------------------------------------------------------


def _selects(selector: dict[str, Any], labels: Labels) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions with In) against labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _rules(overlay: str, labels: Labels, direction: str) -> list[dict[str, Any]]:
    """Every ingress or egress rule that applies to a pod with these labels."""
    key = "ingress" if direction == "Ingress" else "egress"
    return [
        rule
        for policy in of_kind(overlay, "NetworkPolicy")
        if _selects(policy["spec"]["podSelector"], labels)
        and direction in policy["spec"]["policyTypes"]
        for rule in policy["spec"].get(key, [])
    ]


def _ports(rule: dict[str, Any]) -> set[Any]:
    return {port["port"] for port in rule.get("ports", [])}


def _pod_labels(overlay: str) -> dict[str, Labels]:
    return {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(overlay)
    }


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_every_pod_is_denied_by_default_and_reaches_dns_and_nats(overlay: str) -> None:
    deny = named(overlay, "NetworkPolicy", "sakspost-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, labels in _pod_labels(overlay).items():
        egress = _rules(overlay, labels, "Egress")
        namespaces = {
            peer.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name"): _ports(rule)
            for rule in egress
            for peer in rule.get("to", [])
        }
        assert namespaces["kube-system"] == {53}, name
        assert namespaces["nats"] == {4222}, name
        assert 4318 in namespaces["observability"], name


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_only_the_pods_that_call_out_reach_https_outside_the_cluster(overlay: str) -> None:
    private = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    for name, labels in _pod_labels(overlay).items():
        blocks = [
            (peer["ipBlock"], _ports(rule))
            for rule in _rules(overlay, labels, "Egress")
            for peer in rule.get("to", [])
            if "ipBlock" in peer
        ]
        calls_out = labels["app.kubernetes.io/component"] in CALL_OUT
        assert bool(blocks) == calls_out, name
        for block, ports in blocks:
            assert ports == {443}, name
            excepted = [ipaddress.IPv4Network(n) for n in block["except"]]
            assert all(any(p.subnet_of(e) for e in excepted) for p in private), name


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_only_the_ingress_controller_and_monitoring_reach_a_pod(overlay: str) -> None:
    for name, labels in _pod_labels(overlay).items():
        sources = {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for rule in _rules(overlay, labels, "Ingress")
            for peer in rule["from"]
        }
        component = labels["app.kubernetes.io/component"]
        public = {"ingress-nginx", "monitoring"}
        expected = {"provision": set(), "ingest": public, "overview": public}
        assert sources == expected.get(component, {"monitoring"}), name


# --- autoscaling --------------------------------------------------------------------------------


def _durables() -> dict[str, set[str]]:
    """Each service's durable consumers on the events stream, as the code declares them."""
    settings = Settings()
    org = load_organisation(settings.org_config)
    return {
        service.name: {spec.durable for spec in service.consumers if spec.stream == EVENTS_STREAM}
        for service in built_services(settings, org)
    }


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_scaled_objects_follow_the_lag_of_the_consumers_the_code_declares(overlay: str) -> None:
    durables = _durables()
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(overlay, "ScaledObject")}
    assert sorted(scaled) == sorted(f"sakspost-{name}" for name in SCALED)
    for name in SCALED:
        spec = scaled[f"sakspost-{name}"]["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        consumers = set()
        for trigger in spec["triggers"]:
            assert trigger["type"] == "nats-jetstream"
            metadata = trigger["metadata"]
            assert metadata["account"] == "SAKSPOST"
            assert metadata["stream"] == EVENTS_STREAM
            assert (
                metadata["natsServerMonitoringEndpoint"]
                == "nats-headless.nats.svc.cluster.local:8222"
            )
            assert int(metadata["lagThreshold"]) > 0
            consumers.add(metadata["consumer"])
        assert consumers == durables[name], name
        # The autoscaler owns the replica count: an apply must not reset it.
        assert "replicas" not in named(overlay, "Deployment", f"sakspost-{name}")["spec"]


# --- the checks `make deploy-check` runs --------------------------------------------------------


def test_validation_refuses_an_unknown_field_in_every_kind_it_checks() -> None:
    for manifest in rendered("prod"):
        check(manifest)
        broken = copy.deepcopy(manifest)
        broken["spec" if "spec" in broken else "metadata"]["unknownField"] = 1
        with pytest.raises(InvalidObject, match="unknownField"):
            check(broken)


def test_validation_refuses_a_kind_it_has_no_schema_for() -> None:
    with pytest.raises(InvalidObject):
        check({"apiVersion": "example.invalid/v1", "kind": "Gadget", "metadata": {"name": "x"}})
    with pytest.raises(InvalidObject):
        check({"apiVersion": "keda.sh/v1alpha1", "kind": "Gadget", "metadata": {"name": "x"}})


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
