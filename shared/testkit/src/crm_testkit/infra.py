"""Test helpers: real Postgres and RabbitMQ for integration and end-to-end tests.

Where the services come from, in order:
1. `AMQP_URL` and `DATABASE_URL` from the environment (CI on these machines);
2. testcontainers, when a Docker engine answers;
3. otherwise the run fails and says how to provide them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

from crm_kit import policies
from crm_kit.db import with_database
from crm_kit.migrations import (
    connect_to_server,
    create_database_if_missing,
    drop_database,
    upgrade_in_subprocess,
)
from crm_kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[4]  # shared/testkit/src/crm_testkit/infra.py

HOW_TO = (
    "integration tests need a real RabbitMQ and PostgreSQL: set AMQP_URL "
    "(e.g. amqp://guest:guest@127.0.0.1:5672/) and DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/postgres), or run a Docker engine "
    "so testcontainers can start them"
)


@dataclass
class Infra:
    amqp_url: str
    #: A URL of the Postgres server; tests make their own databases on it.
    database_url: str
    how: str
    _containers: list[object] = field(default_factory=list)

    def database(self, name: str) -> str:
        """URL of database `name` on the same server."""
        return with_database(self.database_url, name)

    def stop(self) -> None:
        for container in self._containers:
            container.stop()  # type: ignore[attr-defined]


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def provide_infra() -> Infra:
    amqp, db = os.environ.get("AMQP_URL"), os.environ.get("DATABASE_URL")
    if amqp and db:
        return Infra(amqp, db, how=f"from the environment: AMQP_URL={amqp} DATABASE_URL={db}")
    if docker_available():
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        rabbit = DockerContainer("rabbitmq:4.3-management").with_exposed_ports(5672)
        postgres = (
            DockerContainer("postgres:16")
            .with_env("POSTGRES_HOST_AUTH_METHOD", "trust")
            .with_exposed_ports(5432)
        )
        rabbit.start()
        postgres.start()
        wait_for_logs(rabbit, "Server startup complete", timeout=120)
        wait_for_logs(postgres, "database system is ready to accept connections", timeout=60)
        infra = Infra(
            f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/",
            f"postgresql://postgres@{postgres.get_container_host_ip()}:{postgres.get_exposed_port(5432)}/postgres",
            how="testcontainers (Docker)",
            _containers=[rabbit, postgres],
        )
        return infra
    raise RuntimeError(HOW_TO)


def unique_namespace(prefix: str = "t") -> str:
    """A bus namespace of its own, so a test run never meets another's queues."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def fresh_database(infra: Infra, name: str) -> str:
    """Drop and create database `name`; return its URL."""
    url = infra.database(name)
    await drop_database(url)
    await create_database_if_missing(url)
    return url


def migrate(service: str, database_url: str) -> None:
    """Run a service's Alembic migrations."""
    upgrade_in_subprocess(ROOT / "services" / service, database_url)


@functools.cache
def schema_version(service: str) -> str:
    """A digest of everything a service's migrated schema can depend on: its migrations,
    its code and the kit's (whose tables, outbox and inbox among them, the migrations
    create). Any change to them is a new version, so a template is never stale. Read once
    per test run: the sources do not change under it."""
    digest = hashlib.sha256()
    service_dir = ROOT / "services" / service
    for source in (service_dir / "migrations", service_dir / "src", ROOT / "shared" / "kit" / "src"):
        for path in sorted(source.rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def migrated_database(infra: Infra, service: str, name: str) -> str:
    """A new database `name` (dropped first if it exists) holding `service`'s migrated
    schema; return its URL.

    It is copied (`CREATE DATABASE ... TEMPLATE`, about 0.1 s) from a template database
    migrated once per `schema_version`, instead of running every migration again, 2.5-3.5
    s in a subprocess, for every test module. The template is built under an advisory lock
    (two test runs on one server build it once), under another name first and renamed
    when complete (a run killed mid-way leaves no half-migrated template), and the
    service's older templates are dropped then."""
    lock = f"crm_tmpl_{service}"
    template = f"{lock}_{schema_version(service)}"
    building = f"{template}_building"
    url = infra.database(name)
    conn, _ = await connect_to_server(url)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template):
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{building}"')
                await asyncio.to_thread(migrate, service, infra.database(building))
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                for (older,) in await conn.fetch(
                    "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
                    f"crm\\_tmpl\\_{service}\\_%",
                    template,
                ):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{older}" WITH (FORCE)')
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)
    finally:
        await conn.close()
    return url


async def delete_namespace(amqp_url: str, namespace: str, services: list[str]) -> None:
    """Remove a test run's exchanges and queues."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for service in services:
            for suffix in ("", ".retry", ".dlq"):
                await channel.queue_delete(f"{namespace}.{service}{suffix}")
            await channel.exchange_delete(f"{namespace}.{service}.retry")
        for exchange in ("events", "dlx"):
            await channel.exchange_delete(f"{namespace}.{exchange}")
    finally:
        await connection.close()


@asynccontextmanager
async def bus_policies(*services: ServiceSettings) -> AsyncIterator[None]:
    """The policies of these services' queues (dead-lettering, retry TTL, delivery limit:
    `crm_kit.policies`) set on the broker, each matching only its queue in the test's
    namespace, and cleared afterwards. Set again with other settings, they change."""
    chosen = [policy for settings in services for policy in policies.for_settings(settings)]
    await asyncio.to_thread(policies.set_with_rabbitmqctl, chosen)
    try:
        yield
    finally:
        await asyncio.to_thread(policies.clear_with_rabbitmqctl, chosen)


async def queue_depth(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()
