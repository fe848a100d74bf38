"""The customers service in-process against the real Postgres and RabbitMQ.

One app for the test session: a fresh database `crm_test_customers`, migrated, and a
bus namespace of its own (deleted at the end). Staff join the service's directory
the way they do in production, by a `UserRegistered` event published to the exchange.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
import pytest
from sqlalchemy import text

from crm_contracts import Envelope, Event, UserDeactivated, UserRegistered
from crm_kit import directory
from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_kit.db import Database
from crm_testkit.infra import Infra, delete_namespace, fresh_database, migrate, unique_namespace
from customers.app import create_app
from customers.settings import Settings

T = TypeVar("T")
DEADLINE_S = 20.0


@dataclass
class Staff:
    user: User
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id


@dataclass
class Harness:
    http: httpx.AsyncClient
    db: Database
    settings: Settings
    issuer: TokenIssuer
    exchange: aio_pika.abc.AbstractExchange

    async def publish(self, event: Event, *, actor: uuid.UUID | None = None) -> Envelope:
        """Publish an event to the service's exchange, as another service's relay would."""
        envelope = Envelope.wrap(event, correlation_id=f"test-{uuid.uuid4().hex[:8]}", actor=actor)
        await self.exchange.publish(
            aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.event_id),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event.routing_key,
        )
        return envelope

    async def eventually(
        self,
        probe: Callable[[], Awaitable[T]],
        done: Callable[[T], bool] = bool,
        *,
        what: str = "condition",
    ) -> T:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            result = await probe()
            if done(result):
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"{what} not reached within {DEADLINE_S:.0f}s; last: {result!r}")
            await asyncio.sleep(0.05)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.transaction() as session:
            return (await session.execute(text(sql), params)).scalar_one()

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.db.transaction() as session:
            await session.execute(text(sql), params)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.transaction() as session:
            return list((await session.execute(text(sql), params)).all())

    async def staff(self, role: Role, *, username: str | None = None) -> Staff:
        """A member of staff with a token, known to the service's directory."""
        user = User(
            id=uuid.uuid4(), username=username or f"{role.value[:5]}.{uuid.uuid4().hex[:8]}", role=role
        )
        await self.publish(
            UserRegistered(
                user_id=user.id,
                username=user.username,
                full_name=f"Nhân viên {user.username}",
                role=role.value,
                registered_at=datetime.now(UTC),
            )
        )

        async def known() -> bool:
            async with self.db.transaction() as session:
                return await directory.by_id(session, user.id) is not None

        await self.eventually(known, what=f"{user.username} in the directory")
        return Staff(user, {"Authorization": f"Bearer {self.issuer.issue(user)}"})

    async def deactivate(self, member: Staff) -> None:
        await self.publish(UserDeactivated(user_id=member.id, deactivated_at=datetime.now(UTC)))

        async def gone() -> bool:
            async with self.db.transaction() as session:
                found = await directory.by_id(session, member.id)
                return found is not None and not found.active

        await self.eventually(gone, what=f"{member.user.username} deactivated")

    async def customer(self, owner: Staff, name: str | None = None, **fields: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/customers",
            headers=owner.headers,
            json={"name": name or f"Công ty {uuid.uuid4().hex[:8]}", **fields},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def outbox(self, routing_key: str, customer_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """The events of one customer in the outbox, oldest first."""
        bodies = await self.rows(
            "SELECT body FROM outbox WHERE routing_key = :key"
            " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'customer_id' = :cid ORDER BY id",
            key=routing_key,
            cid=str(customer_id),
        )
        return [Envelope.model_validate_json(row.body).model_dump(mode="json") for row in bodies]


@pytest.fixture(scope="session")
async def harness(infra: Infra) -> AsyncIterator[Harness]:
    url = await fresh_database(infra, "crm_test_customers")
    with pytest.MonkeyPatch.context() as mp:
        # crm_testkit.infra.migrate runs `python` from PATH: make that this venv's.
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        await asyncio.to_thread(migrate, "customers", url)
    namespace = unique_namespace("tcu")
    private, public = generate_keypair()
    # Settings by argument, not by environment: nothing leaks into other services' tests.
    settings = Settings(
        database_url=url,
        amqp_url=infra.amqp_url,
        bus_namespace=namespace,
        jwt_public_key=public,
        # Events stay in the outbox, where the tests read them (nothing here consumes them).
        relay_enabled=False,
        retry_delay_s=0.5,
    )
    issuer = TokenIssuer(
        private, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=timedelta(hours=1)
    )
    app = create_app(settings)
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        async with app.router.lifespan_context(app):
            channel = await connection.channel()
            exchange = await channel.get_exchange(f"{namespace}.events")
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://customers") as http:
                yield Harness(http, app.state.runtime.db, settings, issuer, exchange)
    finally:
        await connection.close()
        await delete_namespace(infra.amqp_url, namespace, ["customers"])


@pytest.fixture
async def seller(harness: Harness) -> Staff:
    return await harness.staff(Role.SALESPERSON)


@pytest.fixture
async def other_seller(harness: Harness) -> Staff:
    return await harness.staff(Role.SALESPERSON)


@pytest.fixture
async def manager(harness: Harness) -> Staff:
    return await harness.staff(Role.SALES_MANAGER)


@pytest.fixture
async def admin(harness: Harness) -> Staff:
    return await harness.staff(Role.ADMIN)


@pytest.fixture
async def marketer(harness: Harness) -> Staff:
    return await harness.staff(Role.MARKETING)


@pytest.fixture
async def accountant(harness: Harness) -> Staff:
    return await harness.staff(Role.ACCOUNTANT)
