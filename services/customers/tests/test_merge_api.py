"""Merging two customers over HTTP: the survivor keeps both histories, the merged one is
kept inactive pointing at it, CustomersMerged tells the others; only managers merge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crm_contracts import QuoteAccepted
from crm_testkit.service import Staff
from crm_testkit.values import tax_code

from .conftest import Harness
from .test_grading_api import ABCD as QUESTIONNAIRE

pytestmark = pytest.mark.integration

MERGED = "customers.customer.merged.v1"
PROMOTED = "customers.customer.promoted_to_traditional.v1"
UPDATED = "customers.customer.updated.v1"


async def timeline(harness: Harness, who: Staff, cid: str) -> list[dict]:
    response = await harness.http.get(f"/api/customers/{cid}/timeline", headers=who.headers)
    assert response.status_code == 200
    entries: list[dict] = response.json()
    return entries


async def merge(harness: Harness, who: Staff, kept: str, duplicate: str):  # type: ignore[no-untyped-def]
    return await harness.http.post(
        f"/api/customers/{kept}/merge", headers=who.headers, json={"duplicate_id": duplicate}
    )


async def test_the_survivor_takes_the_merged_customers_history_and_what_it_lacked(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    code = tax_code()
    kept = await harness.customer(seller, "Hòa Phát", phone="0912000111")
    gone = await harness.customer(
        seller, "Hoà Phát (cũ)", tax_code=code, legal_name="Công ty CP Hòa Phát", email="hp@x.vn"
    )
    for cid, name in ((kept["id"], "Lan"), (gone["id"], "Bình")):
        added = await harness.http.post(
            f"/api/customers/{cid}/contacts", headers=seller.headers, json={"name": name}
        )
        assert added.status_code == 201
    planned = await harness.http.post(
        f"/api/customers/{gone['id']}/activities",
        headers=seller.headers,
        json={"kind": "visit", "due_on": "2031-01-05"},
    )
    assert planned.status_code == 201
    gone_history = await timeline(harness, seller, gone["id"])

    response = await merge(harness, manager, kept["id"], gone["id"])
    assert response.status_code == 200, response.text
    survivor = response.json()
    assert survivor["id"] == kept["id"]
    assert (survivor["phone"], survivor["tax_code"], survivor["legal_name"], survivor["email"]) == (
        "0912000111",
        code,
        "Công ty CP Hòa Phát",
        "hp@x.vn",
    )
    merged = (await harness.http.get(f"/api/customers/{gone['id']}", headers=manager.headers)).json()
    assert merged["lifecycle_stage"] == "inactive" and merged["merged_into_id"] == kept["id"]

    contacts = (
        await harness.http.get(f"/api/customers/{kept['id']}/contacts", headers=seller.headers)
    ).json()
    assert [(c["name"], c["is_primary"]) for c in contacts] == [("Lan", True), ("Bình", False)]
    activities = (
        await harness.http.get(f"/api/customers/{kept['id']}/activities", headers=seller.headers)
    ).json()
    assert [a["id"] for a in activities["items"]] == [planned.json()["id"]]
    entries = await timeline(harness, seller, kept["id"])
    seen = {(e["kind"], e["at"], str(e["detail"])) for e in entries}
    # Both histories, on the survivor.
    assert {(e["kind"], e["at"], str(e["detail"])) for e in gone_history} <= seen
    assert [e["kind"] for e in entries].count("registered") == 2
    last = entries[-1]
    assert last["kind"] == "merged" and last["actor_id"] == str(manager.id)
    assert last["detail"]["merged_customer_id"] == gone["id"]
    assert last["detail"]["tax_code"] == [None, code]
    assert last["detail"]["moved"]["customer_contacts"] == 1
    assert [e["kind"] for e in await timeline(harness, manager, gone["id"])] == ["merged_into"]

    [event] = await harness.outbox(MERGED, kept["id"])
    assert event["data"]["merged_customer_id"] == gone["id"]
    assert event["data"]["owner_id"] == str(seller.id)
    [updated] = await harness.outbox(UPDATED, kept["id"])
    assert updated["data"]["tax_code"] == code
    # Its tax code moved with it: it is the survivor's alone now.
    again = await harness.http.post(
        "/api/customers",
        headers=seller.headers,
        json={"name": "Z", "tax_code": code, "confirm_duplicate": True},
    )
    assert again.status_code == 409 and again.json()["detail"]["customer"]["id"] == kept["id"]


async def test_grading_history_moves_and_a_traditional_merged_customer_promotes_the_survivor(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    questionnaire = await harness.http.post(
        "/api/questionnaires", headers=manager.headers, json=QUESTIONNAIRE
    )
    assert questionnaire.status_code == 201, questionnaire.text
    kept = await harness.customer(seller)
    gone = await harness.customer(seller)
    graded = await harness.http.post(
        f"/api/customers/{gone['id']}/assessments",
        headers=seller.headers,
        json={
            "questionnaire_id": questionnaire.json()["id"],
            "answers": {"company_size": "large", "annual_budget": 500},
        },
    )
    assert graded.status_code == 201, graded.text
    assert (
        await harness.http.post(f"/api/customers/{gone['id']}/promote", headers=seller.headers)
    ).status_code == 200

    response = await merge(harness, manager, kept["id"], gone["id"])
    assert response.status_code == 200, response.text
    assert response.json()["lifecycle_stage"] == "traditional"
    assert len(await harness.outbox(PROMOTED, kept["id"])) == 1
    assessments = (
        await harness.http.get(f"/api/customers/{kept['id']}/assessments", headers=seller.headers)
    ).json()
    assert [a["id"] for a in assessments["items"]] == [graded.json()["id"]]
    # Ungraded, the survivor takes the grade, and the copies hear of it.
    assert response.json()["grade"] == graded.json()["grade"] == "A"
    [regraded] = await harness.outbox("customers.customer.graded.v1", kept["id"])
    assert regraded["data"]["assessment_id"] == graded.json()["id"]


async def test_a_bad_merge_is_refused_and_changes_nothing(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    kept = await harness.customer(seller)
    gone = await harness.customer(seller)
    before = await harness.scalar("SELECT count(*) FROM customer_timeline")

    assert (await merge(harness, seller, kept["id"], gone["id"])).status_code == 403
    itself = await merge(harness, manager, kept["id"], kept["id"])
    assert itself.status_code == 422 and itself.json()["detail"][0]["loc"] == ["body", "duplicate_id"]
    assert (await merge(harness, manager, kept["id"], str(uuid.uuid4()))).status_code == 404
    assert (await merge(harness, manager, str(uuid.uuid4()), gone["id"])).status_code == 404
    bad = await harness.http.post(
        f"/api/customers/{kept['id']}/merge", headers=manager.headers, json={"duplicate_id": "x"}
    )
    assert bad.status_code == 422
    extra = await harness.http.post(
        f"/api/customers/{kept['id']}/merge",
        headers=manager.headers,
        json={"duplicate_id": gone["id"], "owner_id": str(other_seller.id)},
    )
    assert extra.status_code == 422
    assert await harness.scalar("SELECT count(*) FROM customer_timeline") == before
    assert (await harness.http.get(f"/api/customers/{gone['id']}", headers=seller.headers)).json() == gone
    assert await harness.outbox(MERGED, kept["id"]) == []

    assert (await merge(harness, manager, kept["id"], gone["id"])).status_code == 200
    twice = await merge(harness, manager, kept["id"], gone["id"])
    assert twice.status_code == 409 and "merged into" in twice.json()["detail"]
    into_merged = await merge(harness, manager, gone["id"], (await harness.customer(seller))["id"])
    assert into_merged.status_code == 409
    assert len(await harness.outbox(MERGED, kept["id"])) == 1


async def test_an_inactive_survivor_is_409(harness: Harness, seller: Staff, manager: Staff) -> None:
    kept = await harness.customer(seller)
    gone = await harness.customer(seller)
    await harness.http.post(
        f"/api/customers/{kept['id']}/deactivate", headers=manager.headers, json={"reason": "x"}
    )
    response = await merge(harness, manager, kept["id"], gone["id"])
    assert response.status_code == 409
    assert (await harness.http.get(f"/api/customers/{gone['id']}", headers=seller.headers)).json() == gone


async def test_a_quote_of_a_merged_customer_accepted_later_promotes_the_survivor(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    kept = await harness.customer(seller)
    gone = await harness.customer(seller)
    assert (await merge(harness, manager, kept["id"], gone["id"])).status_code == 200
    # Sales sent it before it heard of the merge.
    accepted = QuoteAccepted(
        quote_id=uuid.uuid4(),
        quote_number="Q-2026-000001",
        customer_id=uuid.UUID(gone["id"]),
        owner_id=seller.id,
        total=1_000_000,
        accepted_at=datetime.now(UTC),
    )
    envelope = await harness.publish(accepted, actor=seller.id)
    await harness.handled(envelope)
    survivor = (await harness.http.get(f"/api/customers/{kept['id']}", headers=seller.headers)).json()
    assert survivor["lifecycle_stage"] == "traditional"
    merged = (await harness.http.get(f"/api/customers/{gone['id']}", headers=manager.headers)).json()
    assert merged["lifecycle_stage"] == "inactive"
    assert "quote_accepted" in [e["kind"] for e in await timeline(harness, seller, kept["id"])]


async def test_the_merged_customers_planned_care_goes_to_the_survivors_owner(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    kept = await harness.customer(seller)
    gone = await harness.customer(other_seller)
    planned = await harness.http.post(
        f"/api/customers/{gone['id']}/activities",
        headers=other_seller.headers,
        json={"kind": "call", "due_on": "2031-02-01"},
    )
    assert planned.status_code == 201
    assert (await merge(harness, manager, kept["id"], gone["id"])).status_code == 200
    mine = (await harness.http.get(f"/api/customers/{kept['id']}/activities", headers=seller.headers)).json()
    assert [(a["id"], a["assignee_id"]) for a in mine["items"]] == [(planned.json()["id"], str(seller.id))]
    replanned = await harness.outbox("customers.activity.planned.v1", kept["id"])
    assert [e["data"]["previous_owner_id"] for e in replanned] == [str(other_seller.id)]
    assert (await timeline(harness, seller, kept["id"]))[-1]["detail"]["moved"]["reassigned_activities"] == 1
