"""docker-compose.yml and deploy/: valid Compose, and consistent with what the code needs.

No Docker engine is needed: the file is checked against the Compose Specification's
JSON schema (tests/schemas/compose-spec.json), then against the settings the services
read, the databases deploy/postgres/init.sql creates and the RabbitMQ users and
permissions deploy/rabbitmq/definitions.json imports.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from sqlalchemy.engine import make_url

from crm_contracts import published_contracts
from crm_kit import policies
from crm_kit.settings import ServiceSettings
from crm_kit.topology import Topology

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "schemas" / "compose-spec.json"
DEFINITIONS_FILE = ROOT / "deploy" / "rabbitmq" / "definitions.json"
RABBITMQ_CONF = ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"

PORTS = {
    "gateway": 8000,
    "leads": 8001,
    "customers": 8002,
    "sales": 8003,
    "accounting": 8004,
    "marketing": 8005,
}
SERVICES = list(PORTS)
#: The optional `tracing` profile: a collector and a trace viewer.
TRACING = ("otel-collector", "jaeger")
BACKENDS = [name for name in SERVICES if name != "gateway"]
#: The bus namespace the RabbitMQ permissions are written for (the kit's default).
NAMESPACE = ServiceSettings.model_fields["bus_namespace"].default

#: What every service needs for a real run (the defaults point at 127.0.0.1).
REQUIRED_ENV = ("DATABASE_URL", "AMQP_URL", "JWT_PUBLIC_KEY_FILE")
#: What the gateway needs besides: it signs tokens, seeds the admin and routes to services.
GATEWAY_ENV = (
    "JWT_PRIVATE_KEY_FILE",
    "CRM_ADMIN_PASSWORD",
    *(f"{name.upper()}_URL" for name in BACKENDS),
)


# -- loading -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose.get("services") or {}


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return json.loads(DEFINITIONS_FILE.read_text())


@pytest.fixture(scope="module")
def init_sql() -> str:
    # Drop SQL comments, so a commented-out statement does not count.
    return re.sub(r"--[^\n]*", "", INIT_SQL.read_text())


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (volume name or host path) of a service's mounts."""
    mounts: dict[str, str] = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
        else:
            source, target = entry.get("source", ""), entry["target"]
        mounts[target] = source
    return mounts


def mount_source(service: dict[str, Any], path: str) -> str | None:
    """The volume or host path that provides `path` in the container, if any."""
    best: tuple[int, str] | None = None
    for target, source in volume_mounts(service).items():
        if path == target or path.startswith(target.rstrip("/") + "/"):
            if best is None or len(target) > best[0]:
                best = (len(target), source)
    return best[1] if best else None


