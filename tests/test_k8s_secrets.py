"""deploy/k8s: RabbitMQ and its objects against deploy/rabbitmq/definitions.json, and the
secrets: none committed, none written into a manifest, and the example holding exactly
what the manifests read (rendered as `kubectl apply -k` sends it; see test_k8s.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from crm_kit.topology import Topology

from . import k8s_manifests as m
from .k8s_manifests import (
    EXAMPLE_SECRETS,
    K8S,
    NAMESPACE,
    PLACEHOLDER,
    REF,
    ROOT,
    SERVICES,
    all_containers,
    documents,
    environment,
    find,
    main_container,
    of_kind,
    pod_spec,
    quantity,
    rabbitmq_host,
    secret_file,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
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


# -- RabbitMQ, Postgres ------------------------------------------------------------------


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
    for deployment in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
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
    for ingress in of_kind(objects, "Ingress"):
        for tls in ingress["spec"].get("tls") or []:
            refs.setdefault(tls["secretName"], set()).update({"tls.crt", "tls.key"})
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
    for deployment in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
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
        assert doc["metadata"].get("namespace") == m.load_kustomization()["namespace"]


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
