"""Faults on the publishing side: the service dies after its commit and before its relay
published, a transaction is rolled back, the relay dies between the broker's confirm and
marking the row sent, and the event routes nowhere for a while."""

from __future__ import annotations

import asyncio
import signal
import uuid

import aio_pika
import pytest

from crm_kit.auth import Role

from .tools import PROMOTED, report, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

SUBSCRIBERS = ("sales", "accounting", "marketing")
#: Every queue a promotion routes to (leads keeps a customer copy too, for conversions
#: onto an existing customer): all must be unbound for it to route nowhere.
PROMOTION_QUEUES = (*SUBSCRIBERS, "leads")
OF_CUSTOMERS = "(convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'customer_id') = ANY($1::text[])"


async def prospects(seller, count: int, label: str) -> list[str]:
    gate = asyncio.Semaphore(10)

    async def one(i: int) -> str:
        async with gate:
            made = await seller.client.post(
                "/api/customers", json={"confirm_duplicate": True, "name": f"{label} {i:03d}"}
            )
            assert made.status_code == 201, made.text
            return str(made.json()["id"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def promote(seller, ids: list[str]) -> int:
    answers = await asyncio.gather(*(seller.client.post(f"/api/customers/{cid}/promote") for cid in ids))
    return sum(1 for a in answers if a.status_code == 200)


async def promotion_rows(faults, ids: list[str]) -> tuple[int, int]:
    """(outbox rows, of which published) of the promotions of `ids` at customers."""
    rows = await faults.db.fetchval(
        "customers", f"SELECT count(*) FROM outbox WHERE routing_key = '{PROMOTED}' AND {OF_CUSTOMERS}", ids
    )
    published = await faults.db.fetchval(
        "customers",
        f"SELECT count(*) FROM outbox WHERE routing_key = '{PROMOTED}' AND published_at IS NOT NULL"
        f" AND {OF_CUSTOMERS}",
        ids,
    )
    return rows, published


def uuids(ids: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]


@pytest.mark.timeout(120)
async def test_a_commit_whose_publisher_died_before_relaying_is_delivered_after_restart(
    stack, faults, new_user
):
    seller = await new_user(Role.SALESPERSON)
    ids = await prospects(seller, 50, "Chết trước khi gửi")
    stack.stop("customers")
    own = stack.env_overrides.get("customers", {})  # its database through its proxy
    stack.env_overrides["customers"] = {**own, "RELAY_ENABLED": "false"}  # as if it died before relaying
    stack.start("customers")
    stack.wait_ready(("customers",))
    try:
        sent = await promote(seller, ids)
        pending = await promotion_rows(faults, ids)
        stack.stop("customers", sig=signal.SIGKILL)
        await asyncio.sleep(2)
        early, _ = await faults.effects("accounting", uuids(ids))
    finally:
        stack.env_overrides["customers"] = own
        stack.start("customers")
        stack.wait_ready(("customers",))

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids(ids)), lambda e: e[0] >= 50, timeout=30, what="50 accounts"
    )
    _, confirmed = await promotion_rows(faults, ids)
    in_sales, _ = await faults.effects("sales", uuids(ids))
    report(
        "publisher died after commit",
        sent=sent,
        confirmed=confirmed,
        consumed=distinct,
        lost=sent - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        pending_at_the_crash=pending[0] - pending[1],
        accounts_before_the_restart=early,
        in_sales=in_sales,
    )
    assert sent == 50 and pending == (50, 0) and early == 0
    assert (confirmed, rows, distinct) == (50, 50, 50)
    await wait_for(
        lambda: faults.effects("sales", uuids(ids)), lambda e: e == (50, 50), timeout=20, what="sales"
    )


@pytest.mark.timeout(60)
async def test_a_rolled_back_transaction_publishes_nothing(stack, faults, new_user):
    """A commit that fails (injected in the database) takes its outbox row with it."""
    seller = await new_user(Role.SALESPERSON)
    [cid] = await prospects(seller, 1, "Giao dịch hoàn tác")
    await faults.db.execute(
        "customers",
        """
        CREATE OR REPLACE FUNCTION fault_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'fault injected: this commit fails'; END $$;
        CREATE CONSTRAINT TRIGGER fault_fail_commit AFTER INSERT ON outbox
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            WHEN (NEW.routing_key = 'customers.customer.promoted_to_traditional.v1')
            EXECUTE FUNCTION fault_fail_commit();
        """,
    )
    try:
        failed = await seller.client.post(f"/api/customers/{cid}/promote")
    finally:
        await faults.db.execute(
            "customers", "DROP TRIGGER fault_fail_commit ON outbox; DROP FUNCTION fault_fail_commit()"
        )
    await asyncio.sleep(2)  # a wrongly published event would have arrived by now
    rows, _ = await promotion_rows(faults, [cid])
    stage = (await seller.client.get(f"/api/customers/{cid}")).json()["lifecycle_stage"]
    accounts, _ = await faults.effects("accounting", uuids([cid]))
    report(
        "rolled back",
        sent=0,
        confirmed=rows,
        consumed=accounts,
        lost=0,
        duplicated=0,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        answer=failed.status_code,
        stage_after=stage,
    )
    assert failed.status_code >= 500
    assert (rows, accounts, stage) == (0, 0, "prospect")

    assert (await seller.client.post(f"/api/customers/{cid}/promote")).status_code == 200
    await wait_for(
        lambda: faults.effects("accounting", uuids([cid])), lambda e: e == (1, 1), timeout=20, what="account"
    )


