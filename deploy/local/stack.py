"""Run every service as a local process: `make run` (or `python deploy/local/stack.py`).

Without Docker: uses the RabbitMQ and Postgres of this machine (AMQP_URL,
DATABASE_URL; defaults from the design), starting them first when they are installed
and stopped (`servers.py`; one line says what to install when they are not), reads
the settings of `.env` if there is one (see `.env.example`; the environment wins),
creates each service's database if it is missing, migrates it, makes the gateway's
signing keys once (in `.local/`), starts the six services, prints where the gateway
is, restarts a service that dies (like compose's `restart: unless-stopped`) and stops
them all on Ctrl-C.

Before it starts a service it sets the RabbitMQ policies of that service's queues from
its settings (`crm_kit.policies`: dead-lettering, `RETRY_DELAY_S`, `DELIVERY_LIMIT`),
so a service restarted with other values uses them.

Each service connects to RabbitMQ as its own user, with the rights of
`deploy/rabbitmq/definitions.json` (its own queues, its own events), when the broker
is this machine's and `rabbitmqctl` can create the users; otherwise every service uses
AMQP_URL as it is, and the run says so.

The end-to-end tests use the same `Stack` with their own ports, databases, bus
namespace and RabbitMQ users, without the restarts.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "leads", "customers", "sales", "accounting", "marketing")
#: Ports as in the API contract: gateway 8000, then leads 8001 ... marketing 8005.
DEFAULT_PORT_BASE = 8000
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def ensure_keys(state_dir: Path) -> tuple[Path, Path]:
    """The gateway's Ed25519 signing pair, made once and kept in `state_dir`."""
    from crm_kit.auth import generate_keypair

    private, public = state_dir / "jwt-private.pem", state_dir / "jwt-public.pem"
    if not private.exists() or not public.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem = generate_keypair()
        private.write_text(private_pem)
        private.chmod(0o600)
        public.write_text(public_pem)
        say(f"made the gateway's signing keys in {state_dir}")
    return private, public


