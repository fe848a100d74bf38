"""deploy/k8s: valid Kubernetes objects, consistent with each other and with the code.

No cluster is needed. The built-in kinds are checked against Kubernetes' own JSON
schemas (the `kubernetes-validate` package, strict: unknown fields fail), the
operators' kinds against tests/schemas/k8s-crds.json; then, for every service found
under services/ (so a new service without manifests fails here), that what the
manifests run is what the image, the entrypoint, the settings, the bus topology and
deploy/rabbitmq/definitions.json say, and that no secret is committed outside
deploy/k8s/secrets.example.yaml.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from sqlalchemy.engine import make_url

from crm_kit import policies
from crm_kit.auth import generate_keypair
from crm_kit.keys import parse_public_keys
from crm_kit.routes import health_router
from crm_kit.settings import ServiceSettings
from crm_kit.topology import Topology

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
EXAMPLE_SECRETS = K8S / "secrets.example.yaml"
CRD_SCHEMAS = ROOT / "tests" / "schemas" / "k8s-crds.json"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
COMPOSE = ROOT / "docker-compose.yml"
BUS_SOURCE = ROOT / "shared" / "kit" / "src" / "crm_kit" / "bus.py"

#: The oldest Kubernetes the manifests are meant for (policy/v1, autoscaling/v2, ...).
KUBERNETES_VERSION = "1.29"
#: Every service: a folder under services/ with a pyproject.toml (not a fixed list).
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
BACKENDS = [name for name in SERVICES if name != "gateway"]
NAMESPACE = ServiceSettings.model_fields["bus_namespace"].default
#: What every service needs for a real run (the settings' defaults point at 127.0.0.1).
REQUIRED_ENV = ("DATABASE_URL", "AMQP_URL", "JWT_PUBLIC_KEY_FILE")
GATEWAY_ENV = ("JWT_PRIVATE_KEY_FILE", "CRM_ADMIN_PASSWORD", *(f"{n.upper()}_URL" for n in BACKENDS))
#: Marks every placeholder in the example secrets.
PLACEHOLDER = "CHANGE-ME"
REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


# -- loading -------------------------------------------------------------------------


def documents(path: Path) -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path.relative_to(ROOT)}: a document is not a mapping"
    return docs


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load(KUSTOMIZATION.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def objects(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object `kubectl apply -k` would send, as written in the files."""
    found = []
    for resource in kustomization.get("resources") or []:
        path = K8S / resource
        assert path.is_file(), f"kustomization.yaml lists {resource}, which does not exist"
        for doc in documents(path):
            found.append({**doc, "_file": resource})
    return found


def builtin(obj: dict[str, Any]) -> bool:
    """A kind of Kubernetes itself (core, apps, policy, *.k8s.io), not of an operator."""
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "_file"}


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o.get("kind") == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r} in deploy/k8s, found {len(matches)}"
    return matches[0]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


@pytest.fixture(scope="module")
def example_secrets() -> dict[str, dict[str, str]]:
    secrets: dict[str, dict[str, str]] = {}
    for doc in documents(EXAMPLE_SECRETS):
        assert doc.get("kind") == "Secret", "secrets.example.yaml must hold Secrets only"
        assert not doc.get("data"), f"{doc['metadata']['name']}: use stringData, readable placeholders"
        secrets[doc["metadata"]["name"]] = {k: str(v) for k, v in (doc.get("stringData") or {}).items()}
    return secrets


