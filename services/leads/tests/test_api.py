"""The leads API against real Postgres and RabbitMQ: what each role sees and may do."""

from __future__ import annotations

import asyncio
import json
import uuid
from itertools import count
from typing import Any

import pytest

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import LeadsService

pytestmark = pytest.mark.integration

_phones = count(1)


def phone() -> str:
    """A phone number no other test uses, written the way people write them."""
    n = next(_phones)
    return f"0912 {n // 1000:03d} {n % 1000:03d}"


def body(**fields: Any) -> dict[str, Any]:
    return {"full_name": f"Nguyễn Văn {uuid.uuid4().hex[:6]}", "source": "walk_in", **fields}


async def capture(leads: LeadsService, who: Staff, **fields: Any) -> dict[str, Any]:
    response = await leads.http.post("/api/leads", headers=who.headers, json=body(**fields))
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def outbox(leads: LeadsService, routing_key: str, lead_id: str) -> list[dict[str, Any]]:
    """The envelopes of `routing_key` about this lead, from the outbox."""
    rows = await leads.rows("SELECT body FROM outbox WHERE routing_key = :key ORDER BY id", key=routing_key)
    envelopes = [json.loads(bytes(r.body)) for r in rows]
    return [e for e in envelopes if e["data"]["lead_id"] == lead_id]


