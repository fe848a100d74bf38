"""Questionnaires, their versions, assessments and the re-grading schedule over HTTP."""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

GRADED = "customers.customer.graded.v1"

ABCD: dict[str, Any] = {
    "name": "Đánh giá khách hàng tiềm năng",
    "scheme": {
        "kind": "abcd",
        "grades": [
            {"min_score": 80, "review_interval_days": 90, "care_cadence_days": 7},
            {"min_score": 60, "review_interval_days": 120, "care_cadence_days": 14},
            {"min_score": 40, "review_interval_days": 180, "care_cadence_days": 30},
            {"min_score": 0, "review_interval_days": 365, "care_cadence_days": 60},
        ],
    },
    "criteria": [
        {
            "key": "company_size",
            "question": "Quy mô doanh nghiệp?",
            "weight": 3,
            "options": [
                {"value": "large", "label": "Trên 200 nhân viên", "points": 100},
                {"value": "medium", "label": "50-200", "points": 60},
                {"value": "small", "label": "Dưới 50", "points": 20},
            ],
        },
        {
            "key": "annual_budget",
            "question": "Ngân sách mua thiết bị hằng năm (triệu đồng)?",
            "weight": 1,
            "range": {"min": 0, "max": 1000},
        },
    ],
}


def today(harness: Harness) -> date:
    return harness.settings.today()


