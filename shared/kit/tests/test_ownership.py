"""`crm_kit.ownership`: the newest owner wins, whatever order the facts arrive in."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crm_kit import ownership
from crm_kit.db import Database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
async def owners_table(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(ownership.metadata.create_all)


async def test_each_order_of_the_same_facts_gives_the_newest_owner(database: Database) -> None:
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    facts = [(alice, T0), (bob, T0 + timedelta(hours=2)), (carol, T0 + timedelta(hours=1))]
    for order in itertools.permutations(facts):
        one_by_one, all_at_once = uuid.uuid4(), uuid.uuid4()
        async with database.transaction() as session:
            for owner, at in order:
                last = await ownership.record_owner(session, one_by_one, owner, at)
            together = await ownership.record_owners(session, [(all_at_once, o, at) for o, at in order])
        assert last == bob, order
        assert together == {all_at_once: bob}, order


async def test_many_customers_at_once_each_keep_their_newest_owner(database: Database) -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    known = [uuid.uuid4() for _ in range(5)]
    async with database.transaction() as session:
        await ownership.record_owners(session, [(c, new, T0 + timedelta(hours=1)) for c in known])
    fresh = [uuid.uuid4() for _ in range(5)]
    async with database.transaction() as session:
        result = await ownership.record_owners(
            session,
            [(c, old, T0) for c in known]  # older than what is recorded: no hand-back
            + [(c, old, T0) for c in fresh],
        )
    assert result == {**{c: new for c in known}, **{c: old for c in fresh}}


async def test_equally_new_facts_keep_the_first(database: Database) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    customer = uuid.uuid4()
    async with database.transaction() as session:
        assert await ownership.record_owners(session, [(customer, first, T0), (customer, second, T0)]) == {
            customer: first
        }
        assert await ownership.record_owner(session, customer, second, T0) == first


async def test_nothing_to_record_is_no_statement(database: Database) -> None:
    async with database.transaction() as session:
        assert await ownership.record_owners(session, []) == {}
