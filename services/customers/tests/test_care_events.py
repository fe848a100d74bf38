"""Care activities tell the others through the outbox: planned (again when the work moves
to someone else) and closed (done or cancelled), in the transaction of the change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import PortfolioReassigned
from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

PLANNED = "customers.activity.planned.v1"
CLOSED = "customers.activity.closed.v1"


def day(harness: Harness, offset: int = 0) -> str:
    return (harness.settings.today() + timedelta(days=offset)).isoformat()


async def plan(harness: Harness, who: Staff, cid: str, **body: Any) -> dict[str, Any]:
    response = await harness.http.post(
        f"/api/customers/{cid}/activities", headers=who.headers, json={"kind": "call", **body}
    )
    assert response.status_code == 201, response.text
    planned: dict[str, Any] = response.json()
    return planned


async def test_planning_completing_and_cancelling_each_publish_their_event(
    harness: Harness, seller: Staff
) -> None:
    cid = (await harness.customer(seller, "Công ty Điện máy Phú Thái"))["id"]
    call = await plan(harness, seller, cid, due_on=day(harness), note="Hỏi nhu cầu máy phát điện " * 20)
    visit = await plan(harness, seller, cid, kind="visit", due_on=day(harness, 3))

    first, second = await harness.outbox(PLANNED, cid)
    assert first["data"] == {
        "customer_id": cid,
        "activity_id": call["id"],
        "customer_name": "Công ty Điện máy Phú Thái",
        "kind": "call",
        "due_on": day(harness),
        "owner_id": str(seller.id),
        "previous_owner_id": None,
        "note": ("Hỏi nhu cầu máy phát điện " * 20)[:200],
    }
    assert first["actor"] == str(seller.id)
    assert (second["data"]["activity_id"], second["data"]["kind"], second["data"]["note"]) == (
        visit["id"],
        "visit",
        None,
    )
    assert await harness.outbox(CLOSED, cid) == []

    done = await harness.http.post(
        f"/api/customers/{cid}/activities/{call['id']}/complete",
        headers=seller.headers,
        json={"outcome": "Khách đặt lịch demo", "done_on": day(harness, -1)},
    )
    assert done.status_code == 200, done.text
    cancelled = await harness.http.post(
        f"/api/customers/{cid}/activities/{visit['id']}/cancel",
        headers=seller.headers,
        json={"reason": "Khách đi công tác"},
    )
    assert cancelled.status_code == 200, cancelled.text

    closed = await harness.outbox(CLOSED, cid)
    assert [(e["data"]["activity_id"], e["data"]["status"], e["data"]["done_on"]) for e in closed] == [
        (call["id"], "done", day(harness, -1)),
        (visit["id"], "cancelled", None),
    ]
    assert all(e["data"]["owner_id"] == str(seller.id) for e in closed)
    assert datetime.fromisoformat(closed[0]["data"]["closed_at"]) == datetime.fromisoformat(
        done.json()["closed_at"]
    )
    assert [e["actor"] for e in closed] == [str(seller.id)] * 2


async def test_a_refused_plan_or_close_publishes_nothing(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    bad = await harness.http.post(
        f"/api/customers/{cid}/activities",
        headers=seller.headers,
        json={"kind": "party", "due_on": day(harness)},
    )
    stranger = await harness.http.post(
        f"/api/customers/{cid}/activities",
        headers=other_seller.headers,
        json={"kind": "call", "due_on": day(harness)},
    )
    assert (bad.status_code, stranger.status_code) == (422, 404)
    assert await harness.outbox(PLANNED, cid) == []

    call = await plan(harness, seller, cid, due_on=day(harness))
    url = f"/api/customers/{cid}/activities/{call['id']}"
    future = await harness.http.post(
        f"{url}/complete", headers=seller.headers, json={"outcome": "x", "done_on": day(harness, 1)}
    )
    not_theirs = await harness.http.post(f"{url}/cancel", headers=other_seller.headers, json={"reason": "x"})
    assert (future.status_code, not_theirs.status_code) == (422, 404)
    assert await harness.outbox(CLOSED, cid) == []

    assert (
        await harness.http.post(f"{url}/cancel", headers=seller.headers, json={"reason": "x"})
    ).status_code == 200
    again = await harness.http.post(f"{url}/complete", headers=seller.headers, json={"outcome": "x"})
    assert again.status_code == 409
    assert [e["data"]["status"] for e in await harness.outbox(CLOSED, cid)] == ["cancelled"]

    # A deactivated customer gets no new care.
    await harness.http.post(f"/api/customers/{cid}/deactivate", headers=manager.headers, json={"reason": "x"})
    inactive = await harness.http.post(
        f"/api/customers/{cid}/activities",
        headers=seller.headers,
        json={"kind": "call", "due_on": day(harness)},
    )
    assert inactive.status_code == 409
    assert len(await harness.outbox(PLANNED, cid)) == 1
    assert len(await harness.outbox(CLOSED, cid)) == 1  # nothing was left open to close


async def test_a_reassigned_customer_takes_its_open_care_and_reminders_to_the_new_owner(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller, "Đại lý Minh Long"))["id"]
    open_call = await plan(harness, seller, cid, due_on=day(harness, 2))
    finished = await plan(harness, seller, cid, kind="email", due_on=day(harness))
    await harness.http.post(
        f"/api/customers/{cid}/activities/{finished['id']}/complete",
        headers=seller.headers,
        json={"outcome": "đã gửi catalogue"},
    )

    response = await harness.http.post(
        f"/api/customers/{cid}/assign", headers=manager.headers, json={"owner_id": str(other_seller.id)}
    )
    assert response.status_code == 200, response.text
    moved = (await harness.outbox(PLANNED, cid))[2:]
    assert [
        (e["data"]["activity_id"], e["data"]["owner_id"], e["data"]["previous_owner_id"], e["actor"])
        for e in moved
    ] == [(open_call["id"], str(other_seller.id), str(seller.id), str(manager.id))]
    assert (moved[0]["data"]["due_on"], moved[0]["data"]["customer_name"]) == (
        day(harness, 2),
        "Đại lý Minh Long",
    )

    # Already theirs: nothing moves, nothing is said.
    await harness.http.post(
        f"/api/customers/{cid}/assign", headers=manager.headers, json={"owner_id": str(other_seller.id)}
    )
    assert len(await harness.outbox(PLANNED, cid)) == 3


async def test_deactivating_a_customer_closes_its_planned_care(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    first = await plan(harness, seller, cid, due_on=day(harness))
    second = await plan(harness, seller, cid, kind="visit", due_on=day(harness, 7))
    response = await harness.http.post(
        f"/api/customers/{cid}/deactivate", headers=manager.headers, json={"reason": "ngừng kinh doanh"}
    )
    assert response.status_code == 200, response.text
    closed = await harness.outbox(CLOSED, cid)
    assert sorted(
        (e["data"]["activity_id"], e["data"]["status"], e["data"]["owner_id"]) for e in closed
    ) == sorted([(first["id"], "cancelled", str(seller.id)), (second["id"], "cancelled", str(seller.id))])
    assert {e["actor"] for e in closed} == {str(manager.id)}


async def test_a_portfolio_hand_over_re_plans_the_open_care_for_the_new_owner(harness: Harness) -> None:
    leaving = await harness.staff(Role.SALESPERSON)
    taking_over = await harness.staff(Role.SALESPERSON)
    admin_id = uuid.uuid4()
    customers = [(await harness.customer(leaving, f"Khách {i}"))["id"] for i in range(3)]
    open_care = {
        cid: (await plan(harness, leaving, cid, due_on=day(harness, i)))["id"]
        for i, cid in enumerate(customers)
    }
    done = await plan(harness, leaving, customers[0], due_on=day(harness))
    await harness.http.post(
        f"/api/customers/{customers[0]}/activities/{done['id']}/cancel",
        headers=leaving.headers,
        json={"reason": "trùng lịch"},
    )

    handover = await harness.publish(
        PortfolioReassigned(
            from_user_id=leaving.id, to_user_id=taking_over.id, reassigned_at=datetime.now(UTC)
        ),
        actor=admin_id,
    )
    await harness.eventually(
        lambda: harness.scalar("SELECT count(*) FROM inbox WHERE event_id = :id", id=handover.event_id),
        what="the hand-over handled",
    )
    for i, cid in enumerate(customers):
        moved = (await harness.outbox(PLANNED, cid))[-1]
        assert moved["data"] == {
            "customer_id": cid,
            "activity_id": open_care[cid],
            "customer_name": f"Khách {i}",
            "kind": "call",
            "due_on": day(harness, i),
            "owner_id": str(taking_over.id),
            "previous_owner_id": str(leaving.id),
            "note": None,
        }
        assert (moved["actor"], moved["causation_id"]) == (str(admin_id), str(handover.event_id))
    # Planned twice (by hand, then by the hand-over) for the open ones; the cancelled one once.
    assert len(await harness.outbox(PLANNED, customers[0])) == 3