async def create(harness: Harness, who: Staff, body: dict[str, Any] = ABCD) -> dict[str, Any]:
    response = await harness.http.post("/api/questionnaires", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def assess(harness: Harness, who: Staff, cid: str, qid: str, answers: dict[str, Any]) -> Any:
    return await harness.http.post(
        f"/api/customers/{cid}/assessments",
        headers=who.headers,
        json={"questionnaire_id": qid, "answers": answers},
    )


async def test_a_manager_creates_a_questionnaire_and_a_new_version_of_it(
    harness: Harness, manager: Staff, seller: Staff
) -> None:
    v1 = await create(harness, manager)
    assert v1["version"] == 1 and v1["family_id"] == v1["id"] and v1["latest"] is True
    assert [g["name"] for g in v1["scheme"]["grades"]] == ["A", "B", "C", "D"]

    changed = copy.deepcopy(ABCD)
    changed["criteria"][1]["weight"] = 2
    response = await harness.http.post(
        f"/api/questionnaires/{v1['id']}/versions", headers=manager.headers, json=changed
    )
    assert response.status_code == 201, response.text
    v2 = response.json()
    assert (v2["version"], v2["family_id"], v2["latest"]) == (2, v1["id"], True)
    v3 = (
        await harness.http.post(
            f"/api/questionnaires/{v1['id']}/versions", headers=manager.headers, json=ABCD
        )
    ).json()
    assert v3["version"] == 3  # from any version of the family: the next number

    old = (await harness.http.get(f"/api/questionnaires/{v1['id']}", headers=seller.headers)).json()
    assert old["latest"] is False and old["superseded_by"] == v2["id"]
    assert old["criteria"][1]["weight"] == 1  # unchanged: versions are read-only

    latest = (await harness.http.get("/api/questionnaires?limit=200", headers=seller.headers)).json()
    family = [q for q in latest["items"] if q["family_id"] == v1["id"]]
    assert [q["version"] for q in family] == [3]
    every = (
        await harness.http.get("/api/questionnaires?all_versions=true&limit=200", headers=seller.headers)
    ).json()
    assert sorted(q["version"] for q in every["items"] if q["family_id"] == v1["id"]) == [1, 2, 3]


async def test_versions_made_at_the_same_time_each_get_their_own_number(
    harness: Harness, manager: Staff
) -> None:
    v1 = await create(harness, manager)
    answers = await asyncio.gather(
        *(
            harness.http.post(f"/api/questionnaires/{v1['id']}/versions", headers=manager.headers, json=ABCD)
            for _ in range(4)
        )
    )
    assert [a.status_code for a in answers] == [201] * 4
    assert sorted(a.json()["version"] for a in answers) == [2, 3, 4, 5]
    every = (
        await harness.http.get("/api/questionnaires?all_versions=true&limit=200", headers=manager.headers)
    ).json()["items"]
    family = [q for q in every if q["family_id"] == v1["id"]]
    assert [q["version"] for q in family if q["latest"]] == [5]


async def test_only_managers_define_questionnaires(harness: Harness, seller: Staff, marketer: Staff) -> None:
    before = await harness.scalar("SELECT count(*) FROM questionnaires")
    for who in (seller, marketer):
        assert (
            await harness.http.post("/api/questionnaires", headers=who.headers, json=ABCD)
        ).status_code == 403
    assert await harness.scalar("SELECT count(*) FROM questionnaires") == before
    missing = await harness.http.get(f"/api/questionnaires/{uuid.uuid4()}", headers=seller.headers)
    assert missing.status_code == 404


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(ABCD)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (_with(["criteria", 1, "key"], "company_size"), ["body", "criteria"]),
        (_with(["scheme", "grades", 1, "min_score"], 85), ["body", "scheme", "grades"]),
        (_with(["scheme", "grades", 3, "min_score"], 10), ["body", "scheme", "grades"]),
        (_with(["criteria", 0, "weight"], 0), ["body", "criteria", 0, "weight"]),
        (_with(["criteria", 0, "options"], []), ["body", "criteria", 0, "options"]),
        (_with(["criteria", 1, "range"], {"min": 5, "max": 5}), ["body", "criteria", 1, "range"]),
        (_with(["scheme", "kind"], "stars"), ["body", "scheme", "kind"]),
        (_with(["criteria"], []), ["body", "criteria"]),
    ],
)
async def test_an_invalid_definition_is_422_naming_the_field(
    harness: Harness, manager: Staff, body: dict[str, Any], loc: list[Any]
) -> None:
    before = await harness.scalar("SELECT count(*) FROM questionnaires")
    response = await harness.http.post("/api/questionnaires", headers=manager.headers, json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [loc]
    assert await harness.scalar("SELECT count(*) FROM questionnaires") == before


async def test_an_assessment_grades_the_customer_and_tells_the_others(
    harness: Harness, manager: Staff, seller: Staff
) -> None:
    q = await create(harness, manager)
    cid = (await harness.customer(seller))["id"]

    # (3*100 + 1*40) / 4 = 85 -> A, reviewed after 90 days
    response = await assess(harness, seller, cid, q["id"], {"company_size": "large", "annual_budget": 400})
    assert response.status_code == 201, response.text
    first = response.json()
    assert (first["score"], first["grade"], first["previous_grade"]) == (85.0, "A", None)
    assert first["next_review_on"] == (today(harness) + timedelta(days=90)).isoformat()
    assert first["questionnaire_version"] == 1
    assert first["points"] == {"company_size": 100.0, "annual_budget": 40.0}

    customer = (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).json()
    assert (customer["grade"], customer["next_review_on"]) == ("A", first["next_review_on"])
    assert customer["grade_questionnaire_version"] == 1
    [event] = await harness.outbox(GRADED, cid)
    assert event["data"]["grade"] == "A" and event["data"]["score"] == 85.0
    assert event["data"]["assessment_id"] == first["id"]
    assert event["data"]["next_review_on"].startswith(first["next_review_on"])
    timeline = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert timeline[-1]["kind"] == "graded"
    assert timeline[-1]["detail"] == {"grade": "A", "previous_grade": None, "score": 85.0}

    # A new version; the old one keeps its assessment, and new ones use the new version.
    v2 = (
        await harness.http.post(f"/api/questionnaires/{q['id']}/versions", headers=manager.headers, json=ABCD)
    ).json()
    stale = await assess(harness, seller, cid, q["id"], {"company_size": "small", "annual_budget": 0})
    assert stale.status_code == 409
    # (3*20 + 1*0) / 4 = 15 -> D
    second = await assess(harness, manager, cid, v2["id"], {"company_size": "small", "annual_budget": 0})
    assert second.status_code == 201
    assert (second.json()["grade"], second.json()["previous_grade"], second.json()["score"]) == (
        "D",
        "A",
        15.0,
    )
    listed = (await harness.http.get(f"/api/customers/{cid}/assessments", headers=seller.headers)).json()
    assert listed["total"] == 2
    assert [(a["questionnaire_version"], a["grade"]) for a in listed["items"]] == [(2, "D"), (1, "A")]
    assert [e["data"]["previous_grade"] for e in await harness.outbox(GRADED, cid)] == [None, "A"]


@pytest.mark.parametrize(
    ("answers", "wrong"),
    [
        ({"company_size": "large"}, {"annual_budget"}),
        ({"company_size": "huge", "annual_budget": 10}, {"company_size"}),
        ({"company_size": "large", "annual_budget": 1001}, {"annual_budget"}),
        ({"company_size": "large", "annual_budget": "lots"}, {"annual_budget"}),
        ({"company_size": "large", "annual_budget": 5, "colour": "red"}, {"colour"}),
        ({}, {"company_size", "annual_budget"}),
    ],
)
async def test_invalid_answers_are_422_naming_each_criterion_and_grade_nothing(
    harness: Harness, manager: Staff, seller: Staff, answers: dict[str, Any], wrong: set[str]
) -> None:
    q = await create(harness, manager)
    cid = (await harness.customer(seller))["id"]
    response = await assess(harness, seller, cid, q["id"], answers)
    assert response.status_code == 422
    assert {e["loc"][-1] for e in response.json()["detail"]} == wrong
    assert all(e["loc"][:2] == ["body", "answers"] for e in response.json()["detail"])
    assert (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).json()["grade"] is None
    assert await harness.outbox(GRADED, cid) == []


async def test_an_unknown_questionnaire_is_422(harness: Harness, seller: Staff) -> None:
    cid = (await harness.customer(seller))["id"]
    response = await assess(harness, seller, cid, str(uuid.uuid4()), {})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "questionnaire_id"]


