"""Nothing is lost: crashes of the publisher and of a consumer mid-flow."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from crm_kit.auth import Role

from .helpers import eventually

pytestmark = pytest.mark.e2e


async def promote_many(api, count: int, label: str) -> list[str]:
    """Create and promote `count` prospects, 20 requests at a time."""
    gate = asyncio.Semaphore(20)

    async def one(i: int) -> str:
        async with gate:
            created = await api.client.post("/api/customers", json={"name": f"{label} {i:04d}"})
            assert created.status_code == 201, created.text
            cid = created.json()["id"]
            promoted = await api.client.post(f"/api/customers/{cid}/promote")
            assert promoted.status_code == 200, promoted.text
            return cid

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def count_accounts(databases, ids: list[str]) -> int:
    return await databases.fetchval(
        "accounting", "SELECT count(*) FROM accounts WHERE customer_id::text = ANY($1::text[])", ids
    )


async def test_a_commit_whose_relay_crashed_is_delivered_after_restart(stack, new_user, databases):
    """Customers commits the promotion, then dies before its relay publishes."""
    stack.stop("customers")
    stack.env_overrides["customers"] = {"RELAY_ENABLED": "false"}  # as if it died before relaying
    stack.start("customers")
    stack.wait_ready(("customers",))
    try:
        seller = await new_user(Role.SALESPERSON)
        [cid] = await promote_many(seller, 1, "Crash sau commit")
        pending = await databases.fetchval(
            "customers", "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        assert pending >= 1
        stack.stop("customers", sig=signal.SIGKILL)
        await asyncio.sleep(2)
        assert (await seller.client.get(f"/api/accounts/{cid}")).status_code == 404
    finally:
        stack.env_overrides.pop("customers", None)
        stack.start("customers")
        stack.wait_ready(("customers",))

    await eventually(
        lambda: seller.client.get(f"/api/accounts/{cid}"),
        until=lambda r: r.status_code == 200,
        what="account opened after the publisher came back",
    )


async def test_kill_9_accounting_during_300_promotions(stack, new_user, databases, infra):
    from crm_kit.testing import queue_depth

    seller = await new_user(Role.SALESPERSON)
    stack.stop("accounting")  # let the promotions queue up, so the kill lands mid-flow
    ids = await promote_many(seller, 300, "Kill -9")
    await eventually(
        lambda: queue_depth(infra.amqp_url, f"{stack.namespace}.accounting"),
        until=lambda n: n >= 300,
        what="300 promotions waiting for accounting",
    )

    stack.start("accounting")
    await eventually(
        lambda: count_accounts(databases, ids), until=lambda n: n > 0, timeout=30, what="first accounts"
    )
    stack.stop("accounting", sig=signal.SIGKILL)
    handled_at_kill = await count_accounts(databases, ids)
    print(f"\n[kill -9] accounting killed with {handled_at_kill}/300 accounts opened")

    stack.start("accounting")
    stack.wait_ready(("accounting",))
    started = time.monotonic()
    final = await eventually(
        lambda: count_accounts(databases, ids),
        until=lambda n: n == 300,
        timeout=60,
        what="all 300 accounts after restart",
    )
    event_ids = await databases.fetchval(
        "customers",
        "SELECT array_agg(event_id::text) FROM outbox WHERE routing_key = $1"
        " AND (convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'customer_id') = ANY($2::text[])",
        "customers.customer.promoted_to_traditional.v1",
        ids,
    )
    handled = await databases.fetchval(
        "accounting", "SELECT count(*) FROM inbox WHERE event_id::text = ANY($1::text[])", event_ids
    )
    dead = await queue_depth(infra.amqp_url, f"{stack.namespace}.accounting.dlq")
    left = await queue_depth(infra.amqp_url, f"{stack.namespace}.accounting")
    print(
        f"[kill -9] sent 300, accounts {final}, duplicates 0 (one row per customer id), "
        f"dead-lettered {dead}, left in queue {left}, recovered in {time.monotonic() - started:.1f}s"
    )
    assert final == 300
    assert (len(event_ids), handled) == (300, 300)
    assert (dead, left) == (0, 0)
