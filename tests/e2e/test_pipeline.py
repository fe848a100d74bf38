"""The customer pipeline through the gateway: lead -> prospect -> grade -> review -> promote,
a disqualified lead that creates nothing, and a salesperson's whole portfolio handed over."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .conftest import PASSWORD

pytestmark = pytest.mark.e2e

ABCD = {
    "name": "Phân loại khách hàng thiết bị",
    "scheme": {
        "kind": "abcd",
        "grades": [
            {"name": "A", "min_score": 80, "review_interval_days": 90, "care_cadence_days": 30},
            {"name": "B", "min_score": 60, "review_interval_days": 180, "care_cadence_days": 60},
            {"name": "C", "min_score": 40, "review_interval_days": 270, "care_cadence_days": 90},
            {"name": "D", "min_score": 0, "review_interval_days": 365, "care_cadence_days": 180},
        ],
    },
    "criteria": [
        {
            "key": "revenue",
            "question": "Doanh thu năm (tỷ đồng)",
            "weight": 3,
            "range": {"min": 0, "max": 100},
        },
        {
            "key": "fleet",
            "question": "Quy mô thiết bị",
            "weight": 2,
            "options": [
                {"value": "small", "label": "Nhỏ", "points": 20},
                {"value": "medium", "label": "Vừa", "points": 60},
                {"value": "large", "label": "Lớn", "points": 100},
            ],
        },
    ],
}


async def capture(api, **fields) -> dict:
    body = {"full_name": "Nguyễn Văn An", "source": "trade_fair", **fields}
    response = await api.client.post("/api/leads", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_lead_becomes_a_graded_prospect_due_for_review_then_traditional(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    lead = await capture(
        seller,
        company="Công ty Cơ khí Đông Á",
        phone="+84 913 000 111",
        region_code="01",
        approach_plan={"planned_contact_on": str(date.today()), "planned_channel": "call", "note": "Gọi lại"},
    )
    assert (lead["status"], lead["owner_id"]) == ("new", str(seller.user_id))

    assert (await seller.client.post(f"/api/leads/{lead['id']}/convert", json={})).status_code == 409
    assert (await seller.client.post(f"/api/leads/{lead['id']}/contact", json={})).status_code == 200
    evaluated = await seller.client.post(
        f"/api/leads/{lead['id']}/evaluate", json={"promising": True, "note": "Có dự án mở rộng"}
    )
    assert evaluated.json()["status"] == "evaluated"
    converted = await seller.client.post(
        f"/api/leads/{lead['id']}/convert",
        json={"opportunity": {"name": "Máy nén khí 2027", "expected_amount": 850_000_000}},
    )
    assert converted.status_code == 200, converted.text
    customer_id = converted.json()["customer_id"]
    assert converted.json()["opportunity_id"]

    prospect = await eventually(
        lambda: seller.client.get(f"/api/customers/{customer_id}"),
        until=lambda r: r.status_code == 200,
        what="the prospect in customers, with the id the conversion minted",
    )
    assert prospect.json()["lifecycle_stage"] == "prospect"
    assert prospect.json()["name"] == "Công ty Cơ khí Đông Á"
    assert prospect.json()["owner_id"] == str(seller.user_id)

    questionnaire = await manager.client.post("/api/questionnaires", json=ABCD)
    assert questionnaire.status_code == 201, questionnaire.text
    assessed = await seller.client.post(
        f"/api/customers/{customer_id}/assessments",
        json={"questionnaire_id": questionnaire.json()["id"], "answers": {"revenue": 90, "fleet": "large"}},
    )
    assert assessed.status_code == 201, assessed.text
    assert assessed.json()["grade"] == "A"  # (3*90 + 2*100) / 5 = 94
    review_on = date.fromisoformat(assessed.json()["next_review_on"][:10])
    # The business day is Vietnam's, whatever the machine's clock says.
    assert review_on == datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=90)

    def due(as_of: date):
        return seller.client.get("/api/customers/reviews-due", params={"as_of": str(as_of)})

    assert customer_id not in [c["id"] for c in (await due(review_on - timedelta(days=1))).json()["items"]]
    assert customer_id in [c["id"] for c in (await due(review_on)).json()["items"]]

    promoted = await seller.client.post(f"/api/customers/{customer_id}/promote")
    assert promoted.json()["lifecycle_stage"] == "traditional"
    await eventually(
        lambda: seller.client.get(f"/api/accounts/{customer_id}"), until=lambda r: r.status_code == 200
    )
    kinds = [e["kind"] for e in (await seller.client.get(f"/api/customers/{customer_id}/timeline")).json()]
    assert kinds[0] == "registered" and "graded" in kinds and kinds[-1] == "stage_changed"


async def test_a_disqualified_lead_creates_nothing_downstream(stack, new_user, databases):
    seller = await new_user(Role.SALESPERSON)
    customers_before = (await seller.client.get("/api/customers")).json()["total"]
    lead = await capture(seller, company="Xưởng Gỗ Phú Thịnh", email="phuthinh@example.vn")
    await seller.client.post(f"/api/leads/{lead['id']}/contact", json={})
    closed = await seller.client.post(
        f"/api/leads/{lead['id']}/disqualify", json={"reason": "no_budget", "note": "Hết ngân sách năm nay"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    refused = await seller.client.post(f"/api/leads/{lead['id']}/convert", json={})
    assert refused.status_code == 409

    outcome = await eventually(
        lambda: databases.fetchval(
            "marketing", "SELECT outcome FROM lead_facts WHERE lead_id = $1", uuid.UUID(lead["id"])
        ),
        until=lambda o: o == "disqualified",
        what="marketing counted the disqualification",
    )
    assert outcome == "disqualified"
    assert (await seller.client.get("/api/customers")).json()["total"] == customers_before
    qualified = await databases.fetchval(
        "leads",
        "SELECT count(*) FROM outbox WHERE routing_key = 'leads.lead.qualified.v1'"
        " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'lead_id' = $1",
        lead["id"],
    )
    assert qualified == 0


def leads_csv(count: int, label: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["full_name", "company", "phone", "email", "source", "region_code"])
    for i in range(count):
        writer.writerow(
            [
                f"Trần Thị {label} {i}",
                f"Công ty {label} {i}",
                f"09{abs(hash(label)) % 100:02d}{i:06d}",
                f"{label.lower()}{i}@example.vn",
                "internet",
                "79",
            ]
        )
    return out.getvalue().encode()


def customers_csv(count: int, label: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "contact_name", "phone", "stage", "grade"])
    for i in range(count):
        writer.writerow(
            [f"Đại lý {label} {i}", f"Lê Văn {i}", f"08{abs(hash(label)) % 100:02d}{i:06d}", "prospect", "B"]
        )
    return out.getvalue().encode()


async def test_offboarding_hands_the_whole_portfolio_to_the_new_owner(stack, new_user, admin, databases):
    leaving, taking = await new_user(Role.SALESPERSON), await new_user(Role.SALESPERSON)
    label = uuid.uuid4().hex[:6].upper()

    imported = await leaving.client.post(
        "/api/leads/import", files={"file": ("leads.csv", leads_csv(200, label), "text/csv")}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 200, imported.json()

    preview = await leaving.client.post(
        "/api/customers/imports", files={"file": ("khach-hang.csv", customers_csv(100, label), "text/csv")}
    )
    assert preview.status_code in (200, 201), preview.text
    committed = await leaving.client.post(f"/api/customers/imports/{preview.json()['id']}/commit")
    assert committed.status_code == 200, committed.text
    customers = (await leaving.client.get("/api/customers", params={"limit": 200})).json()["items"]
    assert len(customers) == 100
    for customer in customers[:50]:
        planned = await leaving.client.post(
            f"/api/customers/{customer['id']}/activities",
            json={"kind": "visit", "due_on": str(date.today() + timedelta(days=7)), "note": "Thăm khách"},
        )
        assert planned.status_code == 201, planned.text

    offboard = await admin.client.post(
        f"/api/users/{leaving.user_id}/offboard", json={"reassign_to": str(taking.user_id)}
    )
    assert offboard.status_code == 202, offboard.text

    portfolio = await eventually(
        lambda: admin.client.get(f"/api/users/{leaving.user_id}/portfolio"),
        until=lambda r: r.status_code == 200 and r.json()["total"] == 0,
        timeout=60,
        what="nothing left with the leaving salesperson",
    )
    assert not portfolio.json()["unavailable"]
    taken = await admin.client.get(f"/api/users/{taking.user_id}/portfolio")
    held = taken.json()["services"]
    assert held["leads"]["leads"] == 200
    assert held["customers"]["customers"] == 100
    assert held["customers"]["planned_activities"] == 50

    audited = await databases.fetchval(
        "leads",
        "SELECT count(*) FROM lead_history WHERE action = 'reassigned'"
        " AND (changes -> 'owner_id' ->> 1) = $1",
        str(taking.user_id),
    )
    assert audited == 200
    customer_audit = await databases.fetchval(
        "customers",
        "SELECT count(*) FROM customer_timeline WHERE kind = 'owner_changed' AND actor_id = $1",
        admin.user_id,
    )
    assert customer_audit >= 100
    relogin = await leaving.client.post(
        "/api/auth/token", data={"username": leaving.username, "password": PASSWORD}
    )
    assert relogin.status_code == 403  # deactivated: no token, and told so