@pytest.mark.timeout(150)
async def test_a_relay_that_dies_after_the_confirm_publishes_twice_with_one_effect(
    stack, faults, new_user, infra
):
    """The relay's commit (which marks the row published) is held in the database after
    the broker confirmed the message; the service is killed right then. The relay claims
    and marks its batch in one statement before it publishes, so the hold is a deferred
    constraint trigger: it sleeps at COMMIT, after the confirm, not at the UPDATE."""
    seller = await new_user(Role.SALESPERSON)
    [cid] = await prospects(seller, 1, "Chết sau xác nhận")
    skipped_before = await faults.metric("accounting", "crm_messages_duplicate_total")

    connection = await aio_pika.connect(infra.amqp_url)
    observer_name = f"{stack.namespace}.observer-{uuid.uuid4().hex[:6]}"
    async with connection:
        channel = await connection.channel()
        observer = await channel.declare_queue(observer_name, exclusive=True)
        await observer.bind(f"{stack.namespace}.events", routing_key=PROMOTED)

        await faults.db.execute(
            "customers",
            """
            CREATE OR REPLACE FUNCTION fault_hold_mark() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(120); RETURN NEW; END $$;
            CREATE CONSTRAINT TRIGGER fault_hold_mark AFTER UPDATE ON outbox
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                WHEN (OLD.published_at IS NULL AND NEW.published_at IS NOT NULL)
                EXECUTE FUNCTION fault_hold_mark();
            """,
        )
        held = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event = 'PgSleep'"
        )
        try:
            assert (await seller.client.post(f"/api/customers/{cid}/promote")).status_code == 200
            await wait_for(
                lambda: faults.db.fetchval("customers", held), lambda n: n >= 1, timeout=20, what="mark held"
            )
            confirmed_before_crash = (await observer.declare(timeout=5)).message_count
            stack.stop("customers", sig=signal.SIGKILL)
            # The dead process's session would hold the row until Postgres notices; end it now.
            await faults.db.execute(
                "customers",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event = 'PgSleep'",
            )
        finally:
            await faults.db.execute(
                "customers",
                "DROP TRIGGER IF EXISTS fault_hold_mark ON outbox; DROP FUNCTION fault_hold_mark()",
            )
            stack.start("customers")
            stack.wait_ready(("customers",))

        rows, published = await wait_for(
            lambda: promotion_rows(faults, [cid]), lambda r: r[1] == 1, timeout=30, what="the row marked"
        )
        copies = await wait_for(
            lambda: observer.declare(timeout=5), lambda d: d.message_count >= 2, timeout=20, what="a 2nd copy"
        )
        published_copies = copies.message_count
    await wait_for(
        lambda: faults.metric("accounting", "crm_messages_duplicate_total"),
        lambda n: n >= skipped_before + 1,
        timeout=30,
        what="accounting skipped the second copy",
    )
    accounts, distinct = await faults.effects("accounting", uuids([cid]))
    in_sales, _ = await faults.effects("sales", uuids([cid]))
    report(
        "relay died after confirm",
        sent=1,
        confirmed=published_copies,
        consumed=distinct,
        lost=1 - distinct,
        duplicated=accounts - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        copies_before_the_crash=confirmed_before_crash,
        skipped_by_the_inbox=int(
            await faults.metric("accounting", "crm_messages_duplicate_total") - skipped_before
        ),
    )
    assert (rows, published, confirmed_before_crash, published_copies) == (1, 1, 1, 2)
    assert (accounts, distinct, in_sales) == (1, 1, 1)


@pytest.mark.timeout(90)
async def test_an_unroutable_event_stays_pending_and_is_delivered_once_the_binding_returns(
    stack, faults, new_user, infra
):
    seller = await new_user(Role.SALESPERSON)
    [cid] = await prospects(seller, 1, "Không có đường")
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = f"{stack.namespace}.events"
        queues = [await channel.get_queue(f"{stack.namespace}.{s}") for s in PROMOTION_QUEUES]
        for queue in queues:
            await queue.unbind(exchange, routing_key=PROMOTED)
        try:
            assert (await seller.client.post(f"/api/customers/{cid}/promote")).status_code == 200
            refused = "SELECT attempts, last_error FROM outbox WHERE published_at IS NULL AND " + OF_CUSTOMERS
            await wait_for(
                lambda: faults.db.fetchval(
                    "customers", refused.replace("attempts, last_error", "attempts"), [cid]
                ),
                lambda n: (n or 0) >= 2,
                timeout=20,
                what="the relay tried twice",
            )
            last_error = await faults.db.fetchval(
                "customers", refused.replace("attempts, last_error", "last_error"), [cid]
            )
            pending_metric = await faults.metric("customers", "crm_outbox_pending")
            logged = "not published, will retry" in (stack.log_dir / "customers.log").read_text()
            early, _ = await faults.effects("accounting", uuids([cid]))
        finally:
            for queue in queues:
                await queue.bind(exchange, routing_key=PROMOTED)

    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids([cid])), lambda e: e[0] >= 1, timeout=40, what="delivered"
    )
    await asyncio.sleep(1)
    _, published = await promotion_rows(faults, [cid])
    attempts = await faults.db.fetchval(
        "customers", f"SELECT attempts FROM outbox WHERE routing_key = '{PROMOTED}' AND {OF_CUSTOMERS}", [cid]
    )
    handled = {s: (await faults.effects(s, uuids([cid])))[0] for s in SUBSCRIBERS}
    report(
        "unroutable",
        sent=1,
        confirmed=published,
        consumed=distinct,
        lost=1 - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        refused_tries=attempts,
        pending_metric_while_unbound=int(pending_metric),
    )
    assert "unroutable" in (last_error or ""), last_error
    assert logged and pending_metric >= 1 and early == 0
    assert (rows, distinct, published) == (1, 1, 1)
    assert handled == dict.fromkeys(SUBSCRIBERS, 1)
