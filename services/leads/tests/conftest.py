"""The leads service in-process against the real Postgres and RabbitMQ.

One app for the leads tests: database `crm_test_leads` (created fresh, dropped
after), a bus namespace of its own (deleted after), tokens signed with a fresh key pair.
Each test makes its own members of staff, so their leads are theirs alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import insert, text

from crm_contracts import Envelope, Event
from crm_kit import directory
from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_kit.db import Database
from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, delete_namespace, fresh_database, migrate, unique_namespace
from leads.app import create_app
from leads.settings import Settings

DATABASE = "crm_test_leads"


@dataclass
class Staff:
    id: uuid.UUID
    username: str
    role: Role
    headers: dict[str, str]


@dataclass
class LeadsService:
    http: httpx.AsyncClient
    db: Database
    settings: Settings
    issuer: TokenIssuer
    amqp_url: str

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.transaction() as session:
            return (await session.execute(text(sql), params)).scalar_one()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.transaction() as session:
            return list((await session.execute(text(sql), params)).all())

    async def staff(self, role: Role, *, active: bool = True, in_directory: bool = True) -> Staff:
        """A member of staff with a token; in the service's directory as if from UserRegistered."""
        user = User(id=uuid.uuid4(), username=f"{role.value[:5]}{uuid.uuid4().hex[:8]}", role=role)
        if in_directory:
            async with self.db.transaction() as session:
                await session.execute(
                    insert(directory.staff).values(
                        user_id=user.id,
                        username=user.username,
                        full_name=f"Nhân viên {user.username}",
                        role=role.value,
                        active=active,
                    )
                )
        token = self.issuer.issue(user)
        return Staff(user.id, user.username, role, {"Authorization": f"Bearer {token}"})

    async def publish(
        self, event: Event, *, actor: uuid.UUID | None = None, event_id: uuid.UUID | None = None
    ) -> Envelope:
        """Publish `event` to the namespace's exchange as another service would."""
        envelope = Envelope.wrap(event, correlation_id=uuid.uuid4().hex, actor=actor, event_id=event_id)
        connection = await aio_pika.connect(self.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(f"{self.settings.bus_namespace}.events", ensure=True)
            await exchange.publish(
                aio_pika.Message(
                    envelope.model_dump_json().encode(),
                    message_id=str(envelope.event_id),
                    correlation_id=envelope.correlation_id,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.routing_key,
                mandatory=True,
            )
        finally:
            await connection.close()
        return envelope


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until `check()` is true (a consumer works on its own time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout}s")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
async def leads(infra: Infra) -> AsyncIterator[LeadsService]:
    url = await fresh_database(infra, DATABASE)
    await asyncio.to_thread(migrate, "leads", url)
    namespace = unique_namespace("tleads")
    private, public = generate_keypair()
    # Settings given directly, not through the environment: other services' tests run
    # in the same process and must not inherit them.
    settings = Settings(
        database_url=url,
        amqp_url=infra.amqp_url,
        bus_namespace=namespace,
        jwt_public_key=public,
        # Nothing consumes leads' events in this namespace; the outbox rows are what we check.
        relay_enabled=False,
        retry_delay_s=0.5,
    )
    issuer = TokenIssuer(
        private, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=timedelta(hours=2)
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://leads", timeout=60) as http:
                yield LeadsService(http, app.state.runtime.db, settings, issuer, infra.amqp_url)
    finally:
        await delete_namespace(infra.amqp_url, namespace, ["leads"])
        await drop_database(url)
