"""RabbitMQ itself restarted (`rabbitmqctl stop_app` / `start_app`). This affects every
run on this machine, so these tests come last in the fault suite, each leaves RabbitMQ
running whatever happens, and they need `rabbitmqctl` (this machine's broker)."""

from __future__ import annotations

import asyncio
import time

import pytest

from .tools import (
    ReadinessWatch,
    broker_is_local,
    consumers,
    customer_ids,
    ensure_broker_running,
    promotion,
    report,
    start_broker_app,
    stop_broker_app,
    wait_for,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.faults,
    pytest.mark.skipif(not broker_is_local(), reason="restarting RabbitMQ needs rabbitmqctl on this machine"),
]

CONSUMERS = ("sales", "accounting", "marketing")


@pytest.mark.timeout(240)
async def test_1000_promotions_queued_across_a_broker_restart_all_arrive(stack, faults):
    """Accounting consumes with two replicas after the restart (issue 16: the suite ran
    one): the 1000 are shared between them and each applied once."""
    for service in CONSUMERS:
        stack.stop(service)
    events = [promotion() for _ in range(1000)]
    ids = customer_ids(events)
    try:
        confirmed = await faults.publish(events)
        queued = {s: await faults.depth(s) for s in CONSUMERS}
        await asyncio.to_thread(stop_broker_app)
        await asyncio.sleep(1)
        await asyncio.to_thread(start_broker_app)
        kept = {s: await faults.depth(s) for s in CONSUMERS}
    finally:
        ensure_broker_running()
        for service in CONSUMERS:
            stack.start(service)
        replica = stack.start_replica("accounting")
    await asyncio.to_thread(stack.wait_ready, (*CONSUMERS, replica), 60)

    counts = {}
    try:
        for service in CONSUMERS:
            counts[service] = await wait_for(
                lambda service=service: faults.effects(service, ids),
                lambda e: e[0] >= 1000,
                timeout=90,
                what=f"1000 in {service}",
            )
    finally:
        stack.stop(replica)
    for service in ("sales", "accounting"):
        rows, distinct = counts[service]
        report(
            f"broker restart: {service}",
            sent=1000,
            confirmed=confirmed,
            consumed=distinct,
            lost=confirmed - distinct,
            duplicated=rows - distinct,
            dead_lettered=await faults.depth(service, ".dlq"),
            queued_before_the_restart=queued[service],
            queued_after_it=kept[service],
        )
    assert confirmed == 1000
    assert queued == kept == dict.fromkeys(CONSUMERS, 1000)
    assert counts == dict.fromkeys(CONSUMERS, (1000, 1000))


@pytest.mark.timeout(240)
async def test_after_a_broker_restart_every_service_consumes_again_within_30s(stack, faults):
    with ReadinessWatch(stack) as watch:
        try:
            await asyncio.to_thread(stop_broker_app)
            # Every /readyz says so while the broker is away.
            await wait_for(
                lambda: asyncio.sleep(0, result=dict(watch.not_ready)),
                lambda seen: all(n > 0 for n in seen.values()),
                timeout=30,
                what="every service not ready",
            )
        finally:
            await asyncio.to_thread(start_broker_app)
        back_at = time.monotonic()
        counted = await wait_for(
            lambda: asyncio.to_thread(consumers, stack.namespace),
            lambda c: all(n >= 1 for n in c.values()),
            timeout=30,
            every=0.5,
            what="a consumer on every service's queue within 30 s",
        )
        consuming_after_s = time.monotonic() - back_at
        await asyncio.to_thread(stack.wait_ready, timeout=30)

    events = [promotion() for _ in range(50)]
    ids = customer_ids(events)
    confirmed = await faults.publish(events)
    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", ids), lambda e: e[0] >= 50, timeout=30, what="50 accounts"
    )
    in_sales, _ = await wait_for(
        lambda: faults.effects("sales", ids), lambda e: e[0] >= 50, timeout=30, what="50 in sales"
    )
    report(
        "broker restart: consumers",
        sent=50,
        confirmed=confirmed,
        consumed=distinct,
        lost=confirmed - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        consuming_again_after_s=round(consuming_after_s, 1),
        consumers=counted,
        readyz_not_ready_polls=dict(watch.not_ready),
    )
    assert consuming_after_s <= 30
    assert all(n > 0 for n in watch.not_ready.values()), watch.not_ready
    assert (confirmed, rows, distinct, in_sales) == (50, 50, 50, 50)
