"""The credit policy: a new account's limit by grade and channel kind, cash only, the
policy re-applied, a limit that follows a new grade, one set by hand that stays, and the
history of every change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import ChannelChanged, CreditChecked, CustomerGraded, CustomerPromotedToTraditional
from crm_kit.auth import Role

from .test_integration import DEFAULT_LIMIT, Books, answered, quote_submitted

# The fixture, by name.
from .test_integration import books as books

pytestmark = pytest.mark.integration

POLICY = {
    "rules": [
        {"grade": "A", "credit_limit": 500_000_000},
        {"grade": "A", "channel_kind": "project", "credit_limit": 900_000_000},
        {"channel_kind": "online", "cash_only": True},
        {"grade": "D", "cash_only": True},
        {"credit_limit": 20_000_000},
    ]
}


def graded(customer_id: uuid.UUID, grade: str, at: datetime | None = None) -> CustomerGraded:
    return CustomerGraded(
        customer_id=customer_id,
        assessment_id=uuid.uuid4(),
        questionnaire_id=uuid.uuid4(),
        questionnaire_version=1,
        score=80.0,
        grade=grade,
        graded_at=at or datetime.now(UTC),
    )


def channel(kind: str) -> ChannelChanged:
    return ChannelChanged(
        channel_id=uuid.uuid4(), name=f"Kênh {kind}", kind=kind, active=True, changed_at=datetime.now(UTC)
    )


async def customer(
    books: Books, *, grade: str | None = None, channel_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """A promoted customer, graded first if `grade`, and its account."""
    customer_id = uuid.uuid4()
    if grade is not None:
        await books.handled(await books.publish(graded(customer_id, grade)))
    await books.handled(
        await books.publish(
            CustomerPromotedToTraditional(
                customer_id=customer_id,
                name=f"Công ty {customer_id.hex[:6]}",
                channel_id=channel_id,
                promoted_at=datetime.now(UTC),
            )
        )
    )
    return await books.account(customer_id)


async def history(books: Books, customer_id: str) -> list[dict[str, Any]]:
    response = await books.http.get(
        f"/api/accounts/{customer_id}/credit-limit-history", headers=books.headers(Role.SALES_MANAGER)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
async def policy(books: Books) -> dict[str, Any]:
    accountant = books.headers(Role.ACCOUNTANT)
    put = await books.http.put("/api/credit-policy", headers=accountant, json=POLICY)
    assert put.status_code == 200, put.text
    body: dict[str, Any] = put.json()
    return body


async def test_without_a_policy_the_setting_is_the_limit(books: Books) -> None:
    got = await books.http.get("/api/credit-policy", headers=books.headers(Role.SALES_MANAGER))
    assert got.status_code == 200
    if not got.json()["rules"]:  # before any other test of this module set one
        assert got.json()["default_credit_limit"] == DEFAULT_LIMIT
        account = await customer(books)
        assert (account["credit_limit"], account["credit_limit_source"]) == (DEFAULT_LIMIT, "policy")


async def test_a_new_account_takes_the_most_specific_rule(books: Books, policy: dict[str, Any]) -> None:
    assert len(policy["rules"]) == 5
    project, online = channel("project"), channel("online")
    await books.handled(await books.publish(project), await books.publish(online))

    a = await customer(books, grade="A")
    a_project = await customer(books, grade="A", channel_id=project.channel_id)
    ungraded = await customer(books)
    b_online = await customer(books, grade="B", channel_id=online.channel_id)

    assert (a["credit_limit"], a["grade"], a["credit_limit_source"]) == (500_000_000, "A", "policy")
    assert a_project["credit_limit"] == 900_000_000
    assert (ungraded["credit_limit"], ungraded["cash_only"]) == (20_000_000, False)
    assert (b_online["credit_limit"], b_online["cash_only"]) == (0, True)
    [opened] = await history(books, a["customer_id"])
    assert (opened["action"], opened["before"], opened["after"]["credit_limit"]) == (
        "opened",
        {},
        500_000_000,
    )


async def test_a_cash_only_customer_fails_every_credit_check(books: Books, policy: dict[str, Any]) -> None:
    account = await customer(books, grade="D")
    assert account["cash_only"] is True
    quote = quote_submitted(uuid.UUID(account["customer_id"]), 1_000)
    await books.publish(quote)
    [(_, passed, *_)] = await answered(books, quote.quote_id)
    assert passed is False
    checks = await books.http.get(
        "/api/credit-checks", headers=books.headers(Role.ACCOUNTANT), params={"quote_id": str(quote.quote_id)}
    )
    [check] = checks.json()["items"]
    assert (check["passed"], check["reason"], check["credit_limit"]) == (False, "cash only", 0)
    [event] = await books.emitted(CreditChecked, quote_id=quote.quote_id)
    assert event["data"]["reason"] == "cash only"

    # A prospect (no account) of a cash-only grade is refused the same way.
    prospect = uuid.uuid4()
    await books.handled(await books.publish(graded(prospect, "D")))
    other = quote_submitted(prospect, 1_000)
    await books.publish(other)
    [(_, passed, *_)] = await answered(books, other.quote_id)
    assert passed is False


async def test_a_bad_policy_is_refused_and_changes_nothing(books: Books, policy: dict[str, Any]) -> None:
    accountant = books.headers(Role.ACCOUNTANT)
    bad_bodies = [
        # The same scope twice: the second is named.
        ({"rules": [*POLICY["rules"], {"grade": "A", "credit_limit": 1}]}, ["body", "rules", 5]),
        # No fallback.
        ({"rules": [{"grade": "A", "credit_limit": 1}]}, ["body", "rules"]),
        # A rule with neither a limit nor cash only.
        ({"rules": [{"grade": "B"}, {"credit_limit": 1}]}, ["body", "rules", 0]),
        # A limit on a cash-only rule, a negative limit, an unknown channel kind.
        ({"rules": [{"credit_limit": 5, "cash_only": True}]}, ["body", "rules", 0]),
        ({"rules": [{"credit_limit": -1}]}, ["body", "rules", 0, "credit_limit"]),
        (
            {"rules": [{"channel_kind": "shop", "credit_limit": 1}, {"credit_limit": 1}]},
            ["body", "rules", 0, "channel_kind"],
        ),
    ]
    for body, loc in bad_bodies:
        refused = await books.http.put("/api/credit-policy", headers=accountant, json=body)
        assert refused.status_code == 422, (body, refused.text)
        locs = [d["loc"][: len(loc)] for d in refused.json()["detail"]]
        assert loc in locs, (body, refused.json())
    salesperson = await books.http.put(
        "/api/credit-policy", headers=books.headers(Role.SALES_MANAGER), json=POLICY
    )
    assert salesperson.status_code == 403
    after = await books.http.get("/api/credit-policy", headers=accountant)
    assert after.json()["rules"] == policy["rules"]


async def test_the_limit_follows_a_new_grade_unless_set_by_hand(books: Books, policy: dict[str, Any]) -> None:
    accountant = books.headers(Role.ACCOUNTANT)
    follows = await customer(books, grade="B")
    by_hand = await customer(books, grade="B")
    assert follows["credit_limit"] == by_hand["credit_limit"] == 20_000_000

    refused = await books.http.patch(
        f"/api/accounts/{by_hand['customer_id']}", headers=accountant, json={"reason": "no limit"}
    )
    assert refused.status_code == 422
    patched = await books.http.patch(
        f"/api/accounts/{by_hand['customer_id']}",
        headers=accountant,
        json={"credit_limit": 75_000_000, "reason": "bank guarantee"},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["credit_limit"], patched.json()["credit_limit_source"]) == (75_000_000, "manual")

    later = datetime.now(UTC) + timedelta(seconds=1)
    for account in (follows, by_hand):
        await books.handled(await books.publish(graded(uuid.UUID(account["customer_id"]), "A", later)))
    assert (await books.account(uuid.UUID(follows["customer_id"])))["credit_limit"] == 500_000_000
    kept = await books.account(uuid.UUID(by_hand["customer_id"]))
    assert (kept["credit_limit"], kept["credit_limit_source"], kept["grade"]) == (75_000_000, "manual", "A")

    regrade, _opened = await history(books, follows["customer_id"])
    assert (regrade["action"], regrade["before"]["credit_limit"], regrade["after"]["credit_limit"]) == (
        "regrade",
        20_000_000,
        500_000_000,
    )
    assert (regrade["before"]["grade"], regrade["after"]["grade"], regrade["actor_id"]) == ("B", "A", None)
    manual, _ = await history(books, by_hand["customer_id"])
    assert (manual["action"], manual["reason"]) == ("manual", "bank guarantee")
    assert (manual["before"]["credit_limit"], manual["after"]["credit_limit"]) == (20_000_000, 75_000_000)
    assert manual["after"]["credit_limit_source"] == "manual"
    assert manual["actor_id"] is not None
    trail = await books.http.get(f"/api/accounts/{by_hand['customer_id']}/audit", headers=accountant)
    assert trail.status_code == 200
    assert trail.json()["items"][0]["id"] == manual["id"]
    missing = await books.http.get(f"/api/accounts/{uuid.uuid4()}/audit", headers=accountant)
    assert missing.status_code == 404

    # Given back to the policy, it takes the policy's limit for its grade now.
    back = await books.http.patch(
        f"/api/accounts/{by_hand['customer_id']}", headers=accountant, json={"follow_policy": True}
    )
    assert back.status_code == 200, back.text
    assert (back.json()["credit_limit_source"], back.json()["credit_limit"]) == ("policy", 500_000_000)


async def test_applying_the_policy_moves_only_limits_that_follow_it(
    books: Books, policy: dict[str, Any]
) -> None:
    accountant = books.headers(Role.ACCOUNTANT)
    follows = await customer(books, grade="C")
    by_hand = await customer(books, grade="C")
    await books.http.patch(
        f"/api/accounts/{by_hand['customer_id']}", headers=accountant, json={"credit_limit": 1_000}
    )
    changed_policy = {"rules": [*POLICY["rules"], {"grade": "C", "credit_limit": 33_000_000}]}
    assert (
        await books.http.put("/api/credit-policy", headers=accountant, json=changed_policy)
    ).status_code == 200
    # Replacing the policy alone moves nothing.
    assert (await books.account(uuid.UUID(follows["customer_id"])))["credit_limit"] == 20_000_000

    applied = await books.http.post("/api/credit-policy/apply", headers=accountant)
    assert applied.status_code == 200, applied.text
    assert applied.json()["changed"] >= 1
    assert (await books.account(uuid.UUID(follows["customer_id"])))["credit_limit"] == 33_000_000
    assert (await books.account(uuid.UUID(by_hand["customer_id"])))["credit_limit"] == 1_000
    again = await books.http.post("/api/credit-policy/apply", headers=accountant)
    assert again.json()["changed"] == 0
    [entry, *_] = await history(books, follows["customer_id"])
    assert (entry["action"], entry["after"]["credit_limit"]) == ("policy", 33_000_000)

    changes = await books.http.get("/api/credit-policy/history", headers=accountant)
    newest = changes.json()["items"][0]
    assert {"grade": "C", "channel_kind": None, "credit_limit": 33_000_000, "cash_only": False} in newest[
        "after"
    ]["rules"]
    assert (await books.http.put("/api/credit-policy", headers=accountant, json=POLICY)).status_code == 200
