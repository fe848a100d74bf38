"""deploy/k8s as an operations team runs it: who may reach whom (NetworkPolicies), the
gateway's Ingress, metrics on a port only the monitoring reaches, the alert rules, the
migration Jobs, and images pinned to one build. Rendered as `kubectl apply -k` sends it
(tests/k8s_manifests.py); the rest of the manifests' checks are in test_k8s.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy.engine import make_url

from crm_kit import metrics
from crm_kit.topology import Topology

from . import k8s_manifests as m
from .k8s_manifests import BACKENDS, K8S, NAMESPACE, ROOT, SERVICES, find, main_container, of_kind, pod_spec

pytestmark = pytest.mark.unit

PIN_IMAGES = K8S / "pin_images.py"
#: The namespaces the policies let in, by `kubernetes.io/metadata.name`.
MONITORING_NAMESPACE = "monitoring"
INGRESS_NAMESPACE = "ingress-nginx"
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return list(m.rendered())


@pytest.fixture(scope="module")
def config_maps(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return m.config_maps(objects)


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = obj["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with In) selects `labels`."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        assert expression["operator"] == "In", f"only In is understood here: {expression}"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def policies_for(objects: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in of_kind(objects, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]


def values_of(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], name: str
) -> dict[str, str]:
    container = main_container(find(objects, "Deployment", name))
    env = m.environment(container, config_maps)
    return m.resolve(env, m.example_secrets(), config_maps)


def expected_egress(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], name: str
) -> list[dict[str, Any]]:
    """What a service's pods may reach: DNS, RabbitMQ's pods on AMQP_URL's port, Postgres
    (outside the cluster) on DATABASE_URL's port, and the gateway the services it calls."""
    values = values_of(objects, config_maps, name)
    (cluster,) = of_kind(objects, "RabbitmqCluster")
    rules: list[dict[str, Any]] = [
        {"to": [DNS_PEER], "ports": DNS_PORTS},
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": cluster["metadata"]["name"]}}}],
            "ports": [{"port": urlsplit(values["AMQP_URL"]).port}],
        },
        {"ports": [{"port": make_url(values["DATABASE_URL"]).port or 5432}]},
    ]
    if name == "gateway":
        urls = [k for k in values if k.endswith("_URL") and k not in ("AMQP_URL", "DATABASE_URL")]
        called = sorted(k.removesuffix("_URL").lower() for k in urls)
        assert called == sorted(BACKENDS), f"the gateway calls {called}"
        rules.append(
            {
                "to": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "app.kubernetes.io/name", "operator": "In", "values": BACKENDS}
                            ]
                        }
                    }
                ],
                "ports": [{"port": urlsplit(values[f"{b.upper()}_URL"]).port} for b in BACKENDS],
            }
        )
    return rules


def normalised(rules: list[dict[str, Any]]) -> list[str]:
    """Rules as comparable text, ignoring the order of rules, peers, ports and In values."""

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sorted(v) if k == "values" else canonical(v) for k, v in value.items()}
        if isinstance(value, list):
            return [canonical(v) for v in value]
        return value

    out = []
    for rule in rules:
        parts = {
            k: sorted(json.dumps(canonical(v), sort_keys=True) for v in vals) for k, vals in rule.items()
        }
        out.append(json.dumps(parts, sort_keys=True))
    return sorted(out)


# -- who may reach whom ----------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_reaches_only_dns_rabbitmq_postgres_and_what_it_calls(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], name: str
) -> None:
    labels = pod_labels(find(objects, "Deployment", name))
    policies = policies_for(objects, labels)
    assert [p["metadata"]["name"] for p in policies] == [name], f"{name}: policies {policies}"
    spec = policies[0]["spec"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"], f"{name}: both directions are closed"
    assert normalised(spec["egress"]) == normalised(expected_egress(objects, config_maps, name))


@pytest.mark.parametrize("name", SERVICES)
def test_service_takes_its_api_from_the_gateway_or_ingress_and_metrics_from_monitoring_only(
    objects: list[dict[str, Any]], name: str
) -> None:
    (policy,) = policies_for(objects, pod_labels(find(objects, "Deployment", name)))
    by_port: dict[str, list[dict[str, Any]]] = {}
    for rule in policy["spec"]["ingress"]:
        assert rule.get("from") and rule.get("ports"), f"{name}: an ingress rule open to all or every port"
        for port in rule["ports"]:
            by_port.setdefault(str(port["port"]), []).extend(rule["from"])
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}
    assert by_port["metrics"] == [monitoring], f"{name}: who reaches the metrics port: {by_port['metrics']}"
    if name == "gateway":
        ingress = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}}}
        assert by_port["http"] == [ingress], "the gateway's API: from the ingress controller only"
    else:
        gateway = pod_labels(find(objects, "Deployment", "gateway"))
        assert len(by_port["http"]) == 1 and selects(by_port["http"][0]["podSelector"], gateway)
        assert set(by_port["http"][0]) == {"podSelector"}, f"{name}: the API from the gateway's pods only"
    assert set(by_port) == {"http", "metrics"}, f"{name}: ports open: {sorted(by_port)}"


