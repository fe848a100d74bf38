"""deploy/k8s: valid Kubernetes objects, consistent with each other and with the code.

No cluster is needed. The kustomization is rendered as `kubectl apply -k` renders it
(tests/k8s_manifests.py; kubectl comes with the dev dependencies). The built-in kinds
are checked against Kubernetes' own JSON schemas (the `kubernetes-validate` package,
strict: unknown fields fail), the operators' kinds against tests/schemas (k8s-crds.json,
the prometheus-operator's CRDs); then, for every service found
under services/ (so a new service without manifests fails here), that what the
manifests run is what the image, the entrypoint, the settings, the bus topology and
deploy/rabbitmq/definitions.json say, and that no secret is committed outside
deploy/k8s/secrets.example.yaml.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy.engine import make_url

from crm_kit import policies
from crm_kit.auth import generate_keypair
from crm_kit.keys import parse_public_keys
from crm_kit.routes import health_router
from crm_kit.settings import ServiceSettings
from crm_kit.topology import Topology

from . import k8s_manifests as m
from .k8s_manifests import (
    BACKENDS,
    DOCKERFILE,
    ENTRYPOINT,
    EXAMPLE_SECRETS,
    GATEWAY_ENV,
    K8S,
    KUBERNETES_VERSION,
    NAMESPACE,
    REF,
    REQUIRED_ENV,
    ROOT,
    SERVICES,
    all_containers,
    builtin,
    compose_port,
    env_names,
    environment,
    find,
    graceful_timeout,
    main_container,
    mounts,
    of_kind,
    pod_spec,
    quantity,
    rabbitmq_host,
    resolve,
    secret_file,
    settings_class,
    strip,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    return m.load_kustomization()


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    """Every object `kubectl apply -k deploy/k8s` would send."""
    return list(m.rendered())


@pytest.fixture(scope="module")
def example_secrets() -> dict[str, dict[str, str]]:
    return m.example_secrets()


@pytest.fixture(scope="module")
def config_maps(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return m.config_maps(objects)


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return m.definitions()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return m.compose()


# -- the files -----------------------------------------------------------------------


def test_kustomization_uses_every_manifest(kustomization: dict[str, Any]) -> None:
    on_disk = {path for pattern in ("*.yaml", "*.yml") for path in K8S.rglob(pattern)} - {EXAMPLE_SECRETS}
    used = m.used_files(K8S)
    assert used == on_disk, (
        f"read by no kustomization: {sorted(str(p.relative_to(K8S)) for p in on_disk - used)}; "
        f"named but not a manifest here: {sorted(str(p.relative_to(K8S)) for p in used - on_disk)}"
    )
    assert EXAMPLE_SECRETS not in used, "the example secrets must never be applied"
    assert kustomization.get("namespace"), "kustomization.yaml must put everything in one namespace"
    listed = list(kustomization.get("resources") or [])
    assert len(listed) == len(set(listed)), "kustomization.yaml lists a folder twice"
    assert set(listed) == {"base", *(f"services/{name}" for name in SERVICES)}, (
        f"kustomization.yaml must list base and one overlay per service: {listed}"
    )


def test_every_placeholder_of_the_shared_shape_is_filled_in() -> None:
    """components/service writes SERVICE, PORT, ...; the overlays' values replace them all."""
    text = m.render_text(K8S)
    left = sorted({match.group(0) for match in m.PLACEHOLDERS.finditer(text)})
    assert not left, f"placeholders left in what kubectl apply -k sends: {left}"
    for obj in m.rendered():
        assert obj["kind"] != "ServiceValues", "the overlays' values are local config, never applied"


def test_every_object_is_named_once_and_takes_the_kustomization_namespace(
    objects: list[dict[str, Any]], kustomization: dict[str, Any]
) -> None:
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        for key in ("apiVersion", "kind", "metadata"):
            assert obj.get(key), f"{obj['_file']}: an object without {key}"
        ident = (obj["kind"], obj["metadata"]["name"])
        assert ident not in seen, f"{obj['_file']}: {ident} is defined twice"
        seen.add(ident)
        namespace = obj["metadata"].get("namespace")
        assert namespace in (None, kustomization["namespace"]), f"{obj['_file']}: {ident} in {namespace}"
    namespaces = of_kind(objects, "Namespace")
    assert [n["metadata"]["name"] for n in namespaces] == [kustomization["namespace"]]