async def history(leads: LeadsService, who: Staff, lead_id: str) -> list[dict[str, Any]]:
    response = await leads.http.get(f"/api/leads/{lead_id}/history", headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def lead_count(leads: LeadsService) -> int:
    return int(await leads.scalar("SELECT count(*) FROM leads"))


async def promising(leads: LeadsService, who: Staff) -> dict[str, Any]:
    """A lead contacted and evaluated as promising."""
    lead = await capture(leads, who, company=f"Công ty {uuid.uuid4().hex[:6]}", phone=phone())
    assert (await leads.http.post(f"/api/leads/{lead['id']}/contact", headers=who.headers)).status_code == 200
    response = await leads.http.post(
        f"/api/leads/{lead['id']}/evaluate", headers=who.headers, json={"promising": True}
    )
    assert response.status_code == 200, response.text
    evaluated: dict[str, Any] = response.json()
    return evaluated


# -- capture -----------------------------------------------------------------------


async def test_capture_answers_the_lead_audits_it_and_writes_lead_captured(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    response = await leads.http.post(
        "/api/leads",
        headers=seller.headers,
        json={
            "full_name": "  Trần Thị Mai ",
            "company": "Công ty Thép Hòa Phát",
            "phone": "+84 912 999 001",
            "email": " Mai.Tran@HoaPhat.example.vn ",
            "source": "trade_fair",
            "region_code": "hn",
            "approach_plan": {"planned_contact_on": "2026-12-05", "planned_channel": "visit", "note": "Gặp"},
        },
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    assert lead["status"] == "new"
    assert lead["owner_id"] == str(seller.id)
    assert lead["full_name"] == "Trần Thị Mai"
    assert lead["phone"] == "+84 912 999 001"
    assert lead["phone_normalized"] == "0912999001"
    assert lead["email"] == "mai.tran@hoaphat.example.vn"
    assert lead["region_code"] == "HN"
    assert lead["approach_plan"] == {
        "planned_contact_on": "2026-12-05",
        "planned_channel": "visit",
        "note": "Gặp",
    }
    assert lead["created_at"].endswith(("Z", "+00:00"))

    [envelope] = await outbox(leads, "leads.lead.captured.v1", lead["id"])
    assert envelope["actor"] == str(seller.id)
    assert envelope["data"]["owner_id"] == str(seller.id)
    assert envelope["data"]["full_name"] == "Trần Thị Mai"
    assert envelope["data"]["source"] == "trade_fair"

    [entry] = await history(leads, seller, lead["id"])
    assert entry["action"] == "captured"
    assert entry["actor_id"] == str(seller.id)
    assert entry["changes"]["status"] == [None, "new"]
    assert entry["changes"]["phone"] == [None, "+84 912 999 001"]

    again = await leads.http.get(f"/api/leads/{lead['id']}", headers=seller.headers)
    assert again.json() == lead


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 212 555 0100"}, "phone"),
        ({"email": "mai@"}, "email"),
        ({"source": "radio"}, "source"),
        ({"region_code": "Hà Nội"}, "region_code"),
        ({"status": "converted"}, "status"),
        ({"customer_id": str(uuid.uuid4())}, "customer_id"),
        ({"approach_plan": {"planned_channel": "fax"}}, "approach_plan"),
    ],
)
async def test_bad_capture_is_422_naming_the_field_and_writes_nothing(
    leads: LeadsService, fields: dict[str, Any], field: str
) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    before = await lead_count(leads)
    response = await leads.http.post("/api/leads", headers=seller.headers, json=body(**fields))
    assert response.status_code == 422, response.text
    assert field in [e["loc"][1] for e in response.json()["detail"]]
    assert await lead_count(leads) == before


async def test_who_owns_a_captured_lead(leads: LeadsService) -> None:
    seller, other = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    manager = await leads.staff(Role.SALES_MANAGER)
    before = await lead_count(leads)

    response = await leads.http.post("/api/leads", headers=seller.headers, json=body(owner_id=str(other.id)))
    assert response.status_code == 403
    own = await leads.http.post("/api/leads", headers=seller.headers, json=body(owner_id=str(seller.id)))
    assert own.status_code == 201 and own.json()["owner_id"] == str(seller.id)

    given = await leads.http.post("/api/leads", headers=manager.headers, json=body(owner_id=str(other.id)))
    assert given.status_code == 201 and given.json()["owner_id"] == str(other.id)

    gone = await leads.staff(Role.SALESPERSON, active=False)
    accountant = await leads.staff(Role.ACCOUNTANT)
    for owner in (gone.id, uuid.uuid4(), accountant.id):
        response = await leads.http.post(
            "/api/leads", headers=manager.headers, json=body(owner_id=str(owner))
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "owner_id"]

    # A caller the directory does not know (yet) cannot own a lead either.
    stranger = await leads.staff(Role.SALESPERSON, in_directory=False)
    response = await leads.http.post("/api/leads", headers=stranger.headers, json=body())
    assert response.status_code == 422
    assert await lead_count(leads) == before + 2


# -- duplicates --------------------------------------------------------------------


async def test_a_duplicate_is_refused_until_confirmed(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    first = await capture(
        leads,
        seller,
        full_name="Phạm Văn Đức",
        company="Công ty Hòa Bình",
        phone="0913 111 222",
        email="duc@hoabinh.example.vn",
    )
    before = await lead_count(leads)
    cases = [
        ({"phone": "+84913111222"}, ["phone"]),
        ({"email": "DUC@hoabinh.example.vn"}, ["email"]),
        ({"full_name": "pham van duc", "company": "CONG TY HOA BINH"}, ["company_name"]),
        (
            {"full_name": "Phạm Văn Đức", "company": "Công ty Hòa Bình", "phone": "0913.111.222"},
            ["phone", "company_name"],
        ),
    ]
    for fields, matched_on in cases:
        response = await leads.http.post("/api/leads", headers=seller.headers, json=body(**fields))
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        assert detail["message"] == "possible duplicates"
        assert detail["duplicates"] == [
            {
                "id": first["id"],
                "full_name": "Phạm Văn Đức",
                "company": "Công ty Hòa Bình",
                "phone": "0913 111 222",
                "email": "duc@hoabinh.example.vn",
                "status": "new",
                "owner_id": str(seller.id),
                "matched_on": matched_on,
            }
        ]
    assert await lead_count(leads) == before

    confirmed = await leads.http.post(
        "/api/leads", headers=seller.headers, json=body(phone="+84913111222", confirm_duplicate=True)
    )
    assert confirmed.status_code == 201
    assert await lead_count(leads) == before + 1


async def test_simultaneous_captures_of_one_person_make_one_lead(leads: LeadsService) -> None:
    a, b = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    same = phone()
    callers = (a, b, a, b, a)
    responses = await asyncio.gather(
        *(leads.http.post("/api/leads", headers=who.headers, json=body(phone=same)) for who in callers)
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    digits = same.replace(" ", "")
    assert await leads.scalar("SELECT count(*) FROM leads WHERE phone_normalized = :p", p=digits) == 1


async def test_someone_elses_duplicate_blocks_but_shows_only_that_it_exists(leads: LeadsService) -> None:
    a, b = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    theirs = await capture(leads, a, email="secret.client@example.vn")
    response = await leads.http.post(
        "/api/leads", headers=b.headers, json=body(email="secret.client@example.vn")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "lead.possible_duplicates"
    assert response.json()["detail"]["duplicates"] == [
        {"id": theirs["id"], "status": "new", "matched_on": ["email"]}
    ]
    manager = await leads.staff(Role.SALES_MANAGER)
    response = await leads.http.post(
        "/api/leads", headers=manager.headers, json=body(email="secret.client@example.vn")
    )
    assert response.json()["detail"]["duplicates"][0]["owner_id"] == str(a.id)


async def test_a_merged_lead_is_no_longer_a_duplicate(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    kept = await capture(leads, seller)
    shared_phone = phone()
    dup = await capture(leads, seller, phone=shared_phone)
    merge = await leads.http.post(
        f"/api/leads/{kept['id']}/merge", headers=seller.headers, json={"duplicate_id": dup["id"]}
    )
    assert merge.status_code == 200
    # The kept lead took the phone over, so a new lead with it matches the kept one only.
    response = await leads.http.post("/api/leads", headers=seller.headers, json=body(phone=shared_phone))
    assert [d["id"] for d in response.json()["detail"]["duplicates"]] == [kept["id"]]


# -- the pipeline ------------------------------------------------------------------


async def test_new_to_contacting_to_evaluated_to_converted(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    campaign = str(uuid.uuid4())
    lead = await capture(
        leads,
        seller,
        company="Công ty Cơ khí Đông Á",
        phone=phone(),
        email="a@donga.example.vn",
        campaign_id=campaign,
    )
    lead_id = lead["id"]

    response = await leads.http.post(
        f"/api/leads/{lead_id}/contact", headers=seller.headers, json={"note": "Đã gọi"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "contacting"
    assert response.json()["contact_note"] == "Đã gọi"

    response = await leads.http.post(
        f"/api/leads/{lead_id}/evaluate",
        headers=seller.headers,
        json={"promising": True, "note": "Cần 20 máy"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "evaluated"
    assert response.json()["evaluation"]["promising"] is True

    response = await leads.http.post(
        f"/api/leads/{lead_id}/convert",
        headers=seller.headers,
        json={"opportunity": {"name": "20 máy nén khí", "expected_amount": 1_250_000_000}},
    )
    assert response.status_code == 200, response.text
    ids = response.json()
    assert set(ids) == {"customer_id", "opportunity_id"}
    uuid.UUID(ids["customer_id"]), uuid.UUID(ids["opportunity_id"])

    converted = (await leads.http.get(f"/api/leads/{lead_id}", headers=seller.headers)).json()
    assert converted["status"] == "converted"
    assert converted["customer_id"] == ids["customer_id"]
    assert converted["opportunity_id"] == ids["opportunity_id"]
    assert converted["converted_at"] is not None

    [envelope] = await outbox(leads, "leads.lead.qualified.v1", lead_id)
    data = envelope["data"]
    assert data["customer_id"] == ids["customer_id"]
    assert data["opportunity_id"] == ids["opportunity_id"]
    assert data["opportunity_name"] == "20 máy nén khí"
    assert data["expected_amount"] == 1_250_000_000
    assert data["name"] == "Công ty Cơ khí Đông Á"
    assert data["contact_name"] == lead["full_name"]
    assert data["owner_id"] == str(seller.id)
    assert data["campaign_id"] == campaign
    assert envelope["actor"] == str(seller.id)

    again = await leads.http.post(f"/api/leads/{lead_id}/convert", headers=seller.headers, json={})
    assert again.status_code == 409
    assert "allowed next: none (converted is final)" in again.json()["detail"]
    assert len(await outbox(leads, "leads.lead.qualified.v1", lead_id)) == 1

    entries = await history(leads, seller, lead_id)
    assert [e["action"] for e in entries] == ["captured", "contacted", "evaluated", "converted"]
    assert entries[1]["changes"]["status"] == ["new", "contacting"]
    assert entries[2]["changes"]["promising"] == [None, True]
    assert entries[3]["changes"]["customer_id"] == [None, ids["customer_id"]]
    assert entries[3]["changes"]["expected_amount"] == [None, 1_250_000_000]


async def test_converting_without_an_opportunity_names_the_person(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    lead = await capture(leads, seller, phone=phone())
    await leads.http.post(f"/api/leads/{lead['id']}/contact", headers=seller.headers)
    await leads.http.post(
        f"/api/leads/{lead['id']}/evaluate", headers=seller.headers, json={"promising": True}
    )
    response = await leads.http.post(f"/api/leads/{lead['id']}/convert", headers=seller.headers)
    assert response.status_code == 200
    assert response.json()["opportunity_id"] is None
    [envelope] = await outbox(leads, "leads.lead.qualified.v1", lead["id"])
    assert envelope["data"]["name"] == lead["full_name"]
    assert envelope["data"]["opportunity_id"] is None


async def test_illegal_moves_are_409_name_what_is_allowed_and_change_nothing(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    lead = await capture(leads, seller)
    url = f"/api/leads/{lead['id']}"

    response = await leads.http.post(f"{url}/evaluate", headers=seller.headers, json={"promising": True})
    assert response.status_code == 409
    assert response.json()["detail"].endswith("allowed next: closed, contacting, merged")
    # The refusal says the same in params, for the web UI to say it in the user's words.
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "lead.move_not_allowed"
    assert response.json()["params"] == {
        "from": "new",
        "to": "evaluated",
        "allowed": ["closed", "contacting", "merged"],
    }
    response = await leads.http.post(f"{url}/convert", headers=seller.headers, json={})
    assert response.status_code == 409
    assert "allowed next: closed, contacting, merged" in response.json()["detail"]

    await leads.http.post(f"{url}/contact", headers=seller.headers)
    response = await leads.http.post(f"{url}/contact", headers=seller.headers)
    assert response.status_code == 409
    assert response.json()["detail"].endswith("allowed next: closed, evaluated, merged")

    await leads.http.post(f"{url}/evaluate", headers=seller.headers, json={"promising": False})
    response = await leads.http.post(f"{url}/convert", headers=seller.headers, json={})
    assert response.status_code == 409
    assert "not promising" in response.json()["detail"]
    assert response.json()["detail"].endswith("allowed next: closed, merged")
    assert response.json()["code"] == "lead.move_not_promising"
    assert response.json()["params"]["allowed"] == ["closed", "merged"]

    current = (await leads.http.get(url, headers=seller.headers)).json()
    assert current["status"] == "evaluated"
    assert current["customer_id"] is None
    assert await outbox(leads, "leads.lead.qualified.v1", lead["id"]) == []
    assert [e["action"] for e in await history(leads, seller, lead["id"])] == [
        "captured",
        "contacted",
        "evaluated",
    ]


@pytest.mark.parametrize("steps", [[], ["contact"], ["contact", "evaluate"]])
async def test_disqualify_from_each_open_status(leads: LeadsService, steps: list[str]) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    lead = await capture(leads, seller, region_code="HCM")
    url = f"/api/leads/{lead['id']}"
    for step in steps:
        step_body: dict[str, Any] = {"promising": False} if step == "evaluate" else {}
        response = await leads.http.post(f"{url}/{step}", headers=seller.headers, json=step_body)
        assert response.status_code == 200

    response = await leads.http.post(
        f"{url}/disqualify",
        headers=seller.headers,
        json={"reason": "no_budget", "note": "Hết ngân sách năm nay"},
    )
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["status"] == "closed"
    assert closed["disqualify_reason"] == "no_budget"
    assert closed["closed_at"] is not None

    [envelope] = await outbox(leads, "leads.lead.disqualified.v1", lead["id"])
    assert envelope["data"]["reason"] == "no_budget"
    assert envelope["data"]["note"] == "Hết ngân sách năm nay"
    assert envelope["data"]["region_code"] == "HCM"
    assert (await history(leads, seller, lead["id"]))[-1]["action"] == "disqualified"

    for move, json_body in [
        ("disqualify", {"reason": "other"}),
        ("contact", {}),
        ("evaluate", {"promising": True}),
        ("convert", {}),
    ]:
        response = await leads.http.post(f"{url}/{move}", headers=seller.headers, json=json_body)
        assert response.status_code == 409
        assert response.json()["detail"].endswith("allowed next: none (closed is final)")
    assert len(await outbox(leads, "leads.lead.disqualified.v1", lead["id"])) == 1


async def test_disqualify_needs_a_current_reason(leads: LeadsService) -> None:
    seller, manager = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALES_MANAGER)
    lead = await capture(leads, seller)
    url = f"/api/leads/{lead['id']}/disqualify"

    response = await leads.http.post(url, headers=seller.headers, json={"reason": "too_expensive"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]

    code = f"r{uuid.uuid4().hex[:8]}"
    response = await leads.http.post(
        "/api/leads/disqualify-reasons",
        headers=seller.headers,
        json={"code": code, "label_vi": "Giá cao", "label_en": "Too expensive"},
    )
    assert response.status_code == 403
    response = await leads.http.post(
        "/api/leads/disqualify-reasons",
        headers=manager.headers,
        json={"code": code, "label_vi": "Giá cao", "label_en": "Too expensive"},
    )
    assert response.status_code == 201
    assert response.json() == {
        "code": code,
        "label_vi": "Giá cao",
        "label_en": "Too expensive",
        "active": True,
    }
    response = await leads.http.post(
        "/api/leads/disqualify-reasons",
        headers=manager.headers,
        json={"code": code, "label_vi": "x", "label_en": "x"},
    )
    assert response.status_code == 409

    retire = await leads.http.patch(
        f"/api/leads/disqualify-reasons/{code}", headers=manager.headers, json={"active": False}
    )
    assert retire.status_code == 200 and retire.json()["active"] is False
    response = await leads.http.post(url, headers=seller.headers, json={"reason": code})
    assert response.status_code == 422
    assert (await leads.http.get(f"/api/leads/{lead['id']}", headers=seller.headers)).json()[
        "status"
    ] == "new"

    listed = await leads.http.get("/api/leads/disqualify-reasons?active=true", headers=seller.headers)
    codes = [r["code"] for r in listed.json()["items"]]
    assert {"no_budget", "no_need", "competitor", "unreachable", "duplicate", "other"} <= set(codes)
    assert code not in codes
    no_budget = next(r for r in listed.json()["items"] if r["code"] == "no_budget")
    assert no_budget["label_vi"] == "Không có ngân sách"

    restore = await leads.http.patch(
        f"/api/leads/disqualify-reasons/{code}", headers=manager.headers, json={"active": True}
    )
    assert restore.status_code == 200
    response = await leads.http.post(url, headers=seller.headers, json={"reason": code})
    assert response.status_code == 200
    assert response.json()["disqualify_reason"] == code

    missing = await leads.http.patch(
        "/api/leads/disqualify-reasons/nothing_here", headers=manager.headers, json={"active": False}
    )
    assert missing.status_code == 404


# -- edit, assign, merge -------------------------------------------------------------


async def test_edit_changes_only_editable_fields_and_audits_them(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    lead = await capture(leads, seller, company="Công ty A", phone=phone())
    url = f"/api/leads/{lead['id']}"

    for forbidden in ({"status": "converted"}, {"owner_id": str(seller.id)}, {"source": "press"}):
        response = await leads.http.patch(url, headers=seller.headers, json=forbidden)
        assert response.status_code == 422, forbidden

    new_phone = phone()
    response = await leads.http.patch(
        url,
        headers=seller.headers,
        json={
            "company": None,
            "phone": new_phone,
            "region_code": "DN",
            "approach_plan": {"planned_contact_on": "2027-01-10", "planned_channel": "call"},
        },
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["company"] is None
    assert edited["phone"] == new_phone
    assert edited["region_code"] == "DN"
    assert edited["approach_plan"]["planned_channel"] == "call"
    assert edited["full_name"] == lead["full_name"]

    last = (await history(leads, seller, lead["id"]))[-1]
    assert last["action"] == "updated"
    assert last["actor_id"] == str(seller.id)
    assert last["changes"] == {
        "company": ["Công ty A", None],
        "phone": [lead["phone"], new_phone],
        "region_code": [None, "DN"],
        "planned_contact_on": [None, "2027-01-10"],
        "planned_channel": [None, "call"],
    }


async def test_edit_rechecks_duplicates_on_the_keys_it_changes(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    taken = phone()
    other = await capture(leads, seller, phone=taken)
    lead = await capture(leads, seller, phone=phone())
    url = f"/api/leads/{lead['id']}"

    response = await leads.http.patch(url, headers=seller.headers, json={"phone": taken.replace(" ", "")})
    assert response.status_code == 409
    assert response.json()["detail"]["duplicates"][0]["id"] == other["id"]
    assert (await leads.http.get(url, headers=seller.headers)).json()["phone"] == lead["phone"]

    response = await leads.http.patch(
        url, headers=seller.headers, json={"phone": taken.replace(" ", ""), "confirm_duplicate": True}
    )
    assert response.status_code == 200
    # A match confirmed once does not come back on edits that leave that key alone.
    response = await leads.http.patch(url, headers=seller.headers, json={"region_code": "HP"})
    assert response.status_code == 200


async def test_only_open_leads_are_edited(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    lead = await capture(leads, seller)
    await leads.http.post(
        f"/api/leads/{lead['id']}/disqualify", headers=seller.headers, json={"reason": "no_need"}
    )
    response = await leads.http.patch(
        f"/api/leads/{lead['id']}", headers=seller.headers, json={"company": "X"}
    )
    assert response.status_code == 409
    assert (await leads.http.get(f"/api/leads/{lead['id']}", headers=seller.headers)).json()[
        "company"
    ] is None


async def test_a_manager_assigns_a_lead(leads: LeadsService) -> None:
    a, b = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    manager = await leads.staff(Role.SALES_MANAGER)
    lead = await capture(leads, a)
    url = f"/api/leads/{lead['id']}"

    response = await leads.http.post(f"{url}/assign", headers=a.headers, json={"owner_id": str(b.id)})
    assert response.status_code == 403
    gone = await leads.staff(Role.SALESPERSON, active=False)
    response = await leads.http.post(
        f"{url}/assign", headers=manager.headers, json={"owner_id": str(gone.id)}
    )
    assert response.status_code == 422

    response = await leads.http.post(f"{url}/assign", headers=manager.headers, json={"owner_id": str(b.id)})
    assert response.status_code == 200
    assert response.json()["owner_id"] == str(b.id)
    assert (await leads.http.get(url, headers=a.headers)).status_code == 404
    assert (await leads.http.get(url, headers=b.headers)).status_code == 200

    last = (await history(leads, b, lead["id"]))[-1]
    assert last["action"] == "assigned"
    assert last["actor_id"] == str(manager.id)
    assert last["changes"] == {"owner_id": [str(a.id), str(b.id)]}


async def test_merge_keeps_one_lead_and_folds_the_other_into_it(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    kept = await capture(leads, seller, full_name="Đỗ Minh Khoa", phone=phone())
    dup = await capture(
        leads,
        seller,
        full_name="Do Minh Khoa",
        company="Công ty Minh Khoa",
        email="khoa@minhkhoa.example.vn",
        region_code="CT",
        approach_plan={"planned_contact_on": "2026-12-20", "planned_channel": "meeting"},
    )
    await leads.http.post(
        f"/api/leads/{dup['id']}/contact", headers=seller.headers, json={"note": "gọi lần 1"}
    )

    response = await leads.http.post(
        f"/api/leads/{kept['id']}/merge", headers=seller.headers, json={"duplicate_id": dup["id"]}
    )
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == kept["id"]
    assert merged["full_name"] == "Đỗ Minh Khoa"  # what the kept lead had stays
    assert merged["phone"] == kept["phone"]
    assert merged["company"] == "Công ty Minh Khoa"  # what it lacked comes from the duplicate
    assert merged["email"] == "khoa@minhkhoa.example.vn"
    assert merged["region_code"] == "CT"
    assert merged["approach_plan"]["planned_channel"] == "meeting"
    assert merged["status"] == "new"

    folded = (await leads.http.get(f"/api/leads/{dup['id']}", headers=seller.headers)).json()
    assert folded["status"] == "merged"
    assert folded["merged_into_id"] == kept["id"]

    entries = await history(leads, seller, kept["id"])
    assert [e["action"] for e in entries].count("captured") == 2
    assert "contacted" in [e["action"] for e in entries]
    assert {e["lead_id"] for e in entries} == {kept["id"]}
    last = entries[-1]
    assert last["action"] == "merged"
    assert last["changes"]["merged_lead_id"] == [None, dup["id"]]
    assert last["changes"]["email"] == [None, "khoa@minhkhoa.example.vn"]
    assert [e["action"] for e in await history(leads, seller, dup["id"])] == ["merged_into"]

    listed = await leads.http.get("/api/leads", headers=seller.headers)
    assert [lead["id"] for lead in listed.json()["items"]] == [kept["id"]]
    listed = await leads.http.get("/api/leads?status=merged", headers=seller.headers)
    assert [lead["id"] for lead in listed.json()["items"]] == [dup["id"]]

    response = await leads.http.post(
        f"/api/leads/{kept['id']}/merge", headers=seller.headers, json={"duplicate_id": dup["id"]}
    )
    assert response.status_code == 409
    response = await leads.http.post(
        f"/api/leads/{kept['id']}/merge", headers=seller.headers, json={"duplicate_id": kept["id"]}
    )
    assert response.status_code == 422


async def test_merge_needs_both_leads_open_and_visible(leads: LeadsService) -> None:
    a, b = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    manager = await leads.staff(Role.SALES_MANAGER)
    mine, theirs = await capture(leads, a), await capture(leads, b)
    response = await leads.http.post(
        f"/api/leads/{mine['id']}/merge", headers=a.headers, json={"duplicate_id": theirs["id"]}
    )
    assert response.status_code == 404
    assert (await leads.http.get(f"/api/leads/{theirs['id']}", headers=b.headers)).json()["status"] == "new"

    closed = await capture(leads, a)
    await leads.http.post(
        f"/api/leads/{closed['id']}/disqualify", headers=a.headers, json={"reason": "other"}
    )
    for kept, dup in ((mine, closed), (closed, mine)):
        response = await leads.http.post(
            f"/api/leads/{kept['id']}/merge", headers=a.headers, json={"duplicate_id": dup["id"]}
        )
        assert response.status_code == 409, response.text

    response = await leads.http.post(
        f"/api/leads/{mine['id']}/merge", headers=manager.headers, json={"duplicate_id": theirs["id"]}
    )
    assert response.status_code == 200
    assert response.json()["owner_id"] == str(a.id)


# -- lists ---------------------------------------------------------------------------


async def test_list_filters_and_search(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    campaign = str(uuid.uuid4())
    hoa = await capture(
        leads, seller, full_name="Lê Thị Hoa", company="Công ty Sơn Đồng Nai", phone="0283 822 1234",
        region_code="DNA", source="campaign", campaign_id=campaign,
    )  # fmt: skip
    minh = await capture(
        leads, seller, full_name="Võ Minh", email="vo.minh@saigon.example.vn", source="press"
    )
    await leads.http.post(f"/api/leads/{minh['id']}/contact", headers=seller.headers)

    async def ids(query: str) -> list[str]:
        response = await leads.http.get(f"/api/leads?{query}", headers=seller.headers)
        assert response.status_code == 200, response.text
        return [lead["id"] for lead in response.json()["items"]]

    assert set(await ids("")) == {hoa["id"], minh["id"]}
    assert await ids("q=son dong nai") == [hoa["id"]]
    assert await ids("q=LÊ THỊ") == [hoa["id"]]
    assert await ids("q=8221234") == [hoa["id"]]
    assert await ids("q=%2B84 283 822") == [hoa["id"]]
    assert await ids("q=vo.minh@") == [minh["id"]]
    assert await ids("status=contacting") == [minh["id"]]
    assert set(await ids("status=contacting&status=new")) == {hoa["id"], minh["id"]}
    assert await ids("source=campaign") == [hoa["id"]]
    assert await ids(f"campaign_id={campaign}") == [hoa["id"]]
    assert await ids("region_code=dna") == [hoa["id"]]
    assert (await leads.http.get("/api/leads?status=lost", headers=seller.headers)).status_code == 422

    page = (await leads.http.get("/api/leads?limit=1", headers=seller.headers)).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert (await leads.http.get("/api/leads?limit=1000", headers=seller.headers)).status_code == 422


# -- authorization, route by route ---------------------------------------------------


async def test_authorization_per_route_and_role(leads: LeadsService) -> None:
    a, b = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    manager, admin = await leads.staff(Role.SALES_MANAGER), await leads.staff(Role.ADMIN)
    marketing, accountant = await leads.staff(Role.MARKETING), await leads.staff(Role.ACCOUNTANT)
    lead = await capture(leads, a, phone=phone())
    other = await capture(leads, a)
    url = f"/api/leads/{lead['id']}"

    def routes() -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("GET", url, None),
            ("GET", f"{url}/history", None),
            ("PATCH", url, {"company": "Công ty mới"}),
            ("POST", f"{url}/contact", {}),
            ("POST", f"{url}/evaluate", {"promising": True}),
            ("POST", f"{url}/disqualify", {"reason": "other"}),
            ("POST", f"{url}/convert", {}),
            ("POST", f"{url}/merge", {"duplicate_id": other["id"]}),
        ]

    async def call(who: Staff, method: str, path: str, json_body: dict[str, Any] | None) -> int:
        response = await leads.http.request(method, path, headers=who.headers, json=json_body)
        return response.status_code

    # Another salesperson: every route answers as if the lead did not exist.
    for method, path, json_body in routes():
        assert await call(b, method, path, json_body) == 404, (method, path)
    assert await call(b, "POST", f"{url}/assign", {"owner_id": str(b.id)}) == 403
    assert lead["id"] not in [
        x["id"] for x in (await leads.http.get("/api/leads", headers=b.headers)).json()["items"]
    ]

    # Marketing reads everything and changes nothing.
    assert await call(marketing, "GET", url, None) == 200
    assert await call(marketing, "GET", f"{url}/history", None) == 200
    for method, path, json_body in routes()[2:]:
        assert await call(marketing, method, path, json_body) == 403, (method, path)
    assert await call(marketing, "POST", f"{url}/assign", {"owner_id": str(b.id)}) == 403
    listed = (await leads.http.get("/api/leads?limit=200", headers=marketing.headers)).json()
    assert listed["total"] >= 2
    campaign_lead = await leads.http.post(
        "/api/leads", headers=marketing.headers, json=body(source="campaign")
    )
    assert campaign_lead.status_code == 201
    assert await call(marketing, "PATCH", f"/api/leads/{campaign_lead.json()['id']}", {"company": "X"}) == 403

    # The accountant is refused on the whole API.
    for method, path, json_body in [
        *routes(),
        ("GET", "/api/leads", None),
        ("POST", "/api/leads", body()),
        ("POST", f"{url}/assign", {"owner_id": str(a.id)}),
        ("GET", "/api/leads/disqualify-reasons", None),
        ("POST", "/api/leads/disqualify-reasons", {"code": "x_y", "label_vi": "x", "label_en": "x"}),
        ("PATCH", "/api/leads/disqualify-reasons/other", {"active": False}),
        ("GET", f"/api/portfolio/{a.id}", None),
    ]:
        assert await call(accountant, method, path, json_body) == 403, (method, path)
    response = await leads.http.post(
        "/api/leads/import",
        headers=accountant.headers,
        files={"file": ("x.csv", b"full_name,source\nA,press\n")},
    )
    assert response.status_code == 403

    # No token, or a bad one: 401.
    assert (await leads.http.get(url)).status_code == 401
    assert (await leads.http.get(url, headers={"Authorization": "Bearer nonsense"})).status_code == 401

    # Managers and admins see and work everyone's leads.
    for who in (manager, admin):
        assert await call(who, "GET", url, None) == 200
        assert await call(who, "GET", f"{url}/history", None) == 200
        listed = (await leads.http.get(f"/api/leads?owner_id={a.id}", headers=who.headers)).json()
        assert {x["id"] for x in listed["items"]} == {lead["id"], other["id"]}
    assert await call(manager, "PATCH", url, {"company": "Công ty mới"}) == 200
    assert await call(admin, "POST", f"{url}/contact", {}) == 200
    assert await call(manager, "POST", f"{url}/evaluate", {"promising": True}) == 200

    # Portfolio counts: managers and admins only.
    assert await call(a, "GET", f"/api/portfolio/{a.id}", None) == 403
    assert await call(marketing, "GET", f"/api/portfolio/{a.id}", None) == 403
    response = await leads.http.get(f"/api/portfolio/{a.id}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {
        "service": "leads",
        "user_id": str(a.id),
        "holdings": {"leads": 2},
    }

    # The owner still works their own lead.
    assert await call(a, "POST", f"{url}/convert", {}) == 200
    response = await leads.http.get(f"/api/portfolio/{a.id}", headers=manager.headers)
    assert response.json()["holdings"] == {"leads": 2}


async def test_an_unknown_lead_is_404(leads: LeadsService) -> None:
    manager = await leads.staff(Role.SALES_MANAGER)
    missing = uuid.uuid4()
    response = await leads.http.get(f"/api/leads/{missing}", headers=manager.headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == f"lead {missing} not found"
    assert response.json()["code"] == "not_found"
    assert response.json()["params"] == {"kind": "lead", "key": str(missing)}
    response = await leads.http.post(f"/api/leads/{missing}/contact", headers=manager.headers)
    assert response.status_code == 404