def broker_definitions(namespace: str, users: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """RabbitMQ users, permissions and topic permissions confining each service to its own
    queues and its own events, for `rabbitmqctl import_definitions`.

    `users`: service -> (user name, password). For namespace `crm` these are exactly
    the rights of `deploy/rabbitmq/definitions.json` (tests/security checks they agree).
    """
    ns = namespace.replace(".", "\\.")
    definitions: dict[str, Any] = {"users": [], "permissions": [], "topic_permissions": []}
    for service, (user, password) in users.items():
        salt = secrets.token_bytes(4)
        digest = hashlib.sha256(salt + password.encode()).digest()
        definitions["users"].append(
            {
                "name": user,
                "password_hash": base64.b64encode(salt + digest).decode(),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
        )
        own = f"^({ns}\\.{service}(\\.retry|\\.dlq)?|{ns}\\.events|{ns}\\.dlx|{ns}\\.replay)$"
        definitions["permissions"].append(
            {"user": user, "vhost": "/", "configure": own, "write": own, "read": own}
        )
        definitions["topic_permissions"].append(
            {
                "user": user,
                "vhost": "/",
                "exchange": f"{namespace}.events",
                "write": f"^{service}\\.",
                "read": ".*",
            }
        )
    return definitions


def with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def rabbitmqctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)


def rabbitmqctl_json(*args: str) -> list[dict[str, Any]]:
    """What `rabbitmqctl <args>` lists, as JSON objects."""
    result = rabbitmqctl(*args, "-q", "--formatter", "json")
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {args[0]}: {result.stderr.strip()[-300:]}")
    listed: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return listed


def local_broker(url: str) -> bool:
    """Whether `url`'s broker is this machine's, so `rabbitmqctl` manages it."""
    return (
        urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
        and shutil.which("rabbitmqctl") is not None
    )


@dataclass
class Stack:
    amqp_url: str = DEFAULT_AMQP_URL
    database_server_url: str = DEFAULT_DATABASE_URL
    port_base: int = DEFAULT_PORT_BASE
    namespace: str = "crm"
    database_prefix: str = "crm_"
    state_dir: Path = ROOT / ".local"
    admin_password: str = "admin"
    log_dir: Path | None = None
    #: Extra environment per service (tests use it to inject faults).
    env_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Connect each service as its own RabbitMQ user (made by `provision_broker_users`).
    broker_users: bool = False
    #: service -> (RabbitMQ user, password), once provisioned.
    broker_credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: service -> the policies of its queues, as set at its last start (`set_policies`).
    broker_policies: dict[str, list[Any]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: `<service>#<n>` -> the port of that extra replica (`start_replica`).
    replica_ports: dict[str, int] = field(default_factory=dict)
    _logs: dict[str, IO[bytes]] = field(default_factory=dict)
    _policies_said: bool = False

    def port(self, service: str) -> int:
        """The port of `service`, or of a second replica named `<service>#2` (`start_replica`)."""
        if service in self.replica_ports:
            return self.replica_ports[service]
        return self.port_base + SERVICES.index(service)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    def database(self, service: str) -> str:
        from crm_kit.db import with_database

        return with_database(self.database_server_url, f"{self.database_prefix}{service}")

    def env(self, service: str) -> dict[str, str]:
        private, public = ensure_keys(self.state_dir)
        env = {
            **os.environ,
            "SERVICE_NAME": service,
            "DATABASE_URL": self.database(service),
            "AMQP_URL": self.service_amqp_url(service),
            "BUS_NAMESPACE": self.namespace,
            "JWT_PUBLIC_KEY_FILE": str(public),
            "PYTHONUNBUFFERED": "1",
        }
        if os.environ.get("METRICS_PORT"):  # one port each, counted from it as the HTTP ports are
            env["METRICS_PORT"] = str(int(os.environ["METRICS_PORT"]) + SERVICES.index(service))
        if service == "gateway":
            env |= {
                "JWT_PRIVATE_KEY_FILE": str(private),
                "CRM_ADMIN_PASSWORD": self.admin_password,
                **{f"{s.upper()}_URL": self.url(s) for s in SERVICES if s != "gateway"},
            }
        return env | self.env_overrides.get(service, {})

    def service_amqp_url(self, service: str) -> str:
        """The AMQP URL a service connects with: its own user once provisioned."""
        if service in self.broker_credentials:
            return with_credentials(self.amqp_url, *self.broker_credentials[service])
        return self.amqp_url

    # -- RabbitMQ users ----------------------------------------------------------------

    def provision_broker_users(self) -> bool:
        """Give each service its own RabbitMQ user with only its own rights.

        Namespace `crm` (`make run`) gets the users of deploy/rabbitmq/definitions.json
        (password = name, the development default); any other namespace (a test run)
        gets users `<namespace>.<service>` with random passwords, removed by
        `remove_broker_users`. False (and nothing changed) when the broker is not this
        machine's or `rabbitmqctl` cannot reach it.
        """
        if not local_broker(self.amqp_url):
            return False
        if self.namespace == "crm":
            users = {s: (s, s) for s in SERVICES}
        else:
            users = {s: (f"{self.namespace}.{s}", secrets.token_urlsafe(16)) for s in SERVICES}
        # The broker reads the file as its own OS user: a private temporary file it owns.
        fd, name = tempfile.mkstemp(prefix="crm-rabbitmq-users-", suffix=".json")
        with os.fdopen(fd, "w") as file:
            json.dump(broker_definitions(self.namespace, users), file)
        try:
            shutil.chown(name, "rabbitmq")
        except (LookupError, PermissionError):
            os.chmod(name, 0o644)
        try:
            result = rabbitmqctl("import_definitions", name)
            # The import finishes in the background: wait until the users exist.
            deadline = time.monotonic() + 30
            while result.returncode == 0 and not self._users_exist(users):
                if time.monotonic() > deadline:
                    say("the RabbitMQ users did not appear within 30s; every service uses AMQP_URL")
                    return False
                time.sleep(0.3)
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"cannot make RabbitMQ users ({exc}); every service uses AMQP_URL")
            return False
        finally:
            os.unlink(name)
        if result.returncode != 0:
            say(f"cannot make RabbitMQ users: {result.stderr.strip()[-300:]}; every service uses AMQP_URL")
            return False
        self.broker_credentials = users
        return True

    @staticmethod
    def _users_exist(users: dict[str, tuple[str, str]]) -> bool:
        listed = rabbitmqctl("list_users", "-q").stdout.split()
        return all(user in listed for user, _ in users.values())

    def remove_broker_users(self) -> None:
        if self.namespace == "crm" or not self.broker_credentials:
            return
        with ThreadPoolExecutor(max_workers=len(self.broker_credentials)) as pool:
            list(pool.map(lambda c: rabbitmqctl("delete_user", c[0]), self.broker_credentials.values()))
        self.broker_credentials = {}

    # -- RabbitMQ policies -------------------------------------------------------------

    def settings(self, service: str) -> Any:
        """The kit's settings `service` starts with (its environment)."""
        from crm_kit.settings import ServiceSettings

        return ServiceSettings.from_env(self.env(service))

    def set_policies(self, service: str) -> bool:
        """Set the policies of the service's queues (dead-lettering, the retry delay, the
        delivery limit: `crm_kit.policies`) from its settings, each matching only its own
        queue. Done at every start, so a service restarted with another `RETRY_DELAY_S` or
        `DELIVERY_LIMIT` works with them. False when the broker is not this machine's:
        then they must be set there (deploy/rabbitmq/definitions.json has them for `crm`)."""
        from crm_kit import policies

        if not local_broker(self.amqp_url):
            if not self._policies_said:
                self._policies_said = True
                say(
                    "cannot set the queues' policies on a broker that is not this machine's: set "
                    "those of deploy/rabbitmq/definitions.json there (without them nothing is retried)"
                )
            return False
        chosen = policies.for_settings(self.settings(service))
        policies.set_with_rabbitmqctl(chosen)
        self.broker_policies[service] = chosen
        return True

    def remove_policies(self) -> None:
        """Clear a test run's policies (those of namespace `crm` stay, like its users)."""
        from crm_kit import policies

        if self.namespace == "crm":
            return
        chosen = [p for service in SERVICES for p in self.broker_policies.pop(service, [])]
        if chosen:
            policies.clear_with_rabbitmqctl(chosen)

    # -- preparing -------------------------------------------------------------------

    def migrate(self, service: str) -> None:
        from crm_kit.migrations import upgrade_in_subprocess

        upgrade_in_subprocess(ROOT / "services" / service, self.database(service), env=self.env(service))

    def prepare(self) -> None:
        ensure_keys(self.state_dir)
        if self.broker_users:
            if self.provision_broker_users():
                example = self.broker_credentials["sales"][0]
                say(f"each service connects to RabbitMQ as its own user ({example}, ...)")
            else:
                say("no RabbitMQ user per service: every service connects as AMQP_URL's user")
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            list(pool.map(self.migrate, SERVICES))
        say(f"databases {self.database_prefix}<service> created if missing and migrated")

    # -- processes -------------------------------------------------------------------

    def start_replica(self, service: str, n: int = 2) -> str:
        """Start replica `n` of `service` (same database and queue, a port of its own) as
        process `<service>#<n>`; `stop`, `ready` and `wait_ready` take that name."""
        name = f"{service}#{n}"
        if name not in self.replica_ports:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.replica_ports[name] = probe.getsockname()[1]
        self.start(name)
        return name

    def start(self, service: str) -> None:
        kind = service.partition("#")[0]
        self.set_policies(kind)
        output: IO[bytes] | int | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_name = service.replace("#", "-")
            self._logs[service] = output = open(self.log_dir / f"{log_name}.log", "ab")
        self.processes[service] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"{kind}.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port(service)),
                "--no-access-log",
                "--no-proxy-headers",
                "--timeout-graceful-shutdown",
                "25",
            ],
            env=self.env(kind),
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )

    def start_all(self) -> None:
        """The services first, the gateway once their queues are bound: it publishes at
        start (the seeded admin's UserRegistered), and a queue bound after an event was
        published never receives it."""
        consumers = tuple(s for s in SERVICES if s != "gateway")
        for service in consumers:
            self.start(service)
        self.wait_ready(consumers, timeout=90)
        self.start("gateway")

    def stop(self, service: str, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        process = self.processes.pop(service, None)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if (log := self._logs.pop(service, None)) is not None:
            log.close()
        return process.returncode

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for service in list(self.processes):
            self.stop(service)

    def ready(self, service: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url(service)}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            # Not listening yet, refused, or not speaking HTTP yet: not ready.
            return False

    def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting:
            for service in list(waiting):
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{service} exited with code {process.returncode} while starting")
                if self.ready(service):
                    waiting.remove(service)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.2)

    def supervise(self) -> None:
        """Restart a service that died, with a growing pause, until interrupted."""
        backoff = dict.fromkeys(self.processes, 1.0)
        while True:
            time.sleep(0.5)
            for service, process in list(self.processes.items()):
                code = process.poll()
                if code is None:
                    continue
                say(f"{service} exited with code {code}; restarting in {backoff[service]:.0f}s")
                time.sleep(backoff[service])
                backoff[service] = min(backoff[service] * 2, 30)
                self.start(service)
                say(f"{service} restarted (pid {self.processes[service].pid})")