@pytest.fixture(scope="module")
def config_maps(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: dict(o.get("data") or {}) for o in of_kind(objects, "ConfigMap")}


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return json.loads(DEFINITIONS.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def compose_port(compose: dict[str, Any], name: str) -> int:
    """The PORT the image of `name` is built with (docker-compose.yml's build args)."""
    service = (compose.get("services") or {}).get(name)
    assert service, f"docker-compose.yml has no service {name!r}: its image's PORT is unknown"
    return int(service["build"]["args"]["PORT"])


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    name = deployment["metadata"]["name"]
    containers = {c["name"]: c for c in pod_spec(deployment)["containers"]}
    assert name in containers, f"Deployment {name}: no container named {name!r}"
    return containers[name]


def all_containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(deployment)
    yield from spec.get("initContainers") or []
    yield from spec["containers"]


def environment(container: dict[str, Any], config_maps: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Name -> literal value, or ("secret", name, key) / ("configMap", name, key)."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom") or []:
        assert "configMapRef" in source, "envFrom is only for ConfigMaps (secrets go through env)"
        ref = source["configMapRef"]["name"]
        assert ref in config_maps, f"envFrom names ConfigMap {ref!r}, which deploy/k8s does not define"
        env.update(config_maps[ref])
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif "secretKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = ("secret", ref["name"], ref["key"])
        else:
            ref = entry["valueFrom"].get("configMapKeyRef")
            assert ref, f"{entry['name']}: only values, Secrets and ConfigMaps are understood here"
            env[entry["name"]] = ("configMap", ref["name"], ref["key"])
    return env


def resolve(
    env: dict[str, Any], secrets: dict[str, dict[str, str]], config_maps: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Values as the pod sees them (secrets from the example), with $(VAR) expanded."""
    values: dict[str, str] = {}
    for name, value in env.items():
        if isinstance(value, tuple):
            kind, ref, key = value
            source = secrets if kind == "secret" else config_maps
            assert ref in source and key in source[ref], f"{name}: {kind} {ref!r} has no key {key!r}"
            values[name] = source[ref][key]
        else:
            values[name] = REF.sub(lambda m: values[m.group(1)], value)
    return values


def mounts(deployment: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Mount path -> the volume mounted there."""
    volumes = {v["name"]: v for v in pod_spec(deployment).get("volumes") or []}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts") or []}


def secret_file(deployment: dict[str, Any], container: dict[str, Any], path: str) -> tuple[str, str] | None:
    """(secret, key) whose file appears at `path` in the container, if any."""
    file = PurePosixPath(path)
    volume = mounts(deployment, container).get(str(file.parent))
    if not volume or "secret" not in volume:
        return None
    return volume["secret"]["secretName"], file.name


def settings_class(name: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{name}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{name}.settings should define one settings class, found {found}"
    return found[0]


def env_names(settings_cls: type[ServiceSettings]) -> set[str]:
    prefix = str(settings_cls.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for field_name, field in settings_cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def quantity(value: Any) -> float:
    """A Kubernetes quantity (cpu or memory) as a number, to compare requests and limits."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def graceful_timeout() -> float:
    """How long crm_kit.bus lets in-flight messages finish when a service stops."""
    found = re.search(r"graceful_timeout=([0-9.]+)", BUS_SOURCE.read_text())
    assert found, "crm_kit/bus.py no longer sets graceful_timeout: update the grace period check"
    return float(found.group(1))


# -- the files -----------------------------------------------------------------------


def test_kustomization_lists_every_manifest(kustomization: dict[str, Any]) -> None:
    on_disk = {
        str(path.relative_to(K8S))
        for pattern in ("*.yaml", "*.yml")
        for path in K8S.rglob(pattern)
        if path not in (KUSTOMIZATION, EXAMPLE_SECRETS)
    }
    listed = list(kustomization.get("resources") or [])
    assert len(listed) == len(set(listed)), "kustomization.yaml lists a file twice"
    assert set(listed) == on_disk, (
        f"not in kustomization.yaml: {sorted(on_disk - set(listed))}; "
        f"listed but missing: {sorted(set(listed) - on_disk)}"
    )
    assert "secrets.example.yaml" not in listed, "the example secrets must never be applied"
    assert kustomization.get("namespace"), "kustomization.yaml must put everything in one namespace"


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
    root = json.loads(CRD_SCHEMAS.read_text())
    failures = []
    for obj in objects:
        if builtin(obj):
            continue
        key = f"{obj['apiVersion']}/{obj['kind']}"
        assert key in root["kinds"], f"{obj['_file']}: no schema for {key} in {CRD_SCHEMAS.name}"
        pointer = "#/kinds/" + key.replace("~", "~0").replace("/", "~1")
        validator = jsonschema.Draft202012Validator({**root, "$ref": pointer})
        for error in validator.iter_errors(strip(obj)):
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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
def test_kustomize_builds_the_objects_with_namespace_and_images(
    objects: list[dict[str, Any]], kustomization: dict[str, Any]
) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize deploy/k8s failed:\n{result.stderr}"
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in built) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in objects
    )
    for obj in built:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == kustomization["namespace"], obj["metadata"]
    for deployment in of_kind(built, "Deployment"):
        name = deployment["metadata"]["name"]
        for container in all_containers(deployment):
            assert container["image"] == f"crm/{name}:latest", f"{name}: image {container['image']}"


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
    assert (K8S / "services" / f"{name}.yaml").is_file(), f"deploy/k8s/services/{name}.yaml is missing"
    deployment = find(objects, "Deployment", name)
    assert deployment["_file"] == f"services/{name}.yaml"
    assert "replicas" not in deployment["spec"], f"{name}: the ScaledObject owns the replica count"
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items(), f"{name}: selector does not match pod labels"

    port = compose_port(compose, name)
    container = main_container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}, f"{name}: container ports {ports}, the image listens on {port}"

    service = find(objects, "Service", name)
    assert service["spec"]["selector"].items() <= labels.items(), f"Service {name} selects no pod of it"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, "http")]

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
    image = f"crm/{name}"
    assert {"name": image, "newTag": "latest"} in (kustomization.get("images") or []), (
        f"kustomization.yaml must set the image {image} (built with --build-arg SERVICE={name})"
    )
    for container in all_containers(deployment):
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


# -- RabbitMQ, Postgres ------------------------------------------------------------------


def rabbitmq_host(cluster: dict[str, Any]) -> str:
    """The Service the cluster operator makes: named like the cluster, in its namespace."""
    namespace = yaml.safe_load(KUSTOMIZATION.read_text())["namespace"]
    return f"{cluster['metadata']['name']}.{namespace}.svc.cluster.local"


def test_rabbitmq_is_a_three_node_cluster_of_the_compose_image(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]], compose: dict[str, Any]
) -> None:
    (cluster,) = of_kind(objects, "RabbitmqCluster")
    assert cluster["spec"]["replicas"] == 3, "quorum queues need three nodes to survive losing one"
    assert cluster["spec"]["image"] == compose["services"]["rabbitmq"]["image"]
    assert config_maps["crm-config"]["RABBITMQ_HOST"] == rabbitmq_host(cluster)
    resources = cluster["spec"]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"], (
        "RabbitMQ sizes its memory watermark from the limit; a lower request invites eviction"
    )


def test_rabbitmq_gets_the_exchanges_of_the_definitions(
    objects: list[dict[str, Any]], definitions: dict[str, Any]
) -> None:
    made = {(e["spec"].get("vhost", "/"), e["spec"]["name"]): e["spec"] for e in of_kind(objects, "Exchange")}
    for exchange in definitions["exchanges"]:
        spec = made.get((exchange["vhost"], exchange["name"]))
        assert spec, f"no Exchange object for {exchange['name']}"
        assert (spec["type"], spec["durable"], spec.get("autoDelete", False)) == (
            exchange["type"],
            exchange["durable"],
            exchange["auto_delete"],
        )
        assert not spec.get("arguments"), "the kit declares its exchanges without arguments"
    topology = Topology(NAMESPACE, "any")
    assert {name for _, name in made} == {
        topology.exchange,
        topology.dead_letter_exchange,
        topology.replay_exchange,
    }


def test_every_rabbitmq_user_of_the_definitions_but_the_admin_is_made(
    objects: list[dict[str, Any]], definitions: dict[str, Any]
) -> None:
    services = {u["name"] for u in definitions["users"] if "administrator" not in u.get("tags", [])}
    users = {u["metadata"]["name"] for u in of_kind(objects, "User")}
    # The administrator is the operator's default user (Secret crm-rabbitmq-default-user).
    assert users == services == set(SERVICES)


# -- secrets -----------------------------------------------------------------------------


def referenced_secrets(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]]
) -> dict[str, set[str]]:
    """Secret name -> the keys the manifests read from it."""
    refs: dict[str, set[str]] = {}
    for deployment in of_kind(objects, "Deployment"):
        for container in all_containers(deployment):
            env = environment(container, config_maps)
            for value in env.values():
                if isinstance(value, tuple) and value[0] == "secret":
                    refs.setdefault(value[1], set()).add(value[2])
            # A mounted Secret is read where a *_FILE setting points into it.
            for key, value in env.items():
                if key.endswith("_FILE") and isinstance(value, str):
                    found = secret_file(deployment, container, value)
                    if found:
                        refs.setdefault(found[0], set()).add(found[1])
        for volume in pod_spec(deployment).get("volumes") or []:
            if "secret" in volume:
                refs.setdefault(volume["secret"]["secretName"], set())
    for auth in of_kind(objects, "TriggerAuthentication"):
        for ref in auth["spec"].get("secretTargetRef") or []:
            refs.setdefault(ref["name"], set()).add(ref["key"])
    for user in of_kind(objects, "User"):
        name = user["spec"]["importCredentialsSecret"]["name"]
        refs.setdefault(name, set()).update({"username", "password"})
    return refs


def test_no_secret_object_is_committed_outside_the_example(objects: list[dict[str, Any]]) -> None:
    assert not of_kind(objects, "Secret"), (
        "Secrets are made from secrets.example.yaml, never applied from here"
    )
    for path in K8S.rglob("*"):
        if path.is_file() and path != EXAMPLE_SECRETS:
            text = path.read_text()
            assert "PRIVATE KEY-----" not in text, f"{path.relative_to(ROOT)} holds a private key"


def test_no_credential_is_written_into_the_manifests(
    objects: list[dict[str, Any]], config_maps: dict[str, dict[str, str]]
) -> None:
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|^DATABASE_URL$", re.I)
    for deployment in of_kind(objects, "Deployment"):
        for container in all_containers(deployment):
            for entry in container.get("env") or []:
                if "value" not in entry:
                    continue
                value = str(entry["value"])
                where = f"{deployment['metadata']['name']}/{container['name']}: {entry['name']}"
                assert not secretish.search(entry["name"]), f"{where} is a literal; take it from a Secret"
                # A URL may carry credentials only as $(VAR)s taken from a Secret.
                password = urlsplit(value).password if "://" in value else None
                assert password is None or REF.fullmatch(password), f"{where} has a password in the manifest"
    for name, data in config_maps.items():
        for key, value in data.items():
            assert not re.search(r"PASSWORD|SECRET|TOKEN", key, re.I), f"ConfigMap {name}: {key} is a secret"
            assert "://" not in value or urlsplit(value).password is None, f"ConfigMap {name}: {key}"
    for scaled in of_kind(objects, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            for key, value in trigger["metadata"].items():
                assert "://" not in value or urlsplit(value).password is None, (
                    f"ScaledObject {scaled['metadata']['name']}: {key} holds credentials"
                )


def test_example_secrets_are_placeholders_for_exactly_what_the_manifests_read(
    objects: list[dict[str, Any]],
    config_maps: dict[str, dict[str, str]],
    example_secrets: dict[str, dict[str, str]],
) -> None:
    refs = referenced_secrets(objects, config_maps)
    assert set(example_secrets) == set(refs), (
        f"missing from the example: {sorted(set(refs) - set(example_secrets))}; "
        f"read by nothing: {sorted(set(example_secrets) - set(refs))}"
    )
    for name, keys in refs.items():
        assert keys == set(example_secrets[name]), (
            f"{name}: keys {sorted(example_secrets[name])}, read {keys}"
        )
    for name, data in example_secrets.items():
        for key, value in data.items():
            if key == "username":
                continue
            assert PLACEHOLDER in value, (
                f"secrets.example.yaml {name}.{key} is not a {PLACEHOLDER} placeholder"
            )
    for doc in documents(EXAMPLE_SECRETS):
        assert doc["metadata"].get("namespace") == yaml.safe_load(KUSTOMIZATION.read_text())["namespace"]


#: Room for the gateway process itself besides the password hashes (the interpreter,
#: FastAPI, the pools and caches); the limit must leave this and the hashes room.
GATEWAY_BASELINE_MIB = 160


def test_the_gateway_limit_holds_the_hashes_a_login_flood_can_run(objects: list[dict[str, Any]]) -> None:
    """Issue 16: each failed login ran a 64 MiB argon2id hash, as many at once as the thread
    pool had threads (32): a flood needed 2 GiB against a 384 MiB limit. Now at most
    `MAX_CONCURRENT_HASHES` run at once per process, which the limit must hold."""
    from gateway import passwords

    limit = quantity(main_container(find(objects, "Deployment", "gateway"))["resources"]["limits"]["memory"])
    hashes = passwords.MAX_CONCURRENT_HASHES * passwords._hasher.memory_cost * 1024
    assert hashes + GATEWAY_BASELINE_MIB * 2**20 <= limit
