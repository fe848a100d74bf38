"""Repeat business in the UI: the opportunity board with the moves each card allows, the
forecast, a new opportunity for a known customer, and the lapsed customers. Sales and
customers are a stand-in whose answers each test scripts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import money, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

CUSTOMER = str(uuid.uuid4())


def opportunity(stage: str, **values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": "Máy phát điện quý II",
        "customer_id": CUSTOMER,
        "customer_name": "Công ty TNHH Hòa Bình",
        "lead_id": None,
        "owner_id": str(uuid.uuid4()),
        "expected_amount": 250_000_000,
        "expected_close_on": "2027-03-15",
        "currency": "VND",
        "stage": stage,
        "probability_pct": 50,
        "lost_reason": None,
        "won_quote_id": None,
        "stage_changed_at": "2026-12-01T08:00:00Z",
        "closed_at": None,
        "created_at": "2026-12-01T08:00:00Z",
        **values,
    }


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


async def test_the_board_offers_only_the_moves_a_card_may_make_and_the_forecast(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    card = opportunity("proposal")
    stand_in.upstream.answer("GET", "/api/opportunities", page([card]))
    stand_in.upstream.answer(
        "GET",
        "/api/opportunities/forecast",
        {
            "currency": "VND",
            "months": [
                {"month": "2027-03-01", "count": 1, "amount": 250_000_000, "weighted_amount": 125_000_000}
            ],
            "undated_count": 2,
            "undated_amount": 40_000_000,
        },
    )
    answer = await seller.get("/opportunities")
    assert answer.status_code == 200, answer.text
    html = Html(answer.text)
    asked = sorted(seen.query["stage"] for seen in stand_in.upstream.calls("GET", "/api/opportunities"))
    assert asked == sorted(["qualification", "needs_analysis", "proposal", "negotiation", "won", "lost"])
    assert "Công ty TNHH Hòa Bình" in answer.text and money("en", 250_000_000) in answer.text
    proposal = next(e for e in html.all("section") if e.get("data-stage") == "proposal")
    assert translate("en", "ostage.proposal") in proposal.text
    # The stand-in gives every column the same card; a proposal card may go on or be lost.
    options = [e["value"] for e in html.all("option")]
    assert {"negotiation", "lost"} <= set(options) and "won" not in options and "qualification" not in options
    forecast = next(e for e in html.all("table") if e.get("data-testid") == "forecast")
    assert "2027-03" in forecast.text and money("en", 125_000_000) in forecast.text
    assert money("en", 40_000_000) in forecast.text


async def test_moving_a_card_and_a_refused_move(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    card = opportunity("proposal")
    stand_in.upstream.answer("POST", f"/api/opportunities/{card['id']}/stage", opportunity("negotiation"))
    moved = await seller.post(
        f"/opportunities/{card['id']}/stage", {"stage": "negotiation", "lost_reason": ""}
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/opportunities"
    assert stand_in.upstream.last("POST", f"/api/opportunities/{card['id']}/stage").body == {
        "stage": "negotiation"
    }
    stand_in.upstream.answer(
        "POST",
        f"/api/opportunities/{card['id']}/stage",
        {
            "detail": "moving an opportunity to lost needs a lost_reason",
            "code": "opportunity.lost_reason_needed",
            "params": {},
        },
        status=422,
    )
    refused = await seller.post(f"/opportunities/{card['id']}/stage", {"stage": "lost", "lost_reason": ""})
    assert refused.status_code == 422
    assert translate("en", "problem.opportunity.lost_reason_needed") in refused.text


async def test_a_new_opportunity_for_a_known_customer(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer(
        "GET",
        "/api/sales/customers",
        page([{"id": CUSTOMER, "name": "Công ty TNHH Hòa Bình", "lifecycle_stage": "traditional"}]),
    )
    form = await seller.get("/opportunities/new", customer_id=CUSTOMER)
    assert form.status_code == 200 and "Công ty TNHH Hòa Bình" in form.text
    assert translate("vi", "opportunities.new_hint") in form.text
    stand_in.upstream.answer("POST", "/api/opportunities", opportunity("qualification"), status=201)
    made = await seller.post(
        "/opportunities/new",
        {
            "customer_id": CUSTOMER,
            "name": "Máy phát điện quý II",
            "expected_amount": "250.000.000",
            "expected_close_on": "2027-03-15",
        },
    )
    assert made.status_code == 303, made.text
    sent = stand_in.upstream.last("POST", "/api/opportunities").body
    assert sent == {
        "customer_id": CUSTOMER,
        "name": "Máy phát điện quý II",
        "expected_amount": "250000000",
        "expected_close_on": "2027-03-15",
    }
    stand_in.upstream.answer(
        "POST",
        "/api/opportunities",
        {
            "detail": [
                {"loc": ["body", "name"], "msg": "String should have at least 1 character", "type": "x"}
            ]
        },
        status=422,
    )
    refused = await seller.post("/opportunities/new", {"customer_id": CUSTOMER, "name": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text


async def test_the_lapsed_customers_page(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    quiet = {
        "id": CUSTOMER,
        "name": "Công ty TNHH Hòa Bình",
        "grade": "A",
        "days_without_order": 45,
        "lapsed_after_days": 30,
    }
    stand_in.upstream.answer("GET", "/api/customers/lapsed", page([quiet]))
    shown = await seller.get("/customers/lapsed", days="40")
    assert shown.status_code == 200, shown.text
    assert (
        "Công ty TNHH Hòa Bình" in shown.text and f"/opportunities/new?customer_id={CUSTOMER}" in shown.text
    )
    assert stand_in.upstream.last("GET", "/api/customers/lapsed").query["days"] == "40"
