"""Event replay (issue 17, item 3): an outside subscriber that binds its queue after 100
promotions happened asks the customers service, through the gateway, to replay them,
and gets all 100, each once, with their original event ids."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually
from crm_testkit.subscriber import replay_queue

pytestmark = pytest.mark.e2e

PROMOTED = "customers.customer.promoted_to_traditional.v1"
REPLAY = "/api/admin/customers/events/replay"
PROMOTIONS = 100


async def promote(seller, i: int) -> str:
    # Names of their own: the duplicate warning would answer 409 to a second "Công ty Phát Lại 1".
    made = await seller.client.post(
        "/api/customers",
        json={"name": f"Công ty Phát Lại {i} {uuid.uuid4().hex[:6]}", "confirm_duplicate": True},
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    promoted = await seller.client.post(f"/api/customers/{cid}/promote")
    assert promoted.status_code == 200, promoted.text
    return cid


async def test_a_subscriber_bound_after_100_promotions_gets_all_100_by_replay_each_once(
    stack, admin, new_user, databases, infra
):
    since = datetime.now(UTC) - timedelta(seconds=1)
    seller = await new_user(Role.SALESPERSON)
    promoted: list[str] = []
    for start in range(0, PROMOTIONS, 10):
        promoted += await asyncio.gather(*(promote(seller, i) for i in range(start, start + 10)))
    # The stack is shared: other tests' promotions may fall in the same window. The replay
    # sends them all; ours must be among them, each once.
    ours = "convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'customer_id' = ANY($3::text[])"
    sent = (
        "SELECT count(*) FROM outbox WHERE routing_key = $1 AND created_at >= $2"
        f" AND published_at IS NOT NULL AND {ours}"
    )
    await eventually(
        lambda: databases.fetchval("customers", sent, PROMOTED, since, promoted),
        until=lambda n: n == PROMOTIONS,
        what="every promotion published",
    )
    window = "WHERE routing_key = $1 AND created_at >= $2 AND published_at IS NOT NULL"
    in_order = await databases.fetchval(
        "customers", f"SELECT array_agg(event_id::text ORDER BY id) FROM outbox {window}", PROMOTED, since
    )

    async with replay_queue(infra.amqp_url, stack.namespace) as late:
        asked = await admin.client.post(
            REPLAY,
            json={
                "routing_keys": [PROMOTED],
                "since": since.isoformat(),
                "queue": late.name,
                "rate_per_s": 200,
            },
        )
        assert asked.status_code == 202, asked.text
        expected = asked.json()["count"]
        assert expected >= PROMOTIONS

        received = await late.receive(expected)

    assert len(received) == expected  # each once: no second copy came within the quiet time
    assert len({e.event_id for e in received}) == expected
    assert set(promoted) <= {e.data["customer_id"] for e in received}
    assert {e.routing_key for e in received} == {PROMOTED}
    # The original envelopes: the same event ids as the outbox's, in the order they were written.
    assert [str(e.event_id) for e in received][: len(in_order)] == list(in_order)


async def test_a_replay_is_refused_for_a_missing_or_unbound_queue_a_foreign_type_and_a_non_admin(
    stack, admin, new_user, infra
):
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    seller = await new_user(Role.SALESPERSON)
    await promote(seller, 0)  # something to replay

    async def ask(api, **changes):
        body = {"routing_keys": [PROMOTED], "since": since, "queue": f"{stack.namespace}.nobody", **changes}
        return await api.client.post(REPLAY, json=body)

    missing = await ask(admin)
    assert missing.status_code == 404, missing.text
    async with replay_queue(infra.amqp_url, stack.namespace, bound=False) as unbound:
        refused = await ask(admin, queue=unbound.name)
        assert refused.status_code == 422, refused.text
        assert "not bound" in refused.text
    async with replay_queue(infra.amqp_url, stack.namespace) as late:
        foreign = await ask(admin, queue=late.name, routing_keys=["sales.order.placed.v1"])
        assert foreign.status_code == 422, foreign.text
        assert "does not publish sales.order.placed.v1" in foreign.text
        assert (await ask(admin, queue=late.name, rate_per_s=0)).status_code == 422
        assert (await ask(admin, queue=late.name, since="yesterday")).status_code == 422
        assert (await ask(seller, queue=late.name)).status_code == 403
        assert await late.receive(0, quiet_s=1, timeout=3) == []  # nothing was sent


async def test_an_admin_reaches_every_services_dead_letters_through_the_gateway(admin, new_user):
    seller = await new_user(Role.SALESPERSON)
    for service in ("gateway", "leads", "customers", "sales", "accounting", "marketing"):
        listed = await admin.client.get(f"/api/admin/{service}/dead-letters", params={"limit": 5})
        assert listed.status_code == 200, (service, listed.text)
        assert set(listed.json()) == {"items", "total", "total_capped", "next_cursor"}  # a kit page
        missing = await admin.client.get(f"/api/admin/{service}/dead-letters/999999999")
        assert missing.status_code == 404, (service, missing.text)
        refused = await seller.client.get(f"/api/admin/{service}/dead-letters")
        assert refused.status_code == 403, (service, refused.text)
    assert (await admin.client.get("/api/admin/nobody/dead-letters")).status_code == 404
