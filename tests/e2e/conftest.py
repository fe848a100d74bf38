"""The whole system as processes, driven through the gateway like a user would."""

from __future__ import annotations

import os
import random
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from crm_kit.auth import Role, TokenIssuer, User
from crm_kit.migrations import drop_database
from crm_kit.testing import Infra, delete_namespace, fresh_database, unique_namespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import SERVICES, Stack  # noqa: E402

ADMIN_PASSWORD = "e2e-admin-password"
#: Every user the tests make has this password.
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    namespace = unique_namespace("e2e")
    # Everything of this run's own (ports, databases, queues), so runs side by side
    # (two developers, or CI beside a `make run`) never meet.
    prefix = f"crm_{namespace}_"
    for service in SERVICES:
        await fresh_database(infra, f"{prefix}{service}")
    port_base = int(os.environ.get("E2E_PORT_BASE") or free_port_block(len(SERVICES)))
    running = Stack(
        amqp_url=infra.amqp_url,
        database_server_url=infra.database_url,
        port_base=port_base,
        namespace=namespace,
        database_prefix=prefix,
        state_dir=tmp_path_factory.mktemp("keys"),
        admin_password=ADMIN_PASSWORD,
        log_dir=ROOT / ".local" / "test-logs" / namespace,
        env_overrides={"accounting": {"LOG_LEVEL": "DEBUG"}},
    )
    running.prepare()
    running.start_all()
    try:
        running.wait_ready(timeout=90)
        print(
            f"\n[e2e] six services up on ports {port_base}-{port_base + 5}, bus namespace {namespace}, "
            f"logs in {running.log_dir}"
        )
        yield running
    finally:
        running.stop_all()
        await delete_namespace(infra.amqp_url, namespace, list(SERVICES))
        for service in SERVICES:
            await drop_database(infra.database(f"{prefix}{service}"))


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports, picked at random from a high range."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - size)
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


@pytest.fixture(scope="session")
async def admin(stack: Stack) -> AsyncIterator[Api]:
    api = await login(stack, "admin", ADMIN_PASSWORD)
    yield api
    await api.client.aclose()


@pytest.fixture
async def new_user(stack: Stack, admin: Api) -> AsyncIterator[object]:
    """Factory: a fresh user with a role, logged in."""
    made: list[Api] = []

    async def make(role: Role = Role.SALESPERSON) -> Api:
        username = f"{role.value[:5]}{uuid.uuid4().hex[:8]}"
        response = await admin.client.post(
            "/api/users",
            json={"username": username, "password": PASSWORD, "full_name": username, "role": role},
        )
        assert response.status_code == 201, response.text
        api = await login(stack, username, PASSWORD)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.client.aclose()


@pytest.fixture(scope="session")
def issuer(stack: Stack) -> TokenIssuer:
    """Signs with the gateway's own key, to make tokens the gateway would not (expired ones)."""
    private = (stack.state_dir / "jwt-private.pem").read_text()
    return TokenIssuer(private, issuer="crm-gateway", audience="crm", ttl=timedelta(hours=1))


@pytest.fixture
def any_user() -> User:
    return User(id=uuid.uuid4(), username="someone", role=Role.SALESPERSON)


class Databases:
    def __init__(self, infra: Infra, prefix: str) -> None:
        self.infra = infra
        self.prefix = prefix

    async def fetchval(self, service: str, query: str, *args: object) -> object:
        conn = await asyncpg.connect(self.infra.database(f"{self.prefix}{service}").replace("+asyncpg", ""))
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def databases(infra: Infra, stack: Stack) -> Iterator[Databases]:
    """Read-only peeks into the services' databases, to count what a user cannot see."""
    yield Databases(infra, stack.database_prefix)