def settings_class(name: str) -> type[ServiceSettings] | None:
    """The settings class defined in `<name>.settings`, once the service has one."""
    if importlib.util.find_spec(name) is None or importlib.util.find_spec(f"{name}.settings") is None:
        return None
    module = importlib.import_module(f"{name}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    assert len(found) <= 1, f"{name}.settings defines several settings classes: {found}"
    return found[0] if found else None


def env_names(settings_cls: type[ServiceSettings]) -> set[str]:
    """Environment variable names a pydantic-settings class reads (case-insensitive)."""
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


def rabbit_password_matches(password_hash: str, password: str) -> bool:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt[4] + sha256(salt + password))."""
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode()).digest() == digest


def permission(definitions: dict[str, Any], user: str) -> dict[str, str]:
    found = [p for p in definitions.get("permissions", []) if p["user"] == user and p["vhost"] == "/"]
    assert len(found) == 1, f"RabbitMQ user {user!r} needs exactly one permission entry on vhost '/'"
    return found[0]


def grants(pattern: str, resource: str) -> bool:
    # RabbitMQ matches permission patterns unanchored (Erlang re:run), like re.search.
    return pattern != "" and re.search(pattern, resource) is not None


# -- the file itself -----------------------------------------------------------------


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The schema names draft-07 in a form jsonschema does not look up, so say it here.
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(
        f"  {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_all_six_services_and_the_infrastructure_are_defined(
    services: dict[str, dict[str, Any]],
) -> None:
    missing = sorted({*SERVICES, "rabbitmq", "postgres", "keys"} - set(services))
    assert not missing, f"docker-compose.yml lacks services: {missing}"


# -- each service: image, port, settings ------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_for_itself_and_listens_on_its_port(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    build = service.get("build")
    assert isinstance(build, dict), f"{name}: build must name the Dockerfile and its args"
    dockerfile = ROOT / build.get("context", ".") / build["dockerfile"]
    assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
    assert (ROOT / build.get("context", ".")).resolve() == ROOT, (
        f"{name}: the build context must be the repository root (the image needs shared/)"
    )
    # The entrypoint migrates with services/<name>/alembic.ini before it serves.
    assert (ROOT / "services" / name / "alembic.ini").is_file(), f"services/{name}/alembic.ini is missing"
    assert (ROOT / "services" / name / "src" / name / "app.py").is_file(), f"{name}.app is missing"
    args = {key: str(value) for key, value in (build.get("args") or {}).items()}
    assert args.get("SERVICE") == name, f"{name}: build arg SERVICE is {args.get('SERVICE')!r}"
    assert args.get("PORT") == str(PORTS[name]), f"{name}: build arg PORT is {args.get('PORT')!r}"

    targets = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            targets.add(int(port["target"]))
        else:
            targets.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    assert PORTS[name] in targets, f"{name}: container port {PORTS[name]} is not published"
    metrics = environment(service).get("METRICS_PORT")
    assert metrics and int(metrics) != PORTS[name], f"{name}: /metrics must be off the published port"
    assert int(metrics) not in targets, f"{name}: the metrics port {metrics} is published"
    if name == "gateway":
        assert any(str(p) in {"8000:8000", "0.0.0.0:8000:8000"} for p in service.get("ports") or []), (
            "the gateway must be published on port 8000"
        )


def test_the_shared_dockerfile_uses_its_build_args_and_entrypoint() -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    for needed in ("ARG SERVICE", "ARG PORT", "EXPOSE ${PORT}", "HEALTHCHECK", "USER crm"):
        assert needed in dockerfile, f"deploy/docker/Dockerfile lacks {needed!r}"
    assert '--package "crm-${SERVICE}"' in dockerfile, "the image must install only its own service"
    for script in ("entrypoint.sh", "healthcheck.py"):
        assert (ROOT / "deploy" / "docker" / script).is_file(), f"deploy/docker/{script} is missing"
    entrypoint = (ROOT / "deploy" / "docker" / "entrypoint.sh").read_text()
    assert "python -m crm_kit.migrations" in entrypoint
    assert 'exec uvicorn "${SERVICE}.app:app"' in entrypoint


@pytest.mark.parametrize("name", SERVICES)
def test_service_gets_every_setting_a_real_run_needs(services: dict[str, dict[str, Any]], name: str) -> None:
    env = environment(services[name])
    needed = REQUIRED_ENV + (GATEWAY_ENV if name == "gateway" else ())
    missing = [key for key in needed if not env.get(key)]
    assert not missing, f"{name}: environment lacks {missing}"

    # The names must be ones the code reads: the kit's settings for every service ...
    kit_names = env_names(ServiceSettings)
    assert set(REQUIRED_ENV) <= kit_names, f"crm_kit settings no longer read {set(REQUIRED_ENV) - kit_names}"
    # ... and, once the service has its settings class, nothing compose sets is ignored.
    own = settings_class(name)
    if own is not None:
        # OTEL_* are the OpenTelemetry SDK's own (crm_kit.tracing hands them to it).
        unread = sorted(name for name in set(env) - env_names(own) if not name.startswith("OTEL_"))
        assert not unread, f"{name}: docker-compose.yml sets {unread}, which {name}.settings does not read"

    # The RabbitMQ permissions are written for the default namespace.
    assert env.get("BUS_NAMESPACE", NAMESPACE) == NAMESPACE, (
        f"{name}: BUS_NAMESPACE must stay {NAMESPACE!r} (deploy/rabbitmq/definitions.json)"
    )


def test_gateway_routes_to_each_service_by_its_compose_name_and_port(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["gateway"])
    for name in BACKENDS:
        url = urlsplit(env[f"{name.upper()}_URL"])
        assert (url.hostname, url.port) == (name, PORTS[name]), (
            f"gateway {name.upper()}_URL is {env[f'{name.upper()}_URL']!r}, not http://{name}:{PORTS[name]}"
        )
    assert env["CRM_ADMIN_PASSWORD"] == "${CRM_ADMIN_PASSWORD:-admin}"


# -- start order and health ---------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_infrastructure_and_the_keys(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on must give conditions"
    expected = {
        "postgres": "service_healthy",
        "rabbitmq": "service_healthy",
        "keys": "service_completed_successfully",
    }
    actual = {dep: (depends_on.get(dep) or {}).get("condition") for dep in expected}
    assert actual == expected, f"{name}: depends_on conditions are {actual}"
    assert services[name].get("restart") == "unless-stopped", f"{name}: restart policy"


def test_every_dependency_on_the_infrastructure_waits_until_it_is_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            assert not {"postgres", "rabbitmq"} & set(depends_on), (
                f"{name}: the list form of depends_on does not wait for health"
            )
            continue
        for dep in ("postgres", "rabbitmq"):
            if dep in depends_on:
                assert depends_on[dep].get("condition") == "service_healthy", (
                    f"{name}: depends_on {dep} must use condition service_healthy"
                )


def test_every_long_running_container_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "keys":  # a one-shot, waited for by its exit code
            continue
        if name in TRACING:  # optional viewers nothing waits for (test_tracing_profile_...)
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
    for name in SERVICES:
        test = services[name]["healthcheck"]["test"]
        assert "/app/healthcheck.py" in test and {"/readyz", "/healthz"} & set(test), (
            f"{name}: healthcheck must probe /readyz or /healthz, got {test}"
        )


# -- Postgres ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_database_and_role_are_created_by_init_sql(
    services: dict[str, dict[str, Any]], init_sql: str, name: str
) -> None:
    raw = environment(services[name]).get("DATABASE_URL")
    assert raw, f"{name}: DATABASE_URL is not set"
    url = make_url(raw)
    assert url.drivername == "postgresql+asyncpg", f"{name}: DATABASE_URL driver {url.drivername}"
    assert url.host == "postgres", f"{name}: DATABASE_URL must point at the postgres service"
    database, user, password = url.database, url.username, url.password
    assert database == f"crm_{name}", f"{name}: database is {database!r}, not crm_{name}"
    role = re.search(
        rf"CREATE\s+ROLE\s+{re.escape(user or '')}\s+LOGIN\s+PASSWORD\s+'([^']*)'", init_sql, re.I
    )
    assert role, f"{name}: deploy/postgres/init.sql does not create login role {user!r}"
    assert role.group(1) == password, f"{name}: the password of role {user!r} differs from DATABASE_URL"
    assert re.search(
        rf"CREATE\s+DATABASE\s+{re.escape(database)}\s+OWNER\s+{re.escape(user or '')}\s*;", init_sql, re.I
    ), f"{name}: deploy/postgres/init.sql does not create database {database} owned by {user}"
    revoke = rf"REVOKE\s+ALL\s+ON\s+DATABASE\s+{re.escape(database)}\s+FROM\s+PUBLIC"
    assert re.search(revoke, init_sql, re.I), f"{name}: other roles may still connect to {database}"


def test_postgres_runs_init_sql_and_no_two_services_share_a_database(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = volume_mounts(services["postgres"])
    sources = {target: Path(source).name for target, source in mounts.items()}
    assert any(
        target.startswith("/docker-entrypoint-initdb.d/") and source == "init.sql"
        for target, source in sources.items()
    ), "postgres must mount deploy/postgres/init.sql into /docker-entrypoint-initdb.d/"
    urls = [make_url(environment(services[name])["DATABASE_URL"]) for name in SERVICES]
    assert len({u.database for u in urls}) == len(SERVICES), "two services share a database"
    assert len({u.username for u in urls}) == len(SERVICES), "two services share a database role"


# -- RabbitMQ ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_connects_to_rabbitmq_as_its_own_user(
    services: dict[str, dict[str, Any]], definitions: dict[str, Any], name: str
) -> None:
    raw = environment(services[name]).get("AMQP_URL")
    assert raw, f"{name}: AMQP_URL is not set"
    url = urlsplit(raw)
    assert url.scheme == "amqp" and url.hostname == "rabbitmq", f"{name}: AMQP_URL {url.geturl()!r}"
    assert url.username == name, f"{name}: connects as {url.username!r}, not its own user {name!r}"
    vhost = unquote(url.path[1:]) or "/"
    assert vhost == "/", f"{name}: AMQP_URL vhost is {vhost!r}"
    users = {u["name"]: u for u in definitions["users"]}
    assert name in users, f"deploy/rabbitmq/definitions.json has no user {name!r}"
    user = users[name]
    assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert rabbit_password_matches(user["password_hash"], unquote(url.password or "")), (
        f"{name}: the password in AMQP_URL does not match the hash in definitions.json"
    )
    assert "administrator" not in user.get("tags", []), f"{name}: a service user must not be an administrator"


@pytest.mark.parametrize("name", SERVICES)
def test_permissions_let_the_kit_run_and_confine_the_user_to_its_own_queues(
    definitions: dict[str, Any], name: str
) -> None:
    perm = permission(definitions, name)
    own = Topology(NAMESPACE, name)
    # What the kit does (crm_kit.bus.EventBus): declare its exchanges and queues, bind
    # its queue to the events and its DLQ to the DLX, consume, publish events, publish
    # retries through its own retry exchange (named like its retry queue) and dead
    # letters through the DLX. Never the default exchange, which reaches every queue.
    # Event replays go through the replay exchange (crm_kit.replay).
    mine = [
        own.exchange,
        own.dead_letter_exchange,
        own.replay_exchange,
        own.queue,
        own.retry_queue,
        own.dead_letter_queue,
    ]
    needed = {"configure": mine, "write": mine, "read": mine}
    for kind, resources in needed.items():
        refused = [r for r in resources if not grants(perm[kind], r)]
        assert not refused, f"{name}: {kind} permission {perm[kind]!r} refuses {refused}"

    assert not grants(perm["write"], "amq.default"), f"{name} may write to the default exchange"
    for other in SERVICES:
        if other == name:
            continue
        theirs = Topology(NAMESPACE, other)
        for resource in (theirs.queue, theirs.retry_queue, theirs.dead_letter_queue):
            for kind in ("configure", "write", "read"):
                assert not grants(perm[kind], resource), (
                    f"{name}: {kind} permission {perm[kind]!r} also grants {other}'s {resource}"
                )
    for kind in ("configure", "write", "read"):
        assert not grants(perm[kind], "amq.topic") and not grants(perm[kind], "some.other"), (
            f"{name}: {kind} permission {perm[kind]!r} grants more than the CRM's resources"
        )


def test_topic_permissions_let_each_user_publish_only_its_own_events(
    definitions: dict[str, Any],
) -> None:
    exchange = Topology(NAMESPACE, "any").exchange
    topic = {
        p["user"]: p
        for p in definitions.get("topic_permissions", [])
        if p["exchange"] == exchange and p["vhost"] == "/"
    }
    missing = [name for name in SERVICES if name not in topic]
    assert not missing, f"no topic permission on {exchange} for {missing}"
    # Every contract's routing key, plus one per service so none is untested.
    keys = {c.routing_key for c in published_contracts()} | {f"{name}.thing.happened.v1" for name in SERVICES}
    for key in sorted(keys):
        publisher = key.split(".", 1)[0]
        assert publisher in SERVICES, f"contract {key} names no CRM service"
        allowed = sorted(user for user in SERVICES if grants(topic[user]["write"], key))
        assert allowed == [publisher], f"{key}: may be published by {allowed}, should be [{publisher!r}]"
    for name in SERVICES:
        assert grants(topic[name]["read"], "anything.at.all.v1"), f"{name}: topic read must allow all keys"


def test_definitions_declare_the_exchanges_the_kit_declares_and_an_admin(
    definitions: dict[str, Any],
) -> None:
    topology = Topology(NAMESPACE, "any")
    exchanges = {(e["vhost"], e["name"]): e for e in definitions.get("exchanges", [])}
    for exchange, kind in (
        (topology.exchange, "topic"),
        (topology.dead_letter_exchange, "direct"),
        (topology.replay_exchange, "direct"),
    ):
        found = exchanges.get(("/", exchange))
        assert found, f"definitions.json does not declare exchange {exchange}"
        # Must equal the kit's declaration, or its declare fails with PRECONDITION_FAILED.
        assert (found["type"], found["durable"], found["auto_delete"], found["internal"]) == (
            kind,
            True,
            False,
            False,
        ), f"exchange {exchange} differs from the kit's declaration: {found}"
        assert not found.get("arguments"), f"exchange {exchange} has arguments the kit does not set"
    assert {"name": "/"} in [{"name": v["name"]} for v in definitions.get("vhosts", [])]
    # The kit declares the queues itself (with their type only); their policies are below.
    assert not definitions.get("queues"), "definitions.json must not declare the services' queues"
    admins = [u for u in definitions["users"] if "administrator" in u.get("tags", [])]
    assert admins, "definitions.json needs an administrator for the management UI"


@pytest.mark.parametrize("name", SERVICES)
def test_definitions_set_the_policies_of_the_service_as_compose_runs_it(
    services: dict[str, dict[str, Any]], definitions: dict[str, Any], name: str
) -> None:
    """Dead-lettering, the retry delay and the delivery limit are policies made from the
    service's settings (crm_kit.policies): a RETRY_DELAY_S or DELIVERY_LIMIT given in
    docker-compose.yml must be in definitions.json too, or RabbitMQ does not apply it."""
    env = {"SERVICE_NAME": name, **environment(services[name])}
    env.pop("JWT_PUBLIC_KEY_FILE", None)  # in the container only
    expected = [p.as_definition() for p in policies.for_settings(ServiceSettings.from_env(env))]
    names = {p["name"] for p in expected}
    assert [p for p in definitions.get("policies", []) if p["name"] in names] == expected
    # Only the highest-priority policy matching a queue applies: no other may match it.
    for other in definitions.get("policies", []):
        if other["name"] not in names:
            assert not any(re.search(other["pattern"], queue) for queue in names), other["name"]


def test_rabbitmq_loads_the_definitions_at_boot(services: dict[str, dict[str, Any]]) -> None:
    mounts = volume_mounts(services["rabbitmq"])
    by_name = {Path(source).name: target for target, source in mounts.items()}
    assert by_name.get("rabbitmq.conf") == "/etc/rabbitmq/rabbitmq.conf"
    config = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition("=")
            for line in RABBITMQ_CONF.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    )
    assert config.get("definitions.import_backend") == "local_filesystem"
    assert config.get("definitions.local.path") == by_name.get("definitions.json"), (
        "rabbitmq.conf loads definitions from a path where docker-compose.yml mounts no definitions.json"
    )
    assert services["rabbitmq"].get("hostname"), "rabbitmq needs a fixed hostname (its node name)"


# -- JWT keys ------------------------------------------------------------------------


def test_jwt_keys_reach_every_service_and_the_private_key_only_the_gateway(
    services: dict[str, dict[str, Any]],
) -> None:
    keys = services["keys"]
    keys_env = environment(keys)
    private_volume = mount_source(keys, keys_env["JWT_PRIVATE_KEY_FILE"])
    public_volume = mount_source(keys, keys_env["JWT_PUBLIC_KEY_FILE"])
    assert private_volume and public_volume and private_volume != public_volume, (
        "keys must write the private and the public key into two different volumes"
    )
    assert "generate_keypair" in " ".join(keys.get("command") or []), "keys must use crm_kit.auth"
    for name in SERVICES:
        env = environment(services[name])
        assert env["JWT_PUBLIC_KEY_FILE"] == keys_env["JWT_PUBLIC_KEY_FILE"], (
            f"{name}: JWT_PUBLIC_KEY_FILE is not where keys writes it"
        )
        assert mount_source(services[name], env["JWT_PUBLIC_KEY_FILE"]) == public_volume, (
            f"{name}: the public key volume is not mounted at JWT_PUBLIC_KEY_FILE"
        )
    gateway_env = environment(services["gateway"])
    assert gateway_env["JWT_PRIVATE_KEY_FILE"] == keys_env["JWT_PRIVATE_KEY_FILE"]
    assert mount_source(services["gateway"], gateway_env["JWT_PRIVATE_KEY_FILE"]) == private_volume
    holders = sorted(
        name
        for name, service in services.items()
        if name != "keys" and private_volume in volume_mounts(service).values()
    )
    assert holders == ["gateway"], f"the private signing key is mounted in {holders}"


# -- the optional tracing profile ------------------------------------------------------


def test_tracing_profile_is_off_by_default_pinned_and_wired_collector_to_viewer(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in TRACING:
        service = services[name]
        assert service.get("profiles") == ["tracing"], f"{name}: only in the `tracing` profile"
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", image), f"{name}: image {image} not pinned by tag"
    # Nothing else is in a profile, and nothing the CRM runs waits for the viewers.
    assert [n for n, s in services.items() if s.get("profiles")] == list(TRACING)
    for name in SERVICES:
        assert not set(TRACING) & set(services[name].get("depends_on") or {}), name
    config_file = mount_source(services["otel-collector"], "/etc/otelcol/collector.yaml")
    assert config_file is not None
    config = yaml.safe_load((ROOT / config_file).read_text())
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(":4318")
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    assert config["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert services["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]


@pytest.mark.parametrize("name", SERVICES)
def test_services_trace_only_when_an_endpoint_is_given(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    # Empty by default: crm_kit.tracing installs no exporter (nothing sent, nothing logged).
    env = environment(services[name])
    assert env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
