"""Faults on the consuming side: a consumer killed or stopped mid-batch, the same event
twice, a malformed message among good ones, an order that arrives before its customer.

Each test prints one line of counts: sent, confirmed (by the broker), consumed (an
effect in the consumer's database), lost (confirmed but no effect), duplicated (an
effect twice), dead-lettered."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import pytest

from crm_kit.auth import Role
from crm_kit.settings import ServiceSettings

from .tools import ORDER_PLACED, PROMOTED, Raw, customer_ids, order_placed, promotion, report, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


@pytest.mark.timeout(240)
async def test_kill_9_accounting_halfway_through_1000_promotions(stack, faults):
    """With two replicas of accounting consuming (issue 16: the suite ran one), one is
    killed mid-flow: what it held comes back to the queue and the other takes it, each
    promotion applied once."""
    stack.stop("accounting")  # the promotions queue up, so the kill lands mid-flow
    events = [promotion() for _ in range(1000)]
    ids, event_ids = customer_ids(events), [e.event_id for e in events]
    try:
        confirmed = await faults.publish(events)
        await wait_for(
            lambda: faults.depth("accounting"), lambda n: n >= 1000, timeout=30, what="1000 queued"
        )
        replica = stack.start_replica("accounting")
        stack.start("accounting")
        await wait_for(
            lambda: faults.effects("accounting", ids),
            lambda e: e[0] >= 500,
            timeout=60,
            every=0.02,
            what="half the accounts opened",
        )
        stack.stop("accounting", sig=signal.SIGKILL)
        at_kill, _ = await faults.effects("accounting", ids)
    finally:
        stack.start("accounting")
        stack.wait_ready(("accounting",))

    try:
        rows, distinct = await wait_for(
            lambda: faults.effects("accounting", ids),
            lambda e: e[0] >= 1000,
            timeout=90,
            what="1000 accounts after the restart",
        )
    finally:
        stack.stop(replica)
    handled = await faults.handled("accounting", event_ids)
    skipped = await faults.metric("accounting", "crm_messages_duplicate_total")
    dead, left, waiting = (
        await faults.depth("accounting", ".dlq"),
        await faults.depth("accounting"),
        await faults.depth("accounting", ".retry"),
    )
    report(
        "kill -9 consumer",
        sent=1000,
        confirmed=confirmed,
        consumed=distinct,
        lost=confirmed - distinct,
        duplicated=rows - distinct,
        dead_lettered=dead,
        accounts_at_kill=at_kill,
        redelivered_and_skipped_by_the_inbox=int(skipped),
        left_in_queue=left + waiting,
    )
    assert confirmed == 1000
    assert 0 < at_kill < 1000, "the kill must land mid-flow"
    assert (rows, distinct, handled) == (1000, 1000, 1000)
    assert (dead, left, waiting) == (0, 0, 0)


@pytest.mark.timeout(120)
async def test_the_same_event_twice_to_two_subscribers_has_one_effect_in_each(stack, faults):
    """100 promotions, each published twice (as a relay that died before marking it sent
    would): sales and accounting each open 100, and skip 100 copies."""
    subscribers = ("sales", "accounting")
    events = [promotion() for _ in range(100)]
    ids, event_ids = customer_ids(events), [e.event_id for e in events]
    skipped_before = {s: await faults.metric(s, "crm_messages_duplicate_total") for s in subscribers}

    confirmed = await faults.publish(events, copies=2)
    for service in subscribers:
        await wait_for(
            lambda service=service: faults.metric(service, "crm_messages_duplicate_total"),
            lambda n, service=service: n >= skipped_before[service] + 100,
            timeout=60,
            what=f"{service} saw every second copy",
        )
    for service in subscribers:
        rows, distinct = await faults.effects(service, ids)
        handled = await faults.handled(service, event_ids)
        skipped = await faults.metric(service, "crm_messages_duplicate_total") - skipped_before[service]
        dead = await faults.depth(service, ".dlq")
        report(
            f"twice to two subscribers: {service}",
            sent=200,
            confirmed=confirmed,
            consumed=distinct,
            lost=100 - distinct,
            duplicated=rows - distinct,
            dead_lettered=dead,
            copies_skipped_by_the_inbox=int(skipped),
        )
        assert (rows, distinct, handled, int(skipped), dead) == (100, 100, 100, 100, 0)
    assert confirmed == 200


@pytest.mark.timeout(120)
async def test_one_malformed_message_among_999_good_ones_is_dead_lettered_with_its_reason(stack, faults):
    good = [promotion() for _ in range(999)]
    bad = Raw(PROMOTED, b'{"event_id": "this is not an event", "data": ')
    confirmed = await faults.publish([*good[:500], bad, *good[500:]])
    ids = customer_ids(good)

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", ids), lambda e: e[0] >= 999, timeout=60, what="999 accounts"
    )
    await wait_for(lambda: faults.depth("accounting", ".dlq"), lambda n: n >= 1, timeout=20, what="the DLQ")
    await asyncio.sleep(1)  # anything else wrongly dead-lettered would be there by now
    dead = await faults.take_dead_letters("accounting")
    for other in ("sales", "marketing"):  # the other subscribers dead-letter their copy too
        await wait_for(
            lambda other=other: faults.depth(other, ".dlq"), lambda n: n >= 1, timeout=20, what=other
        )
        assert len(await faults.take_dead_letters(other)) == 1, other
    left = await faults.depth("accounting") + await faults.depth("accounting", ".retry")
    report(
        "malformed among 999",
        sent=1000,
        confirmed=confirmed,
        consumed=distinct,
        lost=999 - distinct,
        duplicated=rows - distinct,
        dead_lettered=len(dead),
        left_in_queue=left,
    )
    assert confirmed == 1000
    assert (rows, distinct, left) == (999, 999, 0)
    assert [m.message_id for m in dead] == [bad.message_id]
    assert dead[0].body == bad.body
    reason = str(dead[0].headers["x-dead-letter-reason"])
    assert "not a valid event" in reason or "Invalid JSON" in reason or "json" in reason.lower(), reason


@pytest.mark.timeout(180)
async def test_sigterm_mid_batch_commits_or_returns_every_message_in_flight(stack, faults):
    stack.stop("accounting")
    events = [promotion() for _ in range(600)]
    ids, event_ids = customer_ids(events), [e.event_id for e in events]
    confirmed = await faults.publish(events)
    await wait_for(lambda: faults.depth("accounting"), lambda n: n >= 600, timeout=30, what="600 queued")

    # Slower transactions: the consumer commits up to CONSUME_BATCH_SIZE deliveries at
    # once, so a round trip of 20 ms keeps the 600 going for several batches, and one of
    # them is surely in flight at the signal.
    faults.postgres.latency = 0.02
    try:
        stack.start("accounting")
        await wait_for(
            lambda: faults.effects("accounting", ids),
            lambda e: e[0] >= 100,
            timeout=60,
            every=0.05,
            what="the first 100 accounts",
        )
        log = stack.log_dir / "accounting.log"
        stopped_before = log.read_text().count("Application shutdown complete")
        started = time.monotonic()
        code = stack.stop("accounting", sig=signal.SIGTERM)
        shutdown_s = time.monotonic() - started
        graceful = log.read_text().count("Application shutdown complete") == stopped_before + 1
    finally:
        faults.postgres.latency = 0.0
    at_stop, _ = await faults.effects("accounting", ids)
    inbox_at_stop = await faults.handled("accounting", event_ids)
    waiting_at_stop = await faults.depth("accounting")
    stack.start("accounting")
    stack.wait_ready(("accounting",))

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", ids), lambda e: e[0] >= 600, timeout=60, what="600 accounts"
    )
    await asyncio.sleep(1)
    skipped = await faults.metric("accounting", "crm_messages_duplicate_total")
    dead = await faults.depth("accounting", ".dlq")
    left = await faults.depth("accounting") + await faults.depth("accounting", ".retry")
    report(
        "SIGTERM mid-batch",
        sent=600,
        confirmed=confirmed,
        consumed=distinct,
        lost=600 - distinct,
        duplicated=rows - distinct,
        dead_lettered=dead,
        committed_at_stop=at_stop,
        back_in_the_queue_at_stop=waiting_at_stop,
        committed_but_redelivered=int(skipped),
        exit_code=code,
        shutdown_s=round(shutdown_s, 1),
    )
    # uvicorn re-raises the signal once it has shut down cleanly, hence -15 rather than 0.
    assert graceful and code in (0, -signal.SIGTERM), "a graceful stop"
    assert 100 <= at_stop < 600 and inbox_at_stop == at_stop  # each effect committed with its inbox row
    # The rest went back (at most one prefetch in the air).
    assert at_stop + waiting_at_stop >= 600 - ServiceSettings.model_fields["prefetch"].default
    assert (confirmed, rows, distinct, dead, left) == (600, 600, 600, 0, 0)
    assert skipped == 0, "an acked message is never delivered again"


@pytest.mark.timeout(120)
async def test_an_order_placed_before_the_customer_is_promoted_waits_and_is_invoiced_once(
    stack, faults, new_user, databases
):
    seller = await new_user(Role.SALESPERSON)
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": "Cửa hàng Đặt trước"}
    )
    assert made.status_code == 201, made.text
    customer = uuid.UUID(made.json()["id"])
    order = order_placed(customer, seller.user_id)
    order_id = uuid.UUID(str(order.data["order_id"]))
    waits_before = await faults.metric("accounting", "crm_messages_retried_total")

    assert await faults.publish([order]) == 1  # accounting has no account for it yet
    waits = await wait_for(
        lambda: faults.metric("accounting", "crm_messages_retried_total"),
        lambda n: n >= waits_before + 2,
        timeout=30,
        what="the order waiting twice",
    )
    invoices = "SELECT count(*) FROM invoices WHERE order_id = $1"
    assert await databases.fetchval("accounting", invoices, order_id) == 0

    promoted = await seller.client.post(f"/api/customers/{customer}/promote")
    assert promoted.status_code == 200, promoted.text
    invoiced = await wait_for(
        lambda: databases.fetchval("accounting", invoices, order_id),
        lambda n: n >= 1,
        timeout=30,
        what="the order invoiced once the account opened",
    )
    await asyncio.sleep(1)
    invoiced = await databases.fetchval("accounting", invoices, order_id)
    # The invoice's order_id is unique, so it could not count twice; the customer's
    # timeline has an entry per OrderPlaced handled, which would (issue 16).
    in_timeline = await wait_for(
        lambda: databases.fetchval(
            "customers",
            "SELECT count(*) FROM customer_timeline"
            " WHERE kind = 'order_placed' AND detail ->> 'order_id' = $1",
            str(order_id),
        ),
        lambda n: n >= 1,
        timeout=30,
        what="the order in the customer's timeline",
    )
    handled = await faults.handled("accounting", [order.event_id])
    dead = await faults.depth("accounting", ".dlq")
    waited = int(await faults.metric("accounting", "crm_messages_retried_total") - waits_before)
    report(
        "order before promotion",
        sent=2,
        confirmed=2,
        consumed=handled + 1,
        lost=1 - invoiced,
        duplicated=invoiced - 1 + in_timeline - 1,
        dead_lettered=dead,
        times_the_order_waited=waited,
    )
    assert waits >= waits_before + 2
    assert (invoiced, in_timeline, handled, dead) == (1, 1, 1, 0)
    assert order.routing_key == ORDER_PLACED
