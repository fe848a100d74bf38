"""The customer master over HTTP: create, edit with audit, assign, deactivate, and who may do what."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

REASSIGNED = "customers.customer.reassigned.v1"
REGISTERED = "customers.customer.registered.v1"


async def timeline(harness: Harness, who: Staff, cid: str) -> list[dict]:
    response = await harness.http.get(f"/api/customers/{cid}/timeline", headers=who.headers)
    assert response.status_code == 200, response.text
    entries: list[dict] = response.json()
    return entries


async def test_a_prospect_is_created_with_its_contact_data_normalised(
    harness: Harness, seller: Staff
) -> None:
    created = await harness.customer(
        seller,
        "  Công ty TNHH Thiết bị Hòa Bình ",
        contact_name="Nguyễn Văn An",
        phone="+84 912.345.678",
        email="An.Nguyen@HoaBinh.VN",
        address="12 Lê Lợi, Quận 1",
        region_code="79",
    )
    assert created["name"] == "Công ty TNHH Thiết bị Hòa Bình"
    assert created["phone"] == "0912345678"
    assert created["email"] == "an.nguyen@hoabinh.vn"
    assert created["owner_id"] == str(seller.id)
    assert created["lifecycle_stage"] == "prospect"
    assert created["grade"] is None and created["source"] is None
    assert [e["kind"] for e in await timeline(harness, seller, created["id"])] == ["registered"]
    assert len(await harness.outbox(REGISTERED, created["id"])) == 1

    found = await harness.http.get(
        "/api/customers", params={"q": "thiet bi hoa binh"}, headers=seller.headers
    )
    assert [c["id"] for c in found.json()["items"]] == [created["id"]]
    by_phone = await harness.http.get("/api/customers", params={"q": "0912 345 678"}, headers=seller.headers)
    assert created["id"] in [c["id"] for c in by_phone.json()["items"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "phone": "12345"}, "phone"),
        ({"name": "A", "phone": "+1 415 555 0100"}, "phone"),
        ({"name": "A", "email": "nope"}, "email"),
        ({"name": "A", "owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"name": "A", "grade": "A"}, "grade"),
        ({"name": "A", "lifecycle_stage": "traditional"}, "lifecycle_stage"),
        ({"name": ""}, "name"),
    ],
)
async def test_a_bad_new_customer_is_422_naming_the_field_and_writes_nothing(
    harness: Harness, seller: Staff, body: dict, field: str
) -> None:
    before = await harness.scalar("SELECT count(*) FROM customers")
    response = await harness.http.post("/api/customers", headers=seller.headers, json=body)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    assert await harness.scalar("SELECT count(*) FROM customers") == before


async def test_patch_changes_only_what_is_sent_and_audits_each_change(
    harness: Harness, seller: Staff
) -> None:
    channel = uuid.uuid4()
    created = await harness.customer(seller, "Đại lý Minh Long", phone="0912345678", region_code="01")
    cid = created["id"]

    response = await harness.http.patch(
        f"/api/customers/{cid}",
        headers=seller.headers,
        json={
            "name": "Đại lý Minh Long 2",
            "phone": "+84 98 765 4321",
            "email": "LIEN.HE@minhlong.vn",
            "address": "5 Trần Phú, Hà Đông",
            "region_code": "01",  # unchanged: not audited
            "channel_id": str(channel),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["phone"], body["email"]) == (
        "Đại lý Minh Long 2",
        "0987654321",
        "lien.he@minhlong.vn",
    )
    assert body["contact_name"] is None  # not sent, not touched
    updated = (await timeline(harness, seller, cid))[-1]
    assert updated["kind"] == "updated"
    assert updated["actor_id"] == str(seller.id)
    assert updated["detail"] == {
        "name": ["Đại lý Minh Long", "Đại lý Minh Long 2"],
        "phone": ["0912345678", "0987654321"],
        "email": [None, "lien.he@minhlong.vn"],
        "address": [None, "5 Trần Phú, Hà Đông"],
        "channel_id": [None, str(channel)],
    }

    cleared = await harness.http.patch(f"/api/customers/{cid}", headers=seller.headers, json={"email": None})
    assert cleared.json()["email"] is None
    assert (await timeline(harness, seller, cid))[-1]["detail"] == {"email": ["lien.he@minhlong.vn", None]}

    entries = len(await timeline(harness, seller, cid))
    same = await harness.http.patch(
        f"/api/customers/{cid}", headers=seller.headers, json={"region_code": "01"}
    )
    assert same.status_code == 200
    assert len(await timeline(harness, seller, cid)) == entries  # nothing changed, nothing audited


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "0123"}, "phone"),
        ({"name": None}, "name"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"lifecycle_stage": "inactive"}, "lifecycle_stage"),
        ({"grade": "VIP"}, "grade"),
        ({"region_code": "hanoi"}, "region_code"),
    ],
)
async def test_a_bad_patch_is_422_and_changes_nothing(
    harness: Harness, seller: Staff, body: dict, field: str
) -> None:
    created = await harness.customer(seller, phone="0912345678")
    response = await harness.http.patch(f"/api/customers/{created['id']}", headers=seller.headers, json=body)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    after = (await harness.http.get(f"/api/customers/{created['id']}", headers=seller.headers)).json()
    assert after == created


async def test_a_manager_assigns_a_customer_and_its_planned_care_to_an_active_seller(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    planned = await harness.http.post(
        f"/api/customers/{cid}/activities",
        headers=seller.headers,
        json={"kind": "call", "due_on": "2030-01-10", "note": "giới thiệu sản phẩm"},
    )
    assert planned.json()["assignee_id"] == str(seller.id)

    response = await harness.http.post(
        f"/api/customers/{cid}/assign", headers=manager.headers, json={"owner_id": str(other_seller.id)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["owner_id"] == str(other_seller.id)
    entry, moved = (await timeline(harness, manager, cid))[-2:]
    assert (entry["kind"], entry["actor_id"]) == ("owner_changed", str(manager.id))
    assert entry["detail"] == {"from": str(seller.id), "to": str(other_seller.id)}
    assert moved["kind"] == "activity_reassigned"
    assert moved["detail"]["activity_id"] == planned.json()["id"]
    [event] = await harness.outbox(REASSIGNED, cid)
    assert event["data"]["from_owner_id"] == str(seller.id)
    assert event["data"]["to_owner_id"] == str(other_seller.id)
    assert event["actor"] == str(manager.id)
    activities = await harness.http.get(f"/api/customers/{cid}/activities", headers=other_seller.headers)
    assert [a["assignee_id"] for a in activities.json()["items"]] == [str(other_seller.id)]
    assert (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).status_code == 404

    again = await harness.http.post(
        f"/api/customers/{cid}/assign", headers=manager.headers, json={"owner_id": str(other_seller.id)}
    )
    assert again.status_code == 200
    assert len(await harness.outbox(REASSIGNED, cid)) == 1  # already theirs: no second move


async def test_assigning_to_someone_who_cannot_own_is_422_and_changes_nothing(
    harness: Harness, seller: Staff, manager: Staff, accountant: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    leaver = await harness.staff(Role.SALESPERSON)
    await harness.deactivate(leaver)
    for owner_id in (uuid.uuid4(), leaver.id, accountant.id):
        response = await harness.http.post(
            f"/api/customers/{cid}/assign", headers=manager.headers, json={"owner_id": str(owner_id)}
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "owner_id"]
    assert (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).json()[
        "owner_id"
    ] == str(seller.id)
    assert await harness.outbox(REASSIGNED, cid) == []


async def test_a_manager_deactivates_a_customer_who_is_kept(
    harness: Harness, seller: Staff, admin: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    await harness.http.post(
        f"/api/customers/{cid}/activities",
        headers=seller.headers,
        json={"kind": "visit", "due_on": "2030-02-01"},
    )
    response = await harness.http.post(
        f"/api/customers/{cid}/deactivate", headers=admin.headers, json={"reason": "ngừng kinh doanh"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["lifecycle_stage"] == "inactive"
    kinds = [(e["kind"], e["detail"].get("to")) for e in await timeline(harness, seller, cid)]
    assert ("stage_changed", "inactive") in kinds
    assert ("activity_cancelled", None) in kinds
    activities = (await harness.http.get(f"/api/customers/{cid}/activities", headers=seller.headers)).json()
    assert [a["status"] for a in activities["items"]] == ["cancelled"]
    assert (await harness.http.get(f"/api/customers/{cid}", headers=seller.headers)).status_code == 200

    again = await harness.http.post(
        f"/api/customers/{cid}/deactivate", headers=admin.headers, json={"reason": "x"}
    )
    assert again.status_code == 200
    assert [e["kind"] for e in await timeline(harness, seller, cid)].count("stage_changed") == 1
    blank = await harness.http.post(f"/api/customers/{cid}/deactivate", headers=admin.headers, json={})
    assert blank.status_code == 422


async def test_who_may_do_what_on_customers(
    harness: Harness,
    seller: Staff,
    other_seller: Staff,
    manager: Staff,
    admin: Staff,
    marketer: Staff,
    accountant: Staff,
) -> None:
    mine = (await harness.customer(seller, "Khách của An"))["id"]
    patch: dict[str, Any] = {"contact_name": "Chị Hoa"}
    activity: dict[str, Any] = {"kind": "call", "due_on": "2030-03-01"}

    # Another salesperson: the customer does not exist for them, whatever they try.
    for method, path, body in [
        ("GET", f"/api/customers/{mine}", None),
        ("GET", f"/api/customers/{mine}/timeline", None),
        ("GET", f"/api/customers/{mine}/activities", None),
        ("GET", f"/api/customers/{mine}/assessments", None),
        ("PATCH", f"/api/customers/{mine}", patch),
        ("POST", f"/api/customers/{mine}/promote", None),
        ("POST", f"/api/customers/{mine}/activities", activity),
    ]:
        response = await harness.http.request(method, path, headers=other_seller.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
    listed = await harness.http.get("/api/customers?limit=200", headers=other_seller.headers)
    assert mine not in [c["id"] for c in listed.json()["items"]]

    # Salespeople do not reassign or deactivate, not even their own.
    for path, body in [
        (f"/api/customers/{mine}/assign", {"owner_id": str(other_seller.id)}),
        (f"/api/customers/{mine}/deactivate", {"reason": "x"}),
    ]:
        assert (await harness.http.post(path, headers=seller.headers, json=body)).status_code == 403

    # Marketing and accounting read everything and change nothing.
    for reader in (marketer, accountant):
        assert (await harness.http.get(f"/api/customers/{mine}", headers=reader.headers)).status_code == 200
        assert (
            await harness.http.get(f"/api/customers/{mine}/timeline", headers=reader.headers)
        ).status_code == 200
        listed = await harness.http.get("/api/customers?limit=200", headers=reader.headers)
        assert listed.json()["total"] >= 1
        changes: list[tuple[str, str, dict[str, Any] | None]] = [
            ("POST", "/api/customers", {"name": "X"}),
            ("PATCH", f"/api/customers/{mine}", patch),
            ("POST", f"/api/customers/{mine}/promote", None),
            ("POST", f"/api/customers/{mine}/assign", {"owner_id": str(seller.id)}),
            ("POST", f"/api/customers/{mine}/deactivate", {"reason": "x"}),
            ("POST", f"/api/customers/{mine}/activities", activity),
            (
                "POST",
                f"/api/customers/{mine}/assessments",
                {"questionnaire_id": str(uuid.uuid4()), "answers": {}},
            ),
        ]
        for method, path, body in changes:
            response = await harness.http.request(method, path, headers=reader.headers, json=body)
            assert response.status_code == 403, (reader.user.role, method, path, response.text)
    after = (await harness.http.get(f"/api/customers/{mine}", headers=seller.headers)).json()
    assert after["contact_name"] is None and after["lifecycle_stage"] == "prospect"

    # Managers and admins see and change everyone's.
    for boss, name in ((manager, "Chị Hoa"), (admin, "Anh Tuấn")):
        response = await harness.http.patch(
            f"/api/customers/{mine}", headers=boss.headers, json={"contact_name": name}
        )
        assert response.status_code == 200
    assert (await harness.http.get(f"/api/customers/{mine}", headers=seller.headers)).json()[
        "contact_name"
    ] == ("Anh Tuấn")

    # Without a token: 401; an unknown customer: 404.
    assert (await harness.http.get(f"/api/customers/{mine}")).status_code == 401
    assert (
        await harness.http.get(f"/api/customers/{uuid.uuid4()}", headers=admin.headers)
    ).status_code == 404


async def test_lists_are_paged_and_capped(harness: Harness) -> None:
    seller = await harness.staff(Role.SALESPERSON)
    for i in range(3):
        await harness.customer(seller, f"Cửa hàng {i}")
    first = await harness.http.get("/api/customers?limit=2", headers=seller.headers)
    second = await harness.http.get("/api/customers?limit=2&offset=2", headers=seller.headers)
    assert first.json()["total"] == second.json()["total"] == 3
    assert len(first.json()["items"]) == 2 and len(second.json()["items"]) == 1
    assert (await harness.http.get("/api/customers?limit=1000", headers=seller.headers)).status_code == 422


async def test_portfolio_holdings_are_for_managers(harness: Harness, seller: Staff, manager: Staff) -> None:
    await harness.customer(seller)
    response = await harness.http.get(f"/api/portfolio/{seller.id}", headers=manager.headers)
    assert response.status_code == 200
    assert response.json() == {
        "service": "customers",
        "user_id": str(seller.id),
        "holdings": {"customers": 1, "planned_activities": 0},
    }
    assert (await harness.http.get(f"/api/portfolio/{seller.id}", headers=seller.headers)).status_code == 403
