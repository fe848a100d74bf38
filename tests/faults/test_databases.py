"""A publishing service's database failing under it: customers' database in a black hole
(a partition: no reset, no FIN, not a byte through) while promotions are made, and the
relay's LISTEN connection killed with pg_terminate_backend (an administrator, a failover)
while every other connection stays fine."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from crm_kit.auth import Role

from .conftest import CUSTOMERS_DB_TIMEOUTS
from .test_outages import timed_promotions
from .test_publisher import OF_CUSTOMERS, promotion_rows, prospects, uuids
from .tools import PROMOTED, report, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

BLACKHOLE_S = 20
COMMAND_TIMEOUT_S = float(CUSTOMERS_DB_TIMEOUTS["DB_COMMAND_TIMEOUT_S"])
#: The relay's LISTEN backends in customers' database.
LISTENING = (
    "SELECT coalesce(array_agg(pid ORDER BY pid), '{}') FROM pg_stat_activity"
    " WHERE datname = current_database() AND query LIKE 'LISTEN %crm_outbox%'"
)


async def promote_until_done(seller, ids: list[str], *, timeout: float) -> int:
    """What a client does with a 503: try again, until each promotion is done. Tries made."""
    todo, tries = list(ids), 0
    deadline = time.monotonic() + timeout
    while todo and time.monotonic() < deadline:
        answers = await asyncio.gather(*(seller.client.post(f"/api/customers/{c}/promote") for c in todo))
        tries += len(todo)
        todo = [cid for cid, answer in zip(todo, answers, strict=True) if answer.status_code != 200]
        if todo:
            await asyncio.sleep(0.5)
    assert not todo, f"{len(todo)} promotions still refused after the database came back"
    return tries


async def publish_delays(faults, ids: list[str]) -> list[float]:
    """Seconds from each promotion's transaction to its relay's (commit-to-publish, and the
    transaction's own few milliseconds)."""
    delays = await faults.db.fetchval(
        "customers",
        "SELECT array_agg(EXTRACT(EPOCH FROM published_at - created_at)::float8) FROM outbox"
        f" WHERE routing_key = '{PROMOTED}' AND published_at IS NOT NULL AND {OF_CUSTOMERS}",
        ids,
    )
    return sorted(delays or [])


async def promoted_one_by_one(faults, seller, ids: list[str]) -> list[float]:
    """Promote each in turn, a moment apart (as users would), and wait for them published."""
    for cid in ids:
        answer = await seller.client.post(f"/api/customers/{cid}/promote")
        assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.3)
    await wait_for(
        lambda: promotion_rows(faults, ids),
        lambda r: r == (len(ids), len(ids)),
        timeout=10,
        what="the promotions published",
    )
    return await publish_delays(faults, ids)


@pytest.mark.timeout(240)
async def test_customers_database_in_a_black_hole_for_20s_while_promotions_are_made(stack, faults, new_user):
    seller = await new_user(Role.SALESPERSON)
    ids = await prospects(seller, 20, "Hố đen")

    faults.customers_postgres.blackhole()
    started = time.monotonic()
    try:
        answers = await timed_promotions(seller, ids)
        answered_in_s = time.monotonic() - started
        await asyncio.sleep(max(0.0, BLACKHOLE_S - answered_in_s))
    finally:
        faults.customers_postgres.heal()
    healed_at = time.monotonic()

    refused = [cid for cid, (code, _) in zip(ids, answers, strict=True) if code != 200]
    tries_after = await promote_until_done(seller, refused, timeout=60)
    done_after_s = time.monotonic() - healed_at
    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids(ids)),
        lambda e: e[0] >= 20,
        timeout=60,
        what="20 accounts after the database came back",
    )
    in_outbox, published = await promotion_rows(faults, ids)
    delays = await publish_delays(faults, ids)
    codes = sorted({code for code, _ in answers})
    slowest = max(s for _, s in answers)
    report(
        "publisher's database in a black hole 20s",
        sent=20,
        confirmed=published,
        consumed=distinct,
        lost=in_outbox - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        answers_while_partitioned=codes,
        slowest_answer_s=round(slowest, 1),
        command_timeout_s=COMMAND_TIMEOUT_S,
        retries_after=tries_after,
        all_done_after_s=round(done_after_s, 1),
        outbox_rows=in_outbox,
        p50_commit_to_publish_s=round(statistics.median(delays), 3),
    )
    # An answer in a few command timeouts (the statement's, the cancel's, a new
    # connection's), never a request hanging for as long as the partition lasts.
    assert slowest < 4 * COMMAND_TIMEOUT_S < BLACKHOLE_S, f"a request took {slowest:.1f}s"
    assert set(codes) <= {200, 503}, codes
    # One row per promotion (a retry of one done already is a no-op), every one delivered once.
    assert (in_outbox, published) == (20, 20)
    assert (rows, distinct) == (20, 20)
    assert await faults.depth("accounting", ".dlq") == 0


@pytest.mark.timeout(120)
async def test_after_the_relays_listen_is_killed_commit_to_publish_is_back_under_100ms(
    stack, faults, new_user
):
    seller = await new_user(Role.SALESPERSON)
    ids = await prospects(seller, 12, "Nghe lại")
    before = await promoted_one_by_one(faults, seller, ids[:6])

    killed = await faults.db.fetchval("customers", LISTENING)
    assert killed, "the relay LISTENs"
    await faults.db.execute(
        "customers", "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS t(pid)", killed
    )
    await asyncio.sleep(1.0)  # shortly after: the relay's next pass at most

    after = await promoted_one_by_one(faults, seller, ids[6:])
    listening = await faults.db.fetchval("customers", LISTENING)
    rows, distinct = await wait_for(
        lambda: faults.effects("accounting", uuids(ids)), lambda e: e[0] >= 12, timeout=20, what="12 accounts"
    )
    report(
        "relay's LISTEN killed",
        sent=12,
        confirmed=len(before) + len(after),
        consumed=distinct,
        lost=12 - distinct,
        duplicated=rows - distinct,
        dead_lettered=await faults.depth("accounting", ".dlq"),
        killed=list(killed),
        listening_again=list(listening),
        p50_commit_to_publish_before_s=round(statistics.median(before), 3),
        p50_after_s=round(statistics.median(after), 3),
        slowest_after_s=round(max(after), 3),
    )
    # Polling (once a second) would make it about half a second.
    assert statistics.median(after) < 0.1, after
    assert listening and not set(listening) & set(killed), (killed, listening)
    assert (rows, distinct) == (12, 12)