def test_builtin_objects_follow_the_kubernetes_schema(objects: list[dict[str, Any]]) -> None:
    kv = pytest.importorskip("kubernetes_validate.utils")
    failures = []
    for obj in filter(builtin, objects):
        try:
            kv.validate(strip(obj), KUBERNETES_VERSION, strict=True)
        except kv.ValidationError as exc:
            path = ".".join(map(str, exc.absolute_path)) or "<root>"
            failures.append(f"{obj['_file']}: {obj['kind']} {obj['metadata']['name']}: {path}: {exc.message}")
    assert not failures, "invalid Kubernetes objects:\n" + "\n".join(failures)


def test_operator_objects_follow_their_schemas(objects: list[dict[str, Any]]) -> None:
    validators = m.operator_schemas()
    failures = []
    for obj in objects:
        if builtin(obj):
            continue
        key = f"{obj['apiVersion']}/{obj['kind']}"
        assert key in validators, f"{obj['_file']}: no schema for {key} in tests/schemas"
        for error in validators[key].iter_errors(strip(obj)):
            path = ".".join(map(str, error.absolute_path)) or "<root>"
            failures.append(f"{obj['_file']}: {key} {obj['metadata']['name']}: {path}: {error.message}")
    assert not failures, "invalid operator objects:\n" + "\n".join(failures)


def test_embedded_kubernetes_types_are_valid(objects: list[dict[str, Any]]) -> None:
    """What the operators pass on to Kubernetes: each HPA behaviour KEDA makes, and the
    RabbitMQ pods' resources and affinity."""
    kv = pytest.importorskip("kubernetes_validate.utils")
    for scaled in of_kind(objects, "ScaledObject"):
        spec = scaled["spec"]
        hpa = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": scaled["metadata"]["name"]},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                "minReplicas": spec.get("minReplicaCount", 1),
                "maxReplicas": spec.get("maxReplicaCount", 100),
                "behavior": spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior"),
            },
        }
        hpa["spec"] = {k: v for k, v in hpa["spec"].items() if v is not None}
        kv.validate(hpa, KUBERNETES_VERSION, strict=True)
    for cluster in of_kind(objects, "RabbitmqCluster"):
        spec = cluster["spec"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": cluster["metadata"]["name"]},
            "spec": {
                "containers": [{"name": "rabbitmq", "image": spec["image"], "resources": spec["resources"]}],
                "affinity": spec.get("affinity", {}),
            },
        }
        kv.validate(pod, KUBERNETES_VERSION, strict=True)


def test_readmes_say_how_to_apply() -> None:
    readme = (K8S / "README.md").read_text()
    assert "kubectl apply -k deploy/k8s" in readme
    assert "k8s/README.md" in (ROOT / "deploy" / "README.md").read_text(), "deploy/README.md must link it"


# -- each service ----------------------------------------------------------------------


