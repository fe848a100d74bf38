"""Sales in-process against real Postgres and RabbitMQ, as its test modules share it: the
service under test (one per module), its actors and catalogue, and helpers that act as
the other services by publishing their real event envelopes to the test namespace's
exchange; what sales emits is read from its outbox (the relay is off)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_contracts import CreditChecked, CustomerPromotedToTraditional, CustomerRegistered, Event
from crm_kit.auth import Role, User
from crm_testkit.catalogue import product_group
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from crm_testkit.service import Staff as Actor
from sales.app import create_app
from sales.settings import Settings

# -- harness ---------------------------------------------------------------------------


class Sales(ServiceUnderTest[Settings]):
    def actor(self, role: Role) -> Actor:
        """Someone with a token whom sales' directory has not heard of: sales lets them act
        (it refuses only staff it knows to be deactivated)."""
        user = User(id=uuid.uuid4(), username=f"u{uuid.uuid4().hex[:8]}", role=role)
        return Actor(user, self.headers_for(user))

    async def publish(self, event: Event, **options: Any) -> uuid.UUID:  # type: ignore[override]
        """Publish `event` as its owning service would; returns the event id, which the
        tests find again as the causation of what sales emits."""
        return (await super().publish(event, **options)).event_id

    async def emitted(self, routing_key: str, **data: Any) -> list[dict[str, Any]]:
        """Envelopes sales wrote to its outbox with `routing_key` whose data match `data`."""
        rows = await self.rows("SELECT body FROM outbox WHERE routing_key = :rk ORDER BY id", rk=routing_key)
        envelopes = [json.loads(bytes(row.body)) for row in rows]
        return [e for e in envelopes if all(e["data"].get(k) == v for k, v in data.items())]


@pytest.fixture(scope="module")
async def sales(infra: Infra) -> AsyncIterator[Sales]:
    async with running_service(
        infra,
        "sales",
        create_app,
        Settings,
        kind=Sales,
        # What sales emits is read from the outbox: nothing here consumes it.
        relay_enabled=False,
        retry_delay_s=0.5,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def manager(sales: Sales) -> Actor:
    return sales.actor(Role.SALES_MANAGER)


@pytest.fixture
def seller(sales: Sales) -> Actor:
    return sales.actor(Role.SALESPERSON)


@pytest.fixture(scope="module")
async def catalogue(sales: Sales, manager: Actor) -> dict[str, dict[str, Any]]:
    """Two products: a pump at 10% VAT and a valve at 8%."""
    suffix = uuid.uuid4().hex[:6].upper()
    made = {}
    for key, name, price, vat in (
        ("pump", "Máy bơm công nghiệp", 12_345_000, 10),
        ("valve", "Van điều khiển", 333_333, 8),
    ):
        await product_group(sales.http, f"group-{key}", headers=manager.headers)
        response = await sales.http.post(
            "/api/products",
            headers=manager.headers,
            json={
                "code": f"{key}-{suffix}".lower(),
                "name": name,
                "product_group": f"group-{key}",
                "unit_price": price,
                "vat_rate_pct": vat,
            },
        )
        assert response.status_code == 201, response.text
        made[key] = response.json()
    return made


# -- helpers that act as the other services ------------------------------------------------


async def prospect(
    sales: Sales, owner: Actor, *, channel_id: uuid.UUID | None = None, region_code: str = "79"
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    event_id = await sales.publish(
        CustomerRegistered(
            customer_id=customer_id,
            name=f"Công ty TNHH {customer_id.hex[:6]}",
            lifecycle_stage="prospect",
            owner_id=owner.id,
            region_code=region_code,
            channel_id=channel_id,
        )
    )
    await sales.handled(event_id)
    return customer_id


async def promote(
    sales: Sales,
    customer_id: uuid.UUID,
    owner: Actor,
    channel_id: uuid.UUID | None = None,
    region_code: str = "79",
) -> None:
    event_id = await sales.publish(
        CustomerPromotedToTraditional(
            customer_id=customer_id,
            name=f"Công ty TNHH {customer_id.hex[:6]}",
            owner_id=owner.id,
            region_code=region_code,
            channel_id=channel_id,
            promoted_at=datetime.now(UTC),
        )
    )
    await sales.handled(event_id)


async def traditional(
    sales: Sales, owner: Actor, *, channel_id: uuid.UUID | None = None, region_code: str = "79"
) -> uuid.UUID:
    customer_id = await prospect(sales, owner, channel_id=channel_id, region_code=region_code)
    await promote(sales, customer_id, owner, channel_id, region_code)
    return customer_id


async def credit_check(
    sales: Sales, quote: dict[str, Any], *, passed: bool = True, submission: int | None = None
) -> None:
    event_id = await sales.publish(
        CreditChecked(
            quote_id=uuid.UUID(quote["id"]),
            submission=quote["submission"] if submission is None else submission,
            customer_id=uuid.UUID(quote["customer_id"]),
            passed=passed,
            exposure=quote["total"] + 1_000_000,
            open_receivables=1_000_000,
            credit_limit=quote["total"] * 2 if passed else quote["total"] // 2,
            checked_at=datetime.now(UTC),
        )
    )
    await sales.handled(event_id)


def lines(catalogue: dict[str, dict[str, Any]], pumps: int = 2, valves: int = 3) -> list[dict[str, Any]]:
    return [
        {"product_code": catalogue["pump"]["code"], "quantity": pumps, "discount_pct": 5},
        {"product_code": catalogue["valve"]["code"], "quantity": valves, "discount_pct": 12.5},
    ]


async def new_quote(
    sales: Sales, actor: Actor, customer_id: uuid.UUID, quote_lines: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    response = await sales.http.post(
        "/api/quotes",
        headers=actor.headers,
        json={"customer_id": str(customer_id), "lines": quote_lines, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(sales: Sales, actor: Actor, quote: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    response = await sales.http.post(f"/api/quotes/{quote['id']}/{action}", headers=actor.headers, json=body)
    assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def get_quote(sales: Sales, actor: Actor, quote: dict[str, Any]) -> dict[str, Any]:
    response = await sales.http.get(f"/api/quotes/{quote['id']}", headers=actor.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def checked(
    sales: Sales, actor: Actor, quote: dict[str, Any], *, passed: bool = True
) -> dict[str, Any]:
    await credit_check(sales, quote, passed=passed)
    return await get_quote(sales, actor, quote)


async def approved_quote(
    sales: Sales,
    seller: Actor,
    manager: Actor,
    customer_id: uuid.UUID,
    quote_lines: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    quote = await act(
        sales, seller, await new_quote(sales, seller, customer_id, quote_lines, **extra), "submit"
    )
    await checked(sales, seller, quote)
    return await act(sales, manager, quote, "approve")


async def orders_of(sales: Sales, actor: Actor, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    response = await sales.http.get(
        "/api/orders", headers=actor.headers, params={"customer_id": str(customer_id)}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
