"""Searching a long list from a form (ui/pickers.py): the search box beside a customer
select asks `/pick/customers?q=` as the user types, which searches the owning service
and answers the matches as choices. Sales is a stand-in the test scripts."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role

from .pages import Pages, page

pytestmark = pytest.mark.integration


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


async def test_a_customer_is_found_by_search_among_all_not_only_the_first_page(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    far = {"id": str(uuid.uuid4()), "name": "Công ty Cơ Khí Ánh Dương", "lifecycle_stage": "traditional"}
    stand_in.upstream.answer("GET", "/api/sales/customers", page([far]))
    answer = await seller.get("/pick/customers", q="anh duong")
    assert answer.status_code == 200
    assert answer.json() == [{"value": far["id"], "text": "Công ty Cơ Khí Ánh Dương (Traditional)"}]
    asked = stand_in.upstream.last("GET", "/api/sales/customers")
    assert asked.query["q"] == "anh duong" and asked.query["limit"] == "20"


async def test_products_are_searched_among_those_on_sale(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="vi")
    generator = {"code": "MPD-5", "name": "Máy phát điện 5 kVA", "unit_price": 15_500_000, "vat_rate_pct": 8}
    stand_in.upstream.answer("GET", "/api/products", page([generator]))
    answer = await seller.get("/pick/products", q="may phat")
    # As the quote line's select shows it, with the price and VAT rate its live total needs.
    assert answer.json() == [
        {
            "value": "MPD-5",
            "text": "MPD-5 · Máy phát điện 5 kVA · 15.500.000 ₫",
            "data": {"price": 15_500_000, "vat": 8},
        }
    ]
    assert stand_in.upstream.last("GET", "/api/products").query["q"] == "may phat"
    assert stand_in.upstream.last("GET", "/api/products").query["active"] == "true"


async def test_the_search_needs_a_session(stand_in: Pages) -> None:
    answer = await stand_in.gateway.http.get("/pick/customers", params={"q": "x"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
