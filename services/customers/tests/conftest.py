"""The customers service in-process against the real Postgres and RabbitMQ.

One app for the test session (`crm_testkit.service.running_service`): a fresh database,
migrated, and a bus namespace of its own, both removed at the end. Staff join the
service's directory the way they do in production, by a `UserRegistered` event
published to the exchange.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from crm_contracts import Envelope
from crm_kit.auth import Role
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, Staff, running_service
from customers.app import create_app
from customers.settings import Settings


class Harness(ServiceUnderTest[Settings]):
    async def customer(self, owner: Staff, name: str | None = None, **fields: Any) -> dict[str, Any]:
        """A new customer; look-alikes of earlier tests' customers are confirmed (the
        duplicate warning has tests of its own) unless `confirm_duplicate` says otherwise."""
        response = await self.http.post(
            "/api/customers",
            headers=owner.headers,
            json={"name": name or f"Công ty {uuid.uuid4().hex[:8]}", "confirm_duplicate": True, **fields},
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
    async with running_service(
        infra,
        "customers",
        create_app,
        Settings,
        kind=Harness,
        # Events stay in the outbox, where the tests read them (nothing here consumes them).
        relay_enabled=False,
        retry_delay_s=0.5,
    ) as running:
        yield running


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