def test_services_are_found() -> None:
    assert "gateway" in SERVICES and len(SERVICES) >= 2, SERVICES


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_its_manifest_deployment_service_and_budget(
    objects: list[dict[str, Any]], compose: dict[str, Any], name: str
) -> None:
    overlay = K8S / "services" / name
    assert (overlay / "kustomization.yaml").is_file(), f"deploy/k8s/services/{name}/ is missing"
    assert m.load_kustomization(overlay).get("components") == ["../../components/service"], (
        f"services/{name}: an overlay of the shared shape, not a copy of it"
    )
    deployment = find(objects, "Deployment", name)
    assert deployment["_file"] == f"services/{name}"
    assert "replicas" not in deployment["spec"], f"{name}: the ScaledObject owns the replica count"
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items(), f"{name}: selector does not match pod labels"

    port = compose_port(compose, name)
    container = main_container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    metrics = m.metrics_port(objects)
    assert ports == {"http": port, "metrics": metrics}, (
        f"{name}: container ports {ports}, the image listens on {port} and METRICS_PORT is {metrics}"
    )

    service = find(objects, "Service", name)
    assert service["spec"]["selector"].items() <= labels.items(), f"Service {name} selects no pod of it"
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("http", port, "http"),
        ("metrics", metrics, "metrics"),
    ]

    budget = find(objects, "PodDisruptionBudget", name)
    assert budget["spec"]["selector"]["matchLabels"] == selector
    scaled = find(objects, "ScaledObject", name)
    assert budget["spec"].get("maxUnavailable", 0) < scaled["spec"]["minReplicaCount"], (
        f"{name}: a voluntary disruption could stop every replica"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_the_image_entrypoint_and_migrations_the_dockerfile_defines(
    objects: list[dict[str, Any]], kustomization: dict[str, Any], compose: dict[str, Any], name: str
) -> None:
    deployment = find(objects, "Deployment", name)
    job = find(objects, "Job", f"{name}-migrate")
    image = m.image_of(kustomization, name)
    for container in [*all_containers(deployment), *all_containers(job)]:
        assert container["image"] == image, f"{name}/{container['name']}: image {container['image']}"

    # The main container runs what entrypoint.sh `serve` runs after migrating.
    entry = re.search(r"^exec (uvicorn .*)$", ENTRYPOINT.read_text(), re.M)
    assert entry, "deploy/docker/entrypoint.sh no longer execs uvicorn"
    port = compose_port(compose, name)
    command = entry.group(1).replace("${SERVICE}", name).replace("${PORT}", str(port))
    assert main_container(deployment).get("args") == shlex.split(command)
    assert "command" not in main_container(deployment), "keep the image's entrypoint (exec, PID 1)"

    # The init container migrates with the service folder the image holds.
    dockerfile = DOCKERFILE.read_text()
    assert "COPY --from=build /src/services/${SERVICE} /app/services/${SERVICE}" in dockerfile
    assert (ROOT / "services" / name / "alembic.ini").is_file()
    init = {c["name"]: c for c in pod_spec(deployment).get("initContainers") or []}
    assert "migrate" in init, f"{name}: no init container `migrate`"
    assert init["migrate"]["args"] == ["python", "-m", "crm_kit.migrations", f"/app/services/{name}"]
    assert next(iter(init)) == "migrate", f"{name}: migrate first"
    main_db = [e for e in main_container(deployment)["env"] if e["name"] == "DATABASE_URL"]
    assert [e for e in init["migrate"]["env"] if e["name"] == "DATABASE_URL"] == main_db, (
        f"{name}: the migration and the service must use the same database"
    )
    # The migration Job runs the very same migration, ahead of the rollout.
    (migrate,) = pod_spec(job)["containers"]
    assert {k: migrate[k] for k in ("image", "args", "env")} == {
        k: init["migrate"][k] for k in ("image", "args", "env")
    }, f"{name}: the Job and the init container must migrate alike"
    assert pod_spec(job)["restartPolicy"] in ("OnFailure", "Never")


@pytest.mark.parametrize("name", SERVICES)
def test_service_probes_its_health_endpoints(objects: list[dict[str, Any]], name: str) -> None:
    container = main_container(find(objects, "Deployment", name))
    runtime = SimpleNamespace(settings=SimpleNamespace(service_name=name))
    endpoints = {route.path for route in health_router(runtime).routes}  # type: ignore[arg-type]
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        assert path in endpoints, f"crm_kit.routes no longer serves {path}"
        check = container.get(probe)
        assert check, f"{name}: no {probe}"
        assert check["httpGet"] == {"path": path, "port": "http"}, f"{name}: {probe} {check['httpGet']}"
        assert check.get("timeoutSeconds", 1) >= 3, f"{name}: {probe} times out before /readyz answers"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, (
        f"{name}: give a slow start (broker, database) two minutes before restarting"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_resources_and_runs_locked_down(objects: list[dict[str, Any]], name: str) -> None:
    deployment = find(objects, "Deployment", name)
    spec = pod_spec(deployment)
    uid = re.search(r"useradd .*--uid (\d+)", DOCKERFILE.read_text())
    assert uid, "the Dockerfile no longer creates its user with a fixed uid"
    pod_security = spec.get("securityContext") or {}
    assert pod_security.get("runAsNonRoot") is True
    assert pod_security.get("runAsUser") == int(uid.group(1)), "run as the image's own user"
    assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False, f"{name} does not call the Kubernetes API"
    for container in all_containers(deployment):
        where = f"{name}/{container['name']}"
        resources = container.get("resources") or {}
        for kind in ("cpu", "memory"):
            request = resources.get("requests", {}).get(kind)
            limit = resources.get("limits", {}).get(kind)
            assert request and limit, f"{where}: needs a {kind} request and limit"
            assert quantity(request) <= quantity(limit), f"{where}: {kind} request above its limit"
        security = container.get("securityContext") or {}
        assert security.get("allowPrivilegeEscalation") is False, where
        assert security.get("readOnlyRootFilesystem") is True, where
        assert security.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not security.get("privileged"), where
        assert not security.get("capabilities", {}).get("add"), where
    # A read-only root: uploads spool to /tmp, which must be a writable volume.
    tmp = mounts(deployment, main_container(deployment)).get("/tmp")
    assert tmp and "emptyDir" in tmp, f"{name}: /tmp must be an emptyDir (the root is read-only)"


@pytest.mark.parametrize("name", SERVICES)
def test_service_stops_gracefully(objects: list[dict[str, Any]], name: str) -> None:
    deployment = find(objects, "Deployment", name)
    container = main_container(deployment)
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") or []
    assert pre_stop[:1] == ["sleep"], f"{name}: preStop should wait while the endpoints drop the pod"
    sleep = float(pre_stop[1])
    grace = pod_spec(deployment).get("terminationGracePeriodSeconds", 30)
    needed = sleep + graceful_timeout() + 5
    assert grace >= needed, (
        f"{name}: terminationGracePeriodSeconds {grace} < preStop {sleep} s + the broker's "
        f"graceful timeout {graceful_timeout()} s + 5 s: in-flight messages would be killed"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_service_gets_every_setting_from_config_and_secrets(
    objects: list[dict[str, Any]],
    config_maps: dict[str, dict[str, str]],
    example_secrets: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
) -> None:
    deployment = find(objects, "Deployment", name)
    container = main_container(deployment)
    env = environment(container, config_maps)
    needed = REQUIRED_ENV + (GATEWAY_ENV if name == "gateway" else ())
    missing = [key for key in needed if key not in env]
    assert not missing, f"{name}: the manifests do not set {missing}"

    # Every $(VAR) refers to a variable defined before it; every other name is read by
    # the service's settings, so nothing set is silently ignored.
    helpers: set[str] = set()
    defined = set()
    for source in container.get("envFrom") or []:
        defined |= set(config_maps[source["configMapRef"]["name"]])
    for entry in container.get("env") or []:
        for ref in REF.findall(str(entry.get("value", ""))):
            assert ref in defined, f"{name}: {entry['name']} uses $({ref}) before it is defined"
            helpers.add(ref)
        defined.add(entry["name"])
    settings_cls = settings_class(name)
    unread = sorted(set(env) - helpers - env_names(settings_cls))
    assert not unread, f"{name}: the manifests set {unread}, which {name}.settings does not read"

    # The settings class accepts the environment (example secrets, a real key pair).
    values = resolve(env, example_secrets, config_maps)
    private_pem, public_pem = generate_keypair()
    files = {"JWT_PUBLIC_KEY_FILE": public_pem, "JWT_PRIVATE_KEY_FILE": private_pem}
    for key, pem in files.items():
        if key in values:
            path = tmp_path / PurePosixPath(values[key]).name
            path.write_text(pem)
            values[key] = str(path)
    for key in list(env_names(settings_cls)):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = settings_cls()
    assert settings.service_name == name
    assert settings.bus_namespace == NAMESPACE, "the RabbitMQ permissions are written for this namespace"
    assert settings.public_keys_text().strip() == public_pem.strip()
    assert list(settings.key_set().by_kid) == list(parse_public_keys(public_pem))


@pytest.mark.parametrize("name", SERVICES)
def test_service_uses_its_own_database_on_the_external_postgres(
    objects: list[dict[str, Any]],
    config_maps: dict[str, dict[str, str]],
    example_secrets: dict[str, dict[str, str]],
    name: str,
) -> None:
    container = main_container(find(objects, "Deployment", name))
    values = resolve(environment(container, config_maps), example_secrets, config_maps)
    url = make_url(values["DATABASE_URL"])
    postgres = [s for s in of_kind(objects, "Service") if s["spec"].get("type") == "ExternalName"]
    assert [s["metadata"]["name"] for s in postgres] == ["postgres"], "Postgres is an ExternalName Service"
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port or 5432) == ("postgres", 5432)
    # deploy/postgres/init.sql: one role and one database per service.
    assert (url.username, url.database) == (f"crm_{name}", f"crm_{name}")


@pytest.mark.parametrize("name", SERVICES)
def test_service_connects_to_the_rabbitmq_cluster_as_its_own_user(
    objects: list[dict[str, Any]],
    config_maps: dict[str, dict[str, str]],
    example_secrets: dict[str, dict[str, str]],
    name: str,
) -> None:
    container = main_container(find(objects, "Deployment", name))
    env = environment(container, config_maps)
    values = resolve(env, example_secrets, config_maps)
    url = urlsplit(values["AMQP_URL"])
    cluster = of_kind(objects, "RabbitmqCluster")
    assert len(cluster) == 1
    assert url.scheme == "amqp" and url.port == 5672
    assert url.hostname == rabbitmq_host(cluster[0]), f"{name}: AMQP_URL host {url.hostname}"
    assert (unquote(url.path[1:]) or "/") == "/", f"{name}: AMQP_URL vhost"
    assert url.username == name, f"{name}: connects as {url.username!r}, not its own user"

    # Its User imports the very Secret the Deployment takes the credentials from.
    user = find(objects, "User", name)
    secret = user["spec"]["importCredentialsSecret"]["name"]
    assert env["RABBITMQ_USERNAME"] == ("secret", secret, "username")
    assert env["RABBITMQ_PASSWORD"] == ("secret", secret, "password")
    assert user["spec"]["rabbitmqClusterReference"]["name"] == cluster[0]["metadata"]["name"]
    assert not user["spec"].get("tags"), f"{name}: a service user needs no management rights"


@pytest.mark.parametrize("name", SERVICES)
def test_service_rights_are_those_of_the_definitions(
    objects: list[dict[str, Any]], definitions: dict[str, Any], name: str
) -> None:
    permission = find(objects, "Permission", name)["spec"]
    expected = [p for p in definitions["permissions"] if p["user"] == name]
    assert len(expected) == 1, f"deploy/rabbitmq/definitions.json has no permission for {name}"
    assert permission["userReference"] == {"name": name}
    assert permission["vhost"] == expected[0]["vhost"]
    assert permission["permissions"] == {k: expected[0][k] for k in ("configure", "write", "read")}

    topic = find(objects, "TopicPermission", name)["spec"]
    expected_topic = [p for p in definitions["topic_permissions"] if p["user"] == name]
    assert len(expected_topic) == 1
    assert topic["userReference"] == {"name": name}
    assert topic["vhost"] == expected_topic[0]["vhost"]
    assert topic["permissions"] == {k: expected_topic[0][k] for k in ("exchange", "write", "read")}


@pytest.mark.parametrize("name", SERVICES)
def test_service_queues_have_the_policies_of_its_settings(
    objects: list[dict[str, Any]],
    config_maps: dict[str, dict[str, str]],
    example_secrets: dict[str, dict[str, str]],
    name: str,
) -> None:
    """Dead-lettering, the retry delay and the delivery limit are policies made from the
    service's settings (crm_kit.policies): a RETRY_DELAY_S or DELIVERY_LIMIT given to
    the Deployment must be in its Policy objects too, or RabbitMQ does not apply it."""
    container = main_container(find(objects, "Deployment", name))
    values = resolve(environment(container, config_maps), example_secrets, config_maps)
    values = {k: v for k, v in values.items() if not k.endswith("_KEY_FILE")}  # in the pod only
    expected = policies.for_settings(ServiceSettings.from_env({"SERVICE_NAME": name, **values}))
    found = [o["spec"] for o in of_kind(objects, "Policy") if o["spec"]["name"] in {p.name for p in expected}]
    cluster = of_kind(objects, "RabbitmqCluster")[0]["metadata"]["name"]
    assert found == [
        {
            "name": p.name,
            "vhost": "/",
            "pattern": p.pattern,
            "applyTo": p.apply_to,
            "priority": p.priority,
            "definition": p.definition,
            "rabbitmqClusterReference": {"name": cluster},
        }
        for p in expected
    ]


@pytest.mark.parametrize("name", SERVICES)
def test_service_scales_on_its_own_queue(
    objects: list[dict[str, Any]], example_secrets: dict[str, dict[str, str]], name: str
) -> None:
    scaled = find(objects, "ScaledObject", name)
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    triggers = {t["type"]: t for t in spec["triggers"]}
    assert len(triggers) == len(spec["triggers"]), f"{name}: one trigger per type"

    queue = triggers.get("rabbitmq")
    assert queue, f"{name}: no rabbitmq trigger"
    meta = queue["metadata"]
    assert meta["queueName"] == Topology(NAMESPACE, name).queue, f"{name}: scales on {meta['queueName']}"
    assert meta["mode"] == "QueueLength" and float(meta["value"]) > 0
    assert meta.get("protocol") == "amqp"
    host = urlsplit(meta["host"])
    assert host.password is None and host.username is None, f"{name}: credentials in the ScaledObject"
    assert host.hostname == rabbitmq_host(of_kind(objects, "RabbitmqCluster")[0])
    assert meta.get("vhostName", "/") == "/"

    # KEDA reads the queue as the service's own user, from the same Secret.
    auth = find(objects, "TriggerAuthentication", queue["authenticationRef"]["name"])
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    secret = find(objects, "User", name)["spec"]["importCredentialsSecret"]["name"]
    assert refs == {"username": (secret, "username"), "password": (secret, "password")}
    assert example_secrets[secret]["username"] == name

    if name == "gateway":
        assert "cpu" in triggers, "the gateway scales on CPU"
    if "cpu" in triggers:
        assert triggers["cpu"]["metricType"] == "Utilization"
        assert triggers["cpu"]["metadata"].get("containerName") == name
    # A second autoscaler on the same Deployment would fight KEDA's.
    assert not [
        h for h in of_kind(objects, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name
    ]


def test_only_the_gateway_gets_the_signing_key_and_every_service_the_public_key(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], compose: dict[str, Any]
) -> None:
    holders = []
    for name in SERVICES:
        deployment = find(objects, "Deployment", name)
        container = main_container(deployment)
        env = environment(container, config_maps)
        public = secret_file(deployment, container, str(env["JWT_PUBLIC_KEY_FILE"]))
        assert public == ("crm-jwt-public", "jwt_public.pem"), f"{name}: public key mount {public}"
        if any(
            v.get("secret", {}).get("secretName") == "crm-jwt-private"
            for v in pod_spec(deployment)["volumes"]
        ):
            holders.append(name)
    assert holders == ["gateway"], f"the private signing key is mounted in {holders}"
    gateway = find(objects, "Deployment", "gateway")
    container = main_container(gateway)
    env = environment(container, config_maps)
    private = secret_file(gateway, container, str(env["JWT_PRIVATE_KEY_FILE"]))
    assert private == ("crm-jwt-private", "jwt_private.pem")
    # ... and routes to each service by its Service's name and port.
    for name in BACKENDS:
        assert env[f"{name.upper()}_URL"] == f"http://{name}:{compose_port(compose, name)}"


def test_gateway_starts_after_every_service_has_bound_its_queue(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]]
) -> None:
    """Like compose's depends_on: the seeded admin's UserRegistered reaches only bound queues."""
    gateway = find(objects, "Deployment", "gateway")
    init = {c["name"]: c for c in pod_spec(gateway).get("initContainers") or []}
    wait = init.get("wait-for-services")
    assert wait, "the gateway needs an init container waiting for the services"
    env = environment(wait, config_maps)
    assert {f"{name.upper()}_URL" for name in BACKENDS} <= set(env)
    script = wait["args"][-1]
    assert "/healthz" in script and '.endswith("_URL")' in script
    compile(script, "wait-for-services", "exec")
