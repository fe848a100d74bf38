"""`directory.CachedStaffCheck`: asks the database once per user, and again at once
after a deactivation committed by any process on the same database."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from crm_kit import directory
from crm_kit.auth import Role, Standing, User
from crm_kit.db import Database

pytestmark = pytest.mark.integration


class Answers:
    """A staff check with an answer per user, counting how often it is asked."""

    def __init__(self) -> None:
        self.inactive: set[uuid.UUID] = set()
        self.asked: Counter[uuid.UUID] = Counter()

    async def __call__(self, user_id: uuid.UUID) -> Standing:
        self.asked[user_id] += 1
        return Standing(active=user_id not in self.inactive)


async def deactivate(database: Database, answers: Answers, user_id: uuid.UUID) -> None:
    answers.inactive.add(user_id)
    async with database.transaction() as session:
        await directory.announce_deactivation(session)


async def test_an_answer_is_kept_until_a_deactivation_is_announced(database: Database, eventually) -> None:
    answers = Answers()
    cache = directory.CachedStaffCheck(answers, database)
    await cache.start()
    try:
        user = uuid.uuid4()
        assert [(await cache(user)).active for _ in range(5)] == [True] * 5
        assert answers.asked[user] == 1

        await deactivate(database, answers, user)

        await eventually(
            lambda: cache(user), lambda standing: not standing.active, what="the deactivation seen"
        )
        assert not (await cache(user)).active
    finally:
        await cache.stop()


async def test_an_answer_read_while_a_deactivation_arrives_is_not_kept(database: Database) -> None:
    answers = Answers()
    cache = directory.CachedStaffCheck(answers, database)
    user = uuid.uuid4()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(user_id: uuid.UUID) -> Standing:
        answer = await answers(user_id)  # read before the deactivation...
        started.set()
        await release.wait()
        return answer

    cache.check = slow
    await cache.start()
    try:
        reading = asyncio.create_task(cache(user))
        await started.wait()
        cache._forget()  # ...which is announced while the answer is on its way
        release.set()
        assert (await reading).active
        cache.check = answers
        answers.inactive.add(user)
        assert not (await cache(user)).active  # asked again, not the stale answer
    finally:
        await cache.stop()


async def test_without_its_listener_it_keeps_nothing(database: Database) -> None:
    answers = Answers()
    cache = directory.CachedStaffCheck(answers, Database("postgresql://postgres@127.0.0.1:1/none"))
    await cache.start()  # cannot LISTEN: no database there
    user = uuid.uuid4()
    assert [(await cache(user)).active for _ in range(3)] == [True] * 3
    assert answers.asked[user] == 3
    await cache.stop()


def test_a_token_is_refused_once_its_account_left_or_changed_role() -> None:
    user = User(id=uuid.uuid4(), username="lan", role=Role.SALES_MANAGER)
    assert Standing().refusal(user) is None  # not heard of yet: the token may act
    assert Standing(role="sales_manager").refusal(user) is None
    assert Standing(active=False, role="sales_manager").refusal(user) == "account deactivated"
    refusal = Standing(role="salesperson").refusal(user)
    assert refusal is not None and "role changed" in refusal


async def test_a_change_committed_in_this_process_is_seen_by_its_next_request_without_waiting_for_the_notify(
    database: Database,
) -> None:
    """The process that commits a deactivation, a new role or a logout refuses the old
    token from its very next request: its own NOTIFY may still be on its way (the
    gateway answered a demotion and then took the demoted token, under load)."""
    answers = Answers()
    cache = directory.CachedStaffCheck(answers, database)
    await cache.start()
    cache._listener.on_notify = lambda: None  # the NOTIFY not delivered yet
    try:
        user = uuid.uuid4()
        assert (await cache(user)).active
        await deactivate(database, answers, user)
        assert not (await cache(user)).active
        assert answers.asked[user] == 2
    finally:
        await cache.stop()
