"""`crm_kit.customer_copy`: each part of a customer's copy keeps its newest fact,
whatever order the events arrive in, one by one or many at once."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
    Envelope,
)
from crm_kit import customer_copy
from crm_kit.customer_copy import Fact, Stage
from crm_kit.db import Database
from crm_kit.handlers import Handlers

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture(scope="module", autouse=True)
async def copy_table(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(customer_copy.metadata.create_all)


def owner_fact(customer: uuid.UUID, owner: uuid.UUID | None, when: datetime) -> Fact:
    return Fact(customer, when, tells_owner=True, owner_id=owner)


async def test_each_order_of_the_same_facts_gives_the_newest_owner(database: Database) -> None:
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    facts = [(alice, T0), (bob, at(2)), (carol, at(1))]
    for order in itertools.permutations(facts):
        one_by_one, all_at_once = uuid.uuid4(), uuid.uuid4()
        async with database.transaction() as session:
            for owner, when in order:
                last = await customer_copy.record(session, [owner_fact(one_by_one, owner, when)])
            together = await customer_copy.record(session, [owner_fact(all_at_once, o, w) for o, w in order])
        assert last[one_by_one].owner_id == bob, order
        assert together[all_at_once].owner_id == bob, order


async def test_many_customers_at_once_each_keep_their_newest_owner(database: Database) -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    known = [uuid.uuid4() for _ in range(5)]
    async with database.transaction() as session:
        await customer_copy.record(session, [owner_fact(c, new, at(1)) for c in known])
    fresh = [uuid.uuid4() for _ in range(5)]
    async with database.transaction() as session:
        result = await customer_copy.record(
            session,
            [owner_fact(c, old, T0) for c in known]  # older than what is recorded: no hand-back
            + [owner_fact(c, old, T0) for c in fresh],
        )
    assert {c: row.owner_id for c, row in result.items()} == {
        **{c: new for c in known},
        **{c: old for c in fresh},
    }


async def test_equally_new_facts_keep_the_first(database: Database) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    customer = uuid.uuid4()
    async with database.transaction() as session:
        rows = await customer_copy.record(
            session, [owner_fact(customer, first, T0), owner_fact(customer, second, T0)]
        )
        assert rows[customer].owner_id == first
        rows = await customer_copy.record(session, [owner_fact(customer, second, T0)])
        assert rows[customer].owner_id == first


async def test_nothing_to_record_is_no_statement(database: Database) -> None:
    async with database.transaction() as session:
        assert await customer_copy.record(session, []) == {}


def registered(customer: uuid.UUID, owner: uuid.UUID, *, grade: str | None = None) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer,
        name="Hòa Bình",
        lifecycle_stage="prospect",
        owner_id=owner,
        region_code="01",
        grade=grade,
    )


def promoted(customer: uuid.UUID, owner: uuid.UUID, when: datetime) -> CustomerPromotedToTraditional:
    return CustomerPromotedToTraditional(
        customer_id=customer, name="Hòa Bình JSC", owner_id=owner, region_code="79", promoted_at=when
    )


def updated(customer: uuid.UUID, when: datetime, name: str = "Hòa Bình Group") -> CustomerUpdated:
    return CustomerUpdated(customer_id=customer, name=name, region_code="48", updated_at=when)


def graded(customer: uuid.UUID, grade: str, when: datetime) -> CustomerGraded:
    return CustomerGraded(
        customer_id=customer,
        assessment_id=uuid.uuid4(),
        questionnaire_id=uuid.uuid4(),
        questionnaire_version=1,
        score=72.5,
        grade=grade,
        graded_at=when,
    )


async def every_order(database: Database, facts: list[Fact]) -> list[Any]:
    """The row each order of `facts` leaves, recorded one by one (a fresh customer each)."""
    outcomes = []
    for order in itertools.permutations(facts):
        customer = uuid.uuid4()
        async with database.transaction() as session:
            for fact in order:
                rows = await customer_copy.record(session, [_for(customer, fact)])
        outcomes.append(rows[customer])
    return outcomes


def _for(customer: uuid.UUID, fact: Fact) -> Fact:
    return Fact(
        customer,
        fact.as_of,
        details=fact.details,
        tells_owner=fact.tells_owner,
        owner_id=fact.owner_id,
        stage=fact.stage,
        grade=fact.grade,
        score=fact.score,
        grade_rule=fact.grade_rule,
    )


async def test_registration_promotion_edit_and_deactivation_in_any_order_end_the_same(
    database: Database,
) -> None:
    anyone, seller, successor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    facts = [
        Fact.of_registration(registered(anyone, seller, grade="B"), T0),
        Fact.of_promotion(promoted(anyone, seller, at(1))),
        Fact.of_update(updated(anyone, at(2))),
        Fact.of_reassignment(
            CustomerReassigned(customer_id=anyone, to_owner_id=successor, reassigned_at=at(3))
        ),
        Fact.of_deactivation(CustomerDeactivated(customer_id=anyone, reason="closed", deactivated_at=at(4))),
        Fact.of_grading(graded(anyone, "A", at(5))),
    ]
    outcomes = await every_order(database, facts)
    assert len(outcomes) == 720
    for row in outcomes:
        assert (row.name, row.region_code, row.details_as_of) == ("Hòa Bình Group", "48", at(2))
        assert (row.owner_id, row.owner_as_of) == (successor, at(3))
        assert (row.lifecycle_stage, row.stage_as_of) == (Stage.INACTIVE, at(4))
        assert (row.grade, row.score, row.graded_at) == ("A", 72.5, at(5))


async def test_a_promotion_after_a_deactivation_brings_the_customer_back(database: Database) -> None:
    anyone, seller = uuid.uuid4(), uuid.uuid4()
    facts = [
        Fact.of_deactivation(CustomerDeactivated(customer_id=anyone, reason="closed", deactivated_at=at(1))),
        Fact.of_promotion(promoted(anyone, seller, at(2))),
    ]
    assert {row.lifecycle_stage for row in await every_order(database, facts)} == {Stage.TRADITIONAL}


async def test_a_registrations_grade_counts_only_while_no_grading_is_known(database: Database) -> None:
    anyone, seller = uuid.uuid4(), uuid.uuid4()
    facts = [
        Fact.of_registration(registered(anyone, seller, grade="C"), at(2)),
        Fact.of_grading(graded(anyone, "A", T0)),
    ]
    assert {row.grade for row in await every_order(database, facts)} == {"A"}
    alone = uuid.uuid4()
    async with database.transaction() as session:
        rows = await customer_copy.record(
            session, [Fact.of_registration(registered(alone, seller, grade="C"), T0)]
        )
    assert (rows[alone].grade, rows[alone].graded_at) == ("C", None)


async def test_an_owner_alone_makes_a_placeholder_that_the_registration_completes(database: Database) -> None:
    customer, seller, successor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with database.transaction() as session:
        first = await customer_copy.record(session, [owner_fact(customer, successor, at(1))])
        assert (first[customer].name, first[customer].lifecycle_stage) == ("", Stage.PROSPECT)
        rows = await customer_copy.record(session, [Fact.of_registration(registered(customer, seller), T0)])
    assert (rows[customer].name, rows[customer].owner_id) == ("Hòa Bình", successor)
    async with database.transaction() as session:
        again = await customer_copy.known(session, customer)
    assert again is not None and again.region_code == "01"


async def test_the_standard_handlers_record_and_hand_the_row_to_the_service(database: Database) -> None:
    handlers = Handlers()
    applied: list[Any] = []

    async def apply(session: Any, rows: Any) -> None:
        applied.extend(rows)

    customer_copy.register(handlers, apply=apply, graded=True)
    assert sorted(handlers.by_key) == sorted(
        c.routing_key
        for c in (CustomerUpdated, CustomerReassigned, CustomerDeactivated, CustomersMerged, CustomerGraded)
    )
    customer, successor = uuid.uuid4(), uuid.uuid4()
    events = [
        updated(customer, at(1)),
        CustomerReassigned(customer_id=customer, to_owner_id=successor, reassigned_at=at(1)),
        CustomerDeactivated(customer_id=customer, reason="closed", deactivated_at=at(1)),
        graded(customer, "B", at(1)),
    ]
    async with database.transaction() as session:
        for event in events:
            handler = handlers.by_key[event.routing_key]
            assert handler.one is not None
            await handler.one(session, event, Envelope.wrap(event, correlation_id="copy"))
    last = applied[-1]
    assert [row.customer_id for row in applied] == [customer] * 4
    assert (last.name, last.owner_id, last.lifecycle_stage, last.grade) == (
        "Hòa Bình Group",
        successor,
        Stage.INACTIVE,
        "B",
    )


def test_without_graded_only_the_four_standard_handlers_are_registered() -> None:
    handlers = Handlers()
    customer_copy.register(handlers)
    assert len(handlers.by_key) == 4


async def test_the_b2b_details_travel_with_the_name_newest_first(database: Database) -> None:
    customer = uuid.uuid4()
    older = CustomerUpdated(
        customer_id=customer, name="Old", tax_code="0100233488", legal_name="Cũ", updated_at=at(1)
    )
    newer = CustomerUpdated(
        customer_id=customer,
        name="New",
        tax_code="0314409058-002",
        legal_name="Công ty CP Mới",
        billing_address="1 Lê Lợi",
        updated_at=at(2),
    )
    async with database.transaction() as session:
        await customer_copy.record(session, [Fact.of_update(newer)])
        known = await customer_copy.record(session, [Fact.of_update(older)])
    row = known[customer]
    assert (row.name, row.tax_code, row.legal_name, row.billing_address) == (
        "New",
        "0314409058-002",
        "Công ty CP Mới",
        "1 Lê Lợi",
    )


async def test_a_merge_makes_the_copy_inactive_and_lookups_lead_to_the_survivor(database: Database) -> None:
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    merges = [
        CustomersMerged(customer_id=second, merged_customer_id=first, merged_at=at(1)),
        CustomersMerged(customer_id=third, merged_customer_id=second, merged_at=at(2)),
    ]
    seen: list[uuid.UUID] = []

    async def repoint(session: Any, event: CustomersMerged) -> None:
        seen.append(event.merged_customer_id)

    handlers = Handlers()
    customer_copy.register(handlers, merged=repoint)
    handler = handlers.by_key[CustomersMerged.routing_key].one
    assert handler is not None
    async with database.transaction() as session:
        for event in [*merges, merges[0]]:  # the second delivery of the first changes nothing
            await handler(session, event, Envelope.wrap(event, correlation_id="t"))
        # A later registration (events arrive in any order) does not undo the merge.
        late = CustomerRegistered(customer_id=first, name="First", lifecycle_stage="prospect")
        await customer_copy.record(session, [Fact.of_registration(late, at(0))])
        row = await customer_copy.known(session, first)
        assert row is not None
        assert (row.lifecycle_stage, row.merged_into_id, row.merged_at) == (Stage.INACTIVE, second, at(1))
        assert await customer_copy.survivor(session, first) == third
        assert await customer_copy.survivor(session, third) == third
        unknown = uuid.uuid4()
        assert await customer_copy.survivor(session, unknown) == unknown
    assert seen == [first, second, first]