def test_migration_jobs_take_nothing_and_reach_only_dns_and_postgres(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]]
) -> None:
    for name in SERVICES:
        job = find(objects, "Job", f"{name}-migrate")
        labels = pod_labels(job)
        assert not selects(find(objects, "Deployment", name)["spec"]["selector"], labels), (
            f"{name}: the Deployment's selector (and its Service, PDB) would take the Job's pod"
        )
        (policy,) = policies_for(objects, labels)
        spec = policy["spec"]
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"] and not spec.get("ingress")
        dns, _, postgres = expected_egress(objects, config_maps, name)[:3]
        assert normalised(spec["egress"]) == normalised([dns, postgres])


# -- the gateway from outside, metrics from inside -----------------------------------------


def test_the_ingress_sends_https_to_the_gateway_http_port_only(objects: list[dict[str, Any]]) -> None:
    (ingress,) = of_kind(objects, "Ingress")
    spec = ingress["spec"]
    hosts = {rule["host"] for rule in spec["rules"]}
    assert hosts and hosts <= {h for tls in spec.get("tls") or [] for h in tls["hosts"]}, "every host has TLS"
    backends = [path["backend"]["service"] for rule in spec["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}], backends
    service = find(objects, "Service", "gateway")
    assert "http" in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("name", SERVICES)
def test_metrics_are_on_their_own_port_which_the_service_monitor_scrapes(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], name: str
) -> None:
    port = m.metrics_port(objects)
    values = values_of(objects, config_maps, name)
    assert int(values["METRICS_PORT"]) == port, f"{name}: METRICS_PORT {values.get('METRICS_PORT')}"
    container = main_container(find(objects, "Deployment", name))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == port and ports["http"] != port
    service = find(objects, "Service", name)
    monitor = find(objects, "ServiceMonitor", name)
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"]), f"{name}: scrapes no Service"
    monitored = [
        s
        for s in of_kind(objects, "Service")
        if selects(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
    ]
    assert monitored == [service], (
        f"{name}: the ServiceMonitor selects {[s['metadata']['name'] for s in monitored]}"
    )
    assert [(e["port"], e.get("path", "/metrics")) for e in monitor["spec"]["endpoints"]] == [
        ("metrics", "/metrics")
    ]


# -- alerts -----------------------------------------------------------------------------


def alert_rules(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (rules,) = of_kind(objects, "PrometheusRule")
    return {r["alert"]: r for group in rules["spec"]["groups"] for r in group["rules"] if "alert" in r}


def promql_regex(expr: str, label: str) -> re.Pattern[str]:
    """The regular expression of `label=~"..."` in a PromQL expression (anchored, as PromQL's are)."""
    found = re.search(rf'{label}=~"((?:[^"\\]|\\.)*)"', expr)
    assert found, f"no {label}=~ matcher in {expr!r}"
    return re.compile(json.loads(f'"{found.group(1)}"'))


def test_alerts_cover_dead_letters_the_outbox_consumers_and_readiness(objects: list[dict[str, Any]]) -> None:
    alerts = alert_rules(objects)
    assert {"CrmDeadLetters", "CrmOutboxStuck", "CrmConsumersMissing", "CrmServiceNotReady"} <= set(alerts)
    for name, rule in alerts.items():
        assert rule["labels"].get("severity") in ("warning", "critical"), f"{name}: no severity"
        assert rule["annotations"].get("summary"), f"{name}: no summary"
        assert rule.get("for"), f"{name}: would fire on one bad scrape"

    # The queue matchers match each service's queues as crm_kit.topology names them.
    dead, consumed = (
        promql_regex(alerts[a]["expr"], "queue") for a in ("CrmDeadLetters", "CrmConsumersMissing")
    )
    for name in SERVICES:
        topology = Topology(NAMESPACE, name)
        assert dead.fullmatch(topology.dead_letter_queue) and not dead.fullmatch(topology.queue)
        assert consumed.fullmatch(topology.queue)
        assert not consumed.fullmatch(topology.retry_queue), "nobody consumes the retry queue, on purpose"
        assert not consumed.fullmatch(topology.dead_letter_queue)


def test_alerts_read_metrics_that_exist(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]]
) -> None:
    families = [
        family
        for collector in vars(metrics).values()
        if isinstance(collector, MetricWrapperBase)
        for family in collector.describe()
    ]
    ours = {f.name for f in families} | {f"{f.name}_total" for f in families if f.type == "counter"}
    assert "crm_outbox_oldest_pending_seconds" in ours
    namespace = m.load_kustomization()["namespace"]
    for name, rule in alert_rules(objects).items():
        for metric in re.findall(r"\b(crm_[a-z_]+)\b", rule["expr"]):
            assert metric in ours, f"{name}: crm_kit.metrics has no {metric}"
        for found in re.findall(r'namespace="([^"]+)"', rule["expr"]):
            assert found == namespace, f"{name}: namespace {found!r}, the kustomization's is {namespace!r}"
    # RabbitMQ's per-queue metrics come from its own ServiceMonitor.
    (cluster,) = of_kind(objects, "RabbitmqCluster")
    rabbit = find(objects, "ServiceMonitor", cluster["metadata"]["name"])
    (endpoint,) = rabbit["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics/detailed" and endpoint["port"] == "prometheus"
    assert set(endpoint["params"]["family"]) >= {"queue_coarse_metrics", "queue_consumer_count"}


# -- images -------------------------------------------------------------------------------


def test_images_are_pinned_to_one_build_never_latest(objects: list[dict[str, Any]]) -> None:
    kustomization = m.load_kustomization()
    tags = {m.image_of(kustomization, name).rpartition(":")[2] for name in SERVICES}
    assert len(tags) == 1, f"the services run images of different builds: {tags}"
    for workload in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        for container in m.all_containers(workload):
            assert not container["image"].endswith(":latest") and ":" in container["image"], container[
                "image"
            ]
    for path in [*K8S.rglob("*.yaml"), ROOT / "docker-compose.yml"]:
        assert not re.search(r"(:|newTag:\s*)latest\b", path.read_text()), (
            f"{path.relative_to(ROOT)} uses latest"
        )


def test_pinning_writes_one_tag_and_registry_into_the_rendered_images(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    run = [sys.executable, str(copy / "pin_images.py"), "--file", str(copy / "kustomization.yaml")]
    done = subprocess.run(
        [*run, "--tag", "3f2a9c1d0b7e", "--registry", "registry.example.com/crm"], check=False
    )
    assert done.returncode == 0
    images = {
        c["image"] for w in m.render(copy) if w["kind"] in ("Deployment", "Job") for c in m.all_containers(w)
    }
    assert images == {f"registry.example.com/crm/{name}:3f2a9c1d0b7e" for name in SERVICES}
    before = (copy / "kustomization.yaml").read_text()
    for bad in ("latest", "has space", ""):
        refused = subprocess.run([*run, "--tag", bad], capture_output=True, text=True, check=False)
        assert refused.returncode != 0 and "pin_images:" in refused.stderr, bad
    assert (copy / "kustomization.yaml").read_text() == before, "a refused tag changes nothing"


def test_migration_jobs_run_locked_down_and_clean_up(objects: list[dict[str, Any]]) -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    for job in of_kind(objects, "Job"):
        name = job["metadata"]["name"].removesuffix("-migrate")
        assert name in deployments, f"Job {job['metadata']['name']} migrates no service"
        spec = pod_spec(job)
        assert spec["securityContext"] == pod_spec(deployments[name])["securityContext"]
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
            assert security["capabilities"]["drop"] == ["ALL"] and container["resources"]["limits"]
        assert job["spec"].get("ttlSecondsAfterFinished"), "finished Jobs must go, or the next apply fails"
        assert job["spec"].get("activeDeadlineSeconds"), "a migration stuck on a lock must end"
    assert sorted(j["metadata"]["name"] for j in of_kind(objects, "Job")) == sorted(
        f"{n}-migrate" for n in SERVICES
    )


def test_rabbitmq_is_4_in_compose_and_the_cluster(objects: list[dict[str, Any]]) -> None:
    (cluster,) = of_kind(objects, "RabbitmqCluster")
    image = cluster["spec"]["image"]
    assert re.fullmatch(r"rabbitmq:4\.\d+-management", image), f"RabbitMQ {image}: 3.x is out of support"
    config = cluster["spec"].get("rabbitmq", {}).get("additionalConfig", "")
    assert "cluster_partition_handling" not in config, "RabbitMQ 4.3 ignores it (Khepri): do not pretend"