async def test_only_the_owner_or_a_manager_grades(
    harness: Harness, manager: Staff, seller: Staff, other_seller: Staff
) -> None:
    q = await create(harness, manager)
    cid = (await harness.customer(seller))["id"]
    answers = {"company_size": "medium", "annual_budget": 500}
    assert (await assess(harness, other_seller, cid, q["id"], answers)).status_code == 404
    assert (
        await harness.http.get(f"/api/customers/{cid}/assessments", headers=other_seller.headers)
    ).status_code == 404
    assert (await assess(harness, manager, cid, q["id"], answers)).status_code == 201


async def test_reviews_fall_due_when_the_grade_interval_has_passed(harness: Harness, manager: Staff) -> None:
    seller, other = await harness.staff(Role.SALESPERSON), await harness.staff(Role.SALESPERSON)
    q = await create(harness, manager)
    a = (await harness.customer(seller, "Khách A"))["id"]
    b = (await harness.customer(seller, "Khách B"))["id"]
    theirs = (await harness.customer(other, "Khách của người khác"))["id"]
    await harness.customer(seller, "Chưa xếp hạng")  # never graded: never due
    await assess(harness, seller, a, q["id"], {"company_size": "large", "annual_budget": 1000})  # A: 90 days
    await assess(harness, seller, b, q["id"], {"company_size": "medium", "annual_budget": 600})  # B: 120 days
    await assess(harness, other, theirs, q["id"], {"company_size": "large", "annual_budget": 1000})

    async def due(who: Staff, days: int) -> list[str]:
        as_of = (today(harness) + timedelta(days=days)).isoformat()
        response = await harness.http.get(
            "/api/customers/reviews-due", params={"as_of": as_of, "limit": 200}, headers=who.headers
        )
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await due(seller, 0) == []
    assert await due(seller, 89) == []
    assert await due(seller, 90) == [a]
    assert await due(seller, 200) == [a, b]  # the longest due first
    assert theirs in await due(manager, 90)
    assert theirs not in await due(seller, 400)
    assert (await harness.http.get("/api/customers/reviews-due", headers=seller.headers)).json()[
        "items"
    ] == []
    bad = await harness.http.get("/api/customers/reviews-due?as_of=soon", headers=seller.headers)
    assert bad.status_code == 422


async def test_grade_migration_counts_how_a_salespersons_customers_moved_between_two_days(
    harness: Harness, manager: Staff
) -> None:
    seller = await harness.staff(Role.SALESPERSON)
    q = await create(harness, manager)
    grown, fallen, ungraded = [(await harness.customer(seller))["id"] for _ in range(3)]
    await harness.execute(
        "UPDATE customers SET created_at = now() - interval '60 days' WHERE id = ANY(:ids)",
        ids=[uuid.UUID(grown), uuid.UUID(fallen), uuid.UUID(ungraded)],
    )
    small, large = (
        {"company_size": "small", "annual_budget": 0},
        {"company_size": "large", "annual_budget": 1000},
    )
    for cid, first, then in ((grown, small, large), (fallen, large, small)):
        assert (await assess(harness, seller, cid, q["id"], first)).status_code == 201
        # The first assessment was a month ago; the second is today.
        await harness.execute(
            "UPDATE assessments SET graded_at = now() - interval '30 days' WHERE customer_id = :c",
            c=uuid.UUID(cid),
        )
        assert (await assess(harness, seller, cid, q["id"], then)).status_code == 201
    newcomer = (await harness.customer(seller))["id"]  # created today: no grade on the first day
    assert newcomer

    start, end = (today(harness) - timedelta(days=10)).isoformat(), today(harness).isoformat()
    response = await harness.http.get(
        "/api/customers/grade-migration", headers=seller.headers, params={"from": start, "to": end}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["owner_id"]) == (start, end, str(seller.id))
    moves = {(r["from_grade"], r["to_grade"]): r["customers"] for r in body["rows"]}
    assert moves == {("D", "A"): 1, ("A", "D"): 1, (None, None): 2}
    # Before the first assessment the customer had the grade it replaced (none here).
    earlier = await harness.http.get(
        "/api/customers/grade-migration",
        headers=manager.headers,
        params={
            "from": (today(harness) - timedelta(days=45)).isoformat(),
            "to": end,
            "owner_id": str(seller.id),
        },
    )
    assert {(r["from_grade"], r["to_grade"]): r["customers"] for r in earlier.json()["rows"]} == {
        (None, "A"): 1,
        (None, "D"): 1,
        (None, None): 2,
    }
    # A salesperson sees only their own, whatever they ask; a backwards range is refused.
    other = await harness.staff(Role.SALESPERSON)
    theirs = await harness.http.get(
        "/api/customers/grade-migration",
        headers=other.headers,
        params={"from": start, "to": end, "owner_id": str(seller.id)},
    )
    assert theirs.json()["rows"] == []
    backwards = await harness.http.get(
        "/api/customers/grade-migration", headers=seller.headers, params={"from": end, "to": start}
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "to"]
