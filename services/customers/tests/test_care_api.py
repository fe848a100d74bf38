"""Care activities and overdue care over HTTP."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

import pytest

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness
from .test_grading_api import ABCD

pytestmark = pytest.mark.integration


def day(harness: Harness, offset: int = 0) -> str:
    return (harness.settings.today() + timedelta(days=offset)).isoformat()


async def plan(harness: Harness, who: Staff, cid: str, **body: Any) -> Any:
    return await harness.http.post(
        f"/api/customers/{cid}/activities", headers=who.headers, json={"kind": "call", **body}
    )


async def test_an_activity_is_planned_done_or_cancelled_and_each_step_is_in_the_timeline(
    harness: Harness, seller: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    call = await plan(harness, seller, cid, due_on=day(harness, 1), note="Hỏi nhu cầu máy bơm")
    visit = await plan(harness, seller, cid, kind="visit", due_on=day(harness, 5))
    assert call.status_code == visit.status_code == 201, call.text
    assert call.json()["status"] == "planned"
    assert call.json()["assignee_id"] == str(seller.id)

    done = await harness.http.post(
        f"/api/customers/{cid}/activities/{call.json()['id']}/complete",
        headers=seller.headers,
        json={"outcome": "Khách hẹn gặp tuần sau"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["done_on"]) == ("done", day(harness))
    customer = (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).json()
    assert customer["last_contact_at"] is not None

    cancelled = await harness.http.post(
        f"/api/customers/{cid}/activities/{visit.json()['id']}/cancel",
        headers=seller.headers,
        json={"reason": "Khách đi công tác"},
    )
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "Khách đi công tác",
    )

    # A closed activity stays closed.
    for action, body in (("complete", {"outcome": "x"}), ("cancel", {"reason": "x"})):
        again = await harness.http.post(
            f"/api/customers/{cid}/activities/{visit.json()['id']}/{action}",
            headers=seller.headers,
            json=body,
        )
        assert again.status_code == 409

    listed = (await harness.http.get(f"/api/customers/{cid}/activities", headers=seller.headers)).json()
    assert [(a["kind"], a["status"]) for a in listed["items"]] == [("call", "done"), ("visit", "cancelled")]
    timeline = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert [e["kind"] for e in timeline] == [
        "registered",
        "activity_planned",
        "activity_planned",
        "activity_done",
        "activity_cancelled",
    ]
    assert timeline[3]["detail"]["outcome"] == "Khách hẹn gặp tuần sau"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "party", "due_on": "2030-01-01"}, "kind"),
        ({"kind": "call", "due_on": "tomorrow"}, "due_on"),
        ({"kind": "call"}, "due_on"),
        ({"kind": "call", "due_on": "2030-01-01", "status": "done"}, "status"),
        ({"kind": "call", "due_on": "2030-01-01", "assignee_id": str(uuid.uuid4())}, "assignee_id"),
    ],
)
async def test_a_bad_activity_is_422_and_plans_nothing(
    harness: Harness, seller: Staff, body: dict[str, Any], field: str
) -> None:
    cid = (await harness.customer(seller))["id"]
    response = await harness.http.post(f"/api/customers/{cid}/activities", headers=seller.headers, json=body)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    listed = await harness.http.get(f"/api/customers/{cid}/activities", headers=seller.headers)
    assert listed.json()["total"] == 0


async def test_completing_in_the_future_or_someone_elses_activity_is_refused(
    harness: Harness, seller: Staff, other_seller: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    activity_id = (await plan(harness, seller, cid, due_on=day(harness))).json()["id"]
    url = f"/api/customers/{cid}/activities/{activity_id}"
    future = await harness.http.post(
        f"{url}/complete", headers=seller.headers, json={"outcome": "x", "done_on": day(harness, 1)}
    )
    assert future.status_code == 422
    assert future.json()["detail"][0]["loc"] == ["body", "done_on"]
    stranger = await harness.http.post(f"{url}/complete", headers=other_seller.headers, json={"outcome": "x"})
    assert stranger.status_code == 404
    elsewhere = (await harness.customer(seller))["id"]
    wrong_customer = await harness.http.post(
        f"/api/customers/{elsewhere}/activities/{activity_id}/cancel",
        headers=seller.headers,
        json={"reason": "x"},
    )
    assert wrong_customer.status_code == 404
    listed = (await harness.http.get(f"/api/customers/{cid}/activities", headers=seller.headers)).json()
    assert [a["status"] for a in listed["items"]] == ["planned"]


async def test_the_task_list_shows_the_callers_own_due_activities(harness: Harness, manager: Staff) -> None:
    an, binh = await harness.staff(Role.SALESPERSON), await harness.staff(Role.SALESPERSON)
    mine, theirs = (await harness.customer(an))["id"], (await harness.customer(binh))["id"]
    overdue = (await plan(harness, an, mine, due_on=day(harness, -2))).json()
    today = (await plan(harness, an, mine, kind="email", due_on=day(harness))).json()
    await plan(harness, an, mine, due_on=day(harness, 3))  # later
    done = (await plan(harness, an, mine, due_on=day(harness, -1))).json()
    await harness.http.post(
        f"/api/customers/{mine}/activities/{done['id']}/complete", headers=an.headers, json={"outcome": "ok"}
    )
    other = (await plan(harness, binh, theirs, due_on=day(harness))).json()

    response = await harness.http.get(
        "/api/activities", params={"status": "planned", "due_before": day(harness)}, headers=an.headers
    )
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["items"]] == [overdue["id"], today["id"]]
    everyone = await harness.http.get(
        "/api/activities",
        params={"status": "planned", "due_before": day(harness), "limit": 200},
        headers=manager.headers,
    )
    ids = [a["id"] for a in everyone.json()["items"]]
    assert {overdue["id"], today["id"], other["id"]} <= set(ids)


async def test_care_is_overdue_once_the_cadence_has_passed_since_the_last_contact(
    harness: Harness, manager: Staff
) -> None:
    seller = await harness.staff(Role.SALESPERSON)
    quick = copy.deepcopy(ABCD)
    quick["name"] = "Chăm sóc"
    q = (await harness.http.post("/api/questionnaires", headers=manager.headers, json=quick)).json()

    async def contact(cid: str, done_on: str) -> None:
        call = (await plan(harness, seller, cid, due_on=done_on)).json()
        response = await harness.http.post(
            f"/api/customers/{cid}/activities/{call['id']}/complete",
            headers=seller.headers,
            json={"outcome": "ok", "done_on": done_on},
        )
        assert response.status_code == 200, response.text

    graded = (await harness.customer(seller, "Hạng A"))["id"]  # A: contact every 7 days
    await harness.http.post(
        f"/api/customers/{graded}/assessments",
        headers=seller.headers,
        json={"questionnaire_id": q["id"], "answers": {"company_size": "large", "annual_budget": 1000}},
    )
    # Ungraded customers (the default 30 days), created 60 days ago.
    never = (await harness.customer(seller, "Chưa liên hệ"))["id"]
    called_today = (await harness.customer(seller, "Gọi hôm nay"))["id"]
    called_long_ago = (await harness.customer(seller, "Gọi 40 ngày trước"))["id"]
    await harness.execute(
        "UPDATE customers SET created_at = now() - interval '60 days' WHERE id = ANY(:ids)",
        ids=[uuid.UUID(never), uuid.UUID(called_today), uuid.UUID(called_long_ago)],
    )
    await contact(called_today, day(harness))
    await contact(called_long_ago, day(harness, -40))
    await contact(called_long_ago, day(harness, -50))  # reported late: the last contact stays 40 days ago

    async def overdue(who: Any, days: int) -> dict[str, str]:
        response = await harness.http.get(
            "/api/customers/care-overdue",
            params={"as_of": day(harness, days), "limit": 200},
            headers=who.headers,
        )
        assert response.status_code == 200, response.text
        return {c["id"]: c["care_due_on"] for c in response.json()["items"]}

    assert await overdue(seller, 0) == {never: day(harness, -30), called_long_ago: day(harness, -10)}
    assert list(await overdue(seller, 0)) == [never, called_long_ago]  # the longest overdue first
    assert graded not in await overdue(seller, 7)  # due on day 7, overdue from day 8
    assert (await overdue(seller, 8))[graded] == day(harness, 7)
    assert called_today not in await overdue(seller, 30)
    assert called_today in await overdue(seller, 31)
    assert graded in await overdue(manager, 8)
    outsider = await harness.staff(Role.SALESPERSON)
    assert await overdue(outsider, 400) == {}