def load_env_file(path: Path) -> list[str]:
    """Settings from `path` (KEY=VALUE lines, as `.env.example`) into the environment, where
    the environment does not set them already; the names it set."""
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    loaded = [
        key for key, value in dotenv_values(path).items() if value is not None and key not in os.environ
    ]
    for key in loaded:
        os.environ[key] = str(dotenv_values(path)[key])
    return loaded


def main() -> None:
    from servers import ensure_running

    loaded = load_env_file(ROOT / ".env")
    if loaded:
        say(f"settings from .env: {', '.join(sorted(loaded))}")
    parser = argparse.ArgumentParser(description="Run the CRM's six services as local processes.")
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("PORT_BASE", DEFAULT_PORT_BASE)))
    args = parser.parse_args()
    ensure_running(
        os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        say,
    )

    admin_password = os.environ.get("CRM_ADMIN_PASSWORD", "admin")
    stack = Stack(
        amqp_url=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        database_server_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        port_base=args.port_base,
        namespace=os.environ.get("BUS_NAMESPACE", "crm"),
        admin_password=admin_password,
        broker_users=True,
    )
    say(f"RabbitMQ {stack.amqp_url}, Postgres {stack.database_server_url}")
    stack.prepare()

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicit for SIGINT too: a shell that starts us in the background ignores it.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        stack.start_all()
        stack.wait_ready(timeout=90)
        say("all six services are ready")
        say(f"web UI and API (docs at /docs): {stack.url('gateway')}")
        # The seed only creates `admin`; a later CRM_ADMIN_PASSWORD does not change it.
        say(
            f"user admin: created on the first start with password {admin_password!r}"
            f"{' (CRM_ADMIN_PASSWORD)' if 'CRM_ADMIN_PASSWORD' in os.environ else ' (the default)'}; "
            "an existing admin keeps its password"
        )
        say("Ctrl-C stops everything")
        stack.supervise()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        stack.stop_all()
        say("stopped")


if __name__ == "__main__":
    main()
