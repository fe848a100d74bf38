"""Outages of what a service depends on: RabbitMQ gone for 30 s while the API keeps
taking writes, accounting's database gone for 60 s while events keep arriving, and
every connection to RabbitMQ cut. The proxies in between make these outages of this
stack only (the real servers stay up for everyone else on this machine)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from crm_kit.auth import Role
from crm_kit.settings import ServiceSettings

from .test_publisher import OF_CUSTOMERS, prospects, uuids
from .tools import (
    PROMOTED,
    ReadinessWatch,
    broker_is_local,
    consumers,
    customer_ids,
    percentile,
    promotion,
    rabbitmqctl,
    report,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

RETRY_DELAY_S = ServiceSettings.model_fields["retry_delay_s"].default


async def timed_promotions(seller, ids: list[str]) -> list[tuple[int, float]]:
    gate = asyncio.Semaphore(10)

    async def one(cid: str) -> tuple[int, float]:
        async with gate:
            started = time.monotonic()
            answer = await seller.client.post(f"/api/customers/{cid}/promote")
            return answer.status_code, time.monotonic() - started

    return list(await asyncio.gather(*(one(cid) for cid in ids)))


@pytest.mark.timeout(240)
async def test_the_api_takes_100_promotions_while_rabbitmq_is_down_for_30s(stack, faults, new_user):
    seller = await new_user(Role.SALESPERSON)
    before, during = await prospects(seller, 20, "Trước sự cố"), await prospects(seller, 100, "Trong sự cố")
    normal = await timed_promotions(seller, before)

    faults.amqp.down()
    down_at = time.monotonic()
    try:
        await asyncio.sleep(1)
        answers = await timed_promotions(seller, during)
        pending = await faults.db.fetchval(
            "customers",
            f"SELECT count(*) FROM outbox WHERE published_at IS NULL AND routing_key = '{PROMOTED}'"
            f" AND {OF_CUSTOMERS}",
            during,
        )
        early, _ = await faults.effects("accounting", uuids(during))
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    finally:
        faults.amqp.up()
    up_at = time.monotonic()

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids(during)),
        lambda e: e[0] >= 100,
        timeout=120,
        what="100 accounts after RabbitMQ came back",
    )
    recovered_s = time.monotonic() - up_at
    in_sales, _ = await wait_for(
        lambda: faults.effects("sales", uuids(during)), lambda e: e[0] >= 100, timeout=30, what="sales"
    )
    published = await faults.db.fetchval(
        "customers",
        f"SELECT count(*) FROM outbox WHERE published_at IS NOT NULL AND routing_key = '{PROMOTED}'"
        f" AND {OF_CUSTOMERS}",
        during,
    )
    ok = sum(1 for code, _ in answers if code == 200)
    slowest = max(s for _, s in answers)
    report(
        "RabbitMQ down 30s",
        sent=ok,
        confirmed=published,
        consumed=distinct,
        lost=ok - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        pending_while_down=pending,
        p95_normal_s=round(percentile([s for _, s in normal], 95), 3),
        p95_while_down_s=round(percentile([s for _, s in answers], 95), 3),
        slowest_while_down_s=round(slowest, 3),
        all_arrived_after_s=round(recovered_s, 1),
        in_sales=in_sales,
    )
    assert all(code == 200 for code, _ in normal)
    assert ok == 100 and pending == 100 and early == 0 and published == 100
    # The API never waits on the broker: a blocked publish would take its 10 s timeout.
    assert slowest < 5, f"a promotion took {slowest:.1f}s while RabbitMQ was down"
    assert (rows, distinct, in_sales) == (100, 100, 100)


@pytest.mark.timeout(240)
async def test_accounting_database_gone_for_60s_while_200_events_arrive(stack, faults):
    events = [promotion() for _ in range(200)]
    ids = customer_ids(events)
    retried_before = await faults.metric("accounting", "crm_messages_retried_total")

    faults.postgres.down()
    try:
        confirmed = await faults.publish(events)
        async with httpx.AsyncClient(timeout=10) as client:
            readiness = await wait_for(
                lambda: client.get(stack.url("accounting") + "/readyz"),
                lambda r: r.status_code == 503,
                timeout=15,
                what="accounting not ready",
            )
        await asyncio.sleep(30)
        retried_30s = await faults.metric("accounting", "crm_messages_retried_total") - retried_before
        waiting_30s = await faults.depth("accounting", ".retry")
        await asyncio.sleep(30)
        early, _ = await faults.effects("accounting", ids)
    finally:
        faults.postgres.up()

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", ids),
        lambda e: e[0] >= 200,
        timeout=60,
        what="200 accounts after the database came back",
    )
    await asyncio.sleep(1)
    retried = await faults.metric("accounting", "crm_messages_retried_total") - retried_before
    dead = await faults.depth("accounting", ".dlq")
    per_message = retried / 200
    report(
        "database down 60s",
        sent=200,
        confirmed=confirmed,
        consumed=distinct,
        lost=confirmed - distinct,
        duplicated=rows - distinct,
        dead_lettered=dead,
        redeliveries=int(retried),
        per_message=round(per_message, 1),
        expected_at_one_per_retry_delay=round(60 / RETRY_DELAY_S, 1),
        in_the_retry_queue_after_30s=waiting_30s,
    )
    assert readiness.json()["checks"]["database"].startswith("unreachable")
    assert confirmed == 200 and early == 0
    assert (rows, distinct, dead) == (200, 200, 0)
    # Spaced by the retry delay: about one try per message per RETRY_DELAY_S, not a hot loop.
    assert 60 / RETRY_DELAY_S - 4 <= per_message <= 60 / RETRY_DELAY_S + 3, per_message
    assert retried_30s <= 200 * (30 / RETRY_DELAY_S + 2)
    assert waiting_30s >= 100, "most messages wait out the delay in the retry queue"


@pytest.mark.timeout(120)
async def test_after_every_connection_to_rabbitmq_is_cut_each_service_consumes_again(stack, faults):
    async def counted() -> dict[str, int]:
        return consumers(stack.namespace)

    # Run first (or alone), the stack may be a moment from being counted by RabbitMQ.
    await wait_for(counted, lambda c: all(n >= 1 for n in c.values()), timeout=30, what="a consumer each")
    with ReadinessWatch(stack) as watch:
        faults.amqp.down()  # every connection reset, none possible for 2 s
        await asyncio.sleep(2)
        faults.amqp.up()
        back_at = time.monotonic()
        counted = await wait_for(
            lambda: asyncio.to_thread(consumers, stack.namespace),
            lambda c: all(n >= 1 for n in c.values()),
            timeout=30,
            every=0.5,
            what="a consumer on every service's queue again",
        )
        consuming_after_s = time.monotonic() - back_at
        await asyncio.to_thread(stack.wait_ready, timeout=30)

    events = [promotion() for _ in range(50)]
    confirmed = await faults.publish(events)
    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", customer_ids(events)),
        lambda e: e[0] >= 50,
        timeout=30,
        what="50",
    )
    in_sales, _ = await wait_for(
        lambda: faults.effects("sales", customer_ids(events)), lambda e: e[0] >= 50, timeout=30, what="sales"
    )
    report(
        "connections cut",
        sent=50,
        confirmed=confirmed,
        consumed=distinct,
        lost=confirmed - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        consuming_again_after_s=round(consuming_after_s, 1),
        readyz_not_ready_polls=dict(watch.not_ready),
        in_sales=in_sales,
    )
    assert all(n >= 1 for n in counted.values()), counted
    assert all(n > 0 for n in watch.not_ready.values()), watch.not_ready
    assert (confirmed, rows, distinct, in_sales) == (50, 50, 50, 50)


#: How to raise each of RabbitMQ's resource alarms on this machine's broker, and what
#: reads the limit to put back (`rabbitmqctl eval`).
ALARMS = {
    "memory": (
        ("set_vm_memory_high_watermark", "absolute", "1"),
        "vm_memory_monitor:get_vm_memory_high_watermark().",
        lambda value: ("set_vm_memory_high_watermark", value),
    ),
    "disk": (
        ("set_disk_free_limit", "1000000GB"),
        "rabbit_disk_monitor:get_disk_free_limit().",
        lambda value: ("set_disk_free_limit", value),
    ),
}


def broker_limit(expression: str) -> str:
    """The limit as `rabbitmqctl` takes it back: a relative watermark (0.4) or bytes."""
    value = rabbitmqctl("eval", expression).strip()
    if value.startswith("{absolute,"):
        return value.removeprefix("{absolute,").removesuffix("}")
    return value


@pytest.mark.timeout(240)
@pytest.mark.skipif(not broker_is_local(), reason="needs this machine's rabbitmqctl to raise an alarm")
@pytest.mark.parametrize("alarm", sorted(ALARMS))
async def test_a_broker_resource_alarm_blocks_publishers_and_the_api_still_answers(
    stack, faults, new_user, alarm
):
    """Issue 16: with RabbitMQ's memory or disk alarm on, every publisher is blocked. The
    API must still answer (it never publishes itself), the outbox must hold every event,
    and all must be delivered once after the alarm clears."""
    seller = await new_user(Role.SALESPERSON)
    during = await prospects(seller, 30, f"Báo động {alarm}")
    raise_it, read_limit, restore = ALARMS[alarm]
    limit = await asyncio.to_thread(broker_limit, read_limit)
    await asyncio.to_thread(rabbitmqctl, *raise_it)
    try:
        await wait_for(
            lambda: asyncio.to_thread(rabbitmqctl, "-q", "eval", "rabbit_alarm:get_alarms()."),
            lambda listed: alarm in listed,
            timeout=30,
            what=f"the {alarm} alarm on",
        )
        answers = await timed_promotions(seller, during)
        await asyncio.sleep(3)  # a publish that got through would have been consumed by now
        pending = await faults.db.fetchval(
            "customers",
            f"SELECT count(*) FROM outbox WHERE published_at IS NULL AND routing_key = '{PROMOTED}'"
            f" AND {OF_CUSTOMERS}",
            during,
        )
        early, _ = await faults.effects("accounting", uuids(during))
    finally:
        await asyncio.to_thread(rabbitmqctl, *restore(limit))
    cleared_at = time.monotonic()
    applied, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids(during)),
        lambda e: e[1] >= 30,
        timeout=120,
        what=f"30 accounts after the {alarm} alarm cleared",
    )
    delivered_s = time.monotonic() - cleared_at
    in_sales, _ = await wait_for(
        lambda: faults.effects("sales", uuids(during)), lambda e: e[1] >= 30, timeout=30, what="sales"
    )
    published = await faults.db.fetchval(
        "customers",
        f"SELECT count(*) FROM outbox WHERE published_at IS NOT NULL AND routing_key = '{PROMOTED}'"
        f" AND {OF_CUSTOMERS}",
        during,
    )
    ok = sum(1 for code, _ in answers if code == 200)
    slowest = max(s for _, s in answers)
    report(
        f"{alarm} alarm",
        sent=ok,
        confirmed=published,
        consumed=distinct,
        lost=ok - distinct,
        duplicated=applied - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        pending_while_blocked=pending,
        slowest_answer_s=round(slowest, 3),
        all_arrived_after_s=round(delivered_s, 1),
    )
    assert ok == 30 and slowest < 5, answers
    assert pending == 30 and early == 0, (pending, early)
    assert (applied, distinct, in_sales) == (30, 30, 30)
