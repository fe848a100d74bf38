"""The whole system as processes, for the end-to-end, fault and security suites.

`tests/conftest.py` turns these into the fixtures `stack`, `admin`, `new_user`,
`issuer` and `databases`; a suite that needs a stack of its own (the fault suite
puts proxies between the services and RabbitMQ or Postgres) builds one with
`running_stack` and the same helpers.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from crm_kit.auth import Role
from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, delete_namespace, migrated_database, unique_namespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import SERVICES, Stack  # noqa: E402

from .otlp import SpanCollector  # noqa: E402

#: Lines the fault and security tests report (counts); printed again at the end of
#: the run by tests/conftest.py, so they show without `-s`.
REPORTED: list[str] = []


def report_line(line: str) -> None:
    print(f"\n{line}", flush=True)
    REPORTED.append(line)


ADMIN_PASSWORD = "e2e-admin-password"
#: Every user the tests make has this password.
PASSWORD = "correct-horse-9"
#: How long a page or a poll may take to show what an event changed (usually well under a second).
SETTLE_MS = 20_000


@asynccontextmanager
async def running_stack(
    infra: Infra,
    keys_dir: Path,
    *,
    label: str = "e2e",
    configure: Callable[[Stack], None] | None = None,
    spans: SpanCollector | None = None,
    **options: Any,
) -> AsyncIterator[Stack]:
    """Six services on a free block of ports, with databases, a bus namespace and
    RabbitMQ users of their own, all removed afterwards, so runs side by side (two
    developers, or CI beside a `make run`) never meet. `options` go to `Stack`;
    `configure` may change the stack (its environment) before anything starts;
    with `spans`, every service exports its traces there."""
    namespace = unique_namespace(label)
    prefix = f"crm_{namespace}_"
    for service in SERVICES:
        await migrated_database(infra, service, f"{prefix}{service}")
    port_base = int(os.environ.get("E2E_PORT_BASE") or free_port_block(len(SERVICES)))
    options.setdefault("amqp_url", infra.amqp_url)
    options.setdefault("env_overrides", {"accounting": {"LOG_LEVEL": "DEBUG"}})
    running = Stack(
        database_server_url=infra.database_url,
        port_base=port_base,
        namespace=namespace,
        database_prefix=prefix,
        state_dir=keys_dir,
        admin_password=ADMIN_PASSWORD,
        log_dir=ROOT / ".local" / "test-logs" / namespace,
        broker_users=True,
        **options,
    )
    if spans is not None:
        for service in SERVICES:
            running.env_overrides[service] = running.env_overrides.get(service, {}) | spans.env()
    if configure is not None:
        configure(running)
    try:
        running.prepare()
        running.start_all()
        running.wait_ready(timeout=90)
        users = "own RabbitMQ users" if running.broker_credentials else "the shared RabbitMQ user"
        print(
            f"\n[{label}] six services up on ports {port_base}-{port_base + 5}, bus namespace {namespace}, "
            f"{users}, logs in {running.log_dir}"
        )
        yield running
    finally:
        running.stop_all()
        running.remove_broker_users()
        running.remove_policies()
        await delete_namespace(infra.amqp_url, namespace, list(SERVICES))
        for service in SERVICES:
            await drop_database(infra.database(f"{prefix}{service}"))


def via(url: str, port: int, host: str = "127.0.0.1") -> str:
    """`url` with its host and port replaced (credentials, path and query kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}{host}:{port}"))


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports, picked at random below the ephemeral
    range: probing a port there before its service listens can connect the probe to
    itself (TCP self-connect), which reads its own request back as the answer."""
    for _ in range(200):
        base = random.randrange(20000, min(_ephemeral_ports_start(), 60000) - size)
        sockets = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


@dataclass
class Api:
    """A logged-in user of the public API."""

    client: httpx.AsyncClient
    user_id: uuid.UUID
    token: str
    username: str


async def login(stack: Stack, username: str, password: str) -> Api:
    client = httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30)
    response = await client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    me = (await client.get("/api/users/me")).json()
    return Api(client, uuid.UUID(me["id"]), token, username)


async def make_user(stack: Stack, admin: Api, role: Role = Role.SALESPERSON) -> Api:
    """A fresh user with `role`, logged in."""
    username = f"{role.value[:5]}{uuid.uuid4().hex[:8]}"
    response = await admin.client.post(
        "/api/users",
        json={"username": username, "password": PASSWORD, "full_name": username, "role": role},
    )
    assert response.status_code == 201, response.text
    return await login(stack, username, PASSWORD)


class Databases:
    """Read-only peeks into the services' databases, to count what a user cannot see."""

    def __init__(self, infra: Infra, prefix: str) -> None:
        self.infra = infra
        self.prefix = prefix

    def url(self, service: str) -> str:
        return self.infra.database(f"{self.prefix}{service}").replace("+asyncpg", "")

    async def fetchval(self, service: str, query: str, *args: object) -> Any:
        conn = await asyncpg.connect(self.url(service))
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def fetch(self, service: str, query: str, *args: object) -> list[Any]:
        conn = await asyncpg.connect(self.url(service))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def execute(self, service: str, query: str, *args: object) -> str:
        """For fault injection only (a trigger that fails a commit, say)."""
        conn = await asyncpg.connect(self.url(service))
        try:
            return await conn.execute(query, *args)
        finally:
            await conn.close()
