"""The approval rules' form with the level rule, and quote lines' prices and where they
came from, as a browser gets them: the gateway on a real database, sales played by a
stand-in whose answers each test scripts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import money, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

QUOTE = str(uuid.uuid4())
LIST = str(uuid.uuid4())
CUSTOMER = str(uuid.uuid4())


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


def rules(**overrides: Any) -> dict[str, Any]:
    return {
        "mode": "threshold",
        "min_total": None,
        "max_discount_pct": None,
        "max_below_level_pct": "5.00",
        "updated_by": None,
        "updated_at": "2027-01-05T02:00:00Z",
        **overrides,
    }


# -- approval rules ------------------------------------------------------------------------


async def test_the_rules_form_shows_and_sends_the_level_rule_with_the_others(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", "/api/approval-rules", rules())
    stand_in.upstream.answer("GET", "/api/users", page([]))

    html = Html((await manager.get("/settings/approval-rules")).text)

    assert html.by_id("max_below_level_pct")["value"] == "5,00"
    expected = translate("vi", "rules.summary_below_level", pct="5,00")
    assert html.all(data_testid="rules-below-level")[0].text == expected

    stand_in.upstream.answer("PUT", "/api/approval-rules", rules())
    form = {
        "mode": "threshold",
        "min_total": "50.000.000",
        "max_discount_pct": "",
        "max_below_level_pct": "2,5",
    }
    answer = await manager.post("/settings/approval-rules", form)
    assert answer.status_code == 303
    assert stand_in.upstream.last("PUT", "/api/approval-rules").body == {
        "mode": "threshold",
        "min_total": "50000000",
        "max_below_level_pct": "2.5",
    }


async def test_saving_every_quote_sends_no_threshold_and_a_refused_one_is_at_its_field(
    stand_in: Pages,
) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer("GET", "/api/approval-rules", rules())
    stand_in.upstream.answer("GET", "/api/users", page([]))
    stand_in.upstream.answer("PUT", "/api/approval-rules", rules(mode="all", max_below_level_pct=None))

    await manager.post("/settings/approval-rules", {"mode": "all", "max_below_level_pct": "5"})
    assert stand_in.upstream.last("PUT", "/api/approval-rules").body == {"mode": "all"}

    refusal = [
        {
            "loc": ["body", "max_below_level_pct"],
            "msg": "Input should be less than or equal to 100",
            "type": "less_than_equal",
            "ctx": {"le": 100},
        }
    ]
    stand_in.upstream.answer("PUT", "/api/approval-rules", {"detail": refusal}, status=422)
    answer = await manager.post(
        "/settings/approval-rules", {"mode": "threshold", "max_below_level_pct": "150"}
    )
    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("max_below_level_pct-error").text == translate("en", "err.less_than_equal", limit=100)
    assert html.by_id("max_below_level_pct")["value"] == "150"


# -- quote lines and their prices ----------------------------------------------------------


def line(position: int, source: str | None, price: int, level: int | None, **more: Any) -> dict[str, Any]:
    return {
        "position": position,
        "product_code": f"MB-0{position}",
        "product_name": f"Máy bơm {position}",
        "product_group": "bơm",
        "quantity": 2,
        "unit_price": price,
        "discount_pct": "0.00",
        "vat_rate_pct": 10,
        "price_source": source,
        "price_list_id": None,
        "level_price": level,
        "gross_amount": 2 * price,
        "discount_amount": 0,
        "net_amount": 2 * price,
        "vat_amount": price // 5,
        "total": 2 * price + price // 5,
        **more,
    }


def quote(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": QUOTE,
        "number": "BG-2027-0001",
        "customer_id": CUSTOMER,
        "customer_name": "Cửa hàng Sơn Trà",
        "opportunity_id": None,
        "owner_id": str(uuid.uuid4()),
        "status": "draft",
        "valid_until": "2027-02-01",
        "note": None,
        "currency": "VND",
        "lines": lines,
        "net_total": sum(li["net_amount"] for li in lines),
        "vat_total": sum(li["vat_amount"] for li in lines),
        "total": sum(li["total"] for li in lines),
        "submission": 0,
        "submitted_at": None,
        "needs_manager": None,
        "credit_check": None,
        "approval_mode": None,
        "approved_by": None,
        "approved_at": None,
        "override_reason": None,
        "rejected_by": None,
        "rejected_at": None,
        "rejection_reason": None,
        "created_at": "2027-01-05T02:00:00Z",
    }


LINES = [
    line(1, "price_list", 10_500_000, 10_500_000, price_list_id=LIST),
    line(2, "list_price", 12_000_000, 12_000_000),
    line(3, "manual", 9_000_000, 10_000_000),
    line(4, None, 7_000_000, None),
]


async def test_each_line_says_where_its_price_came_from_and_its_level(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", quote(LINES))
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}/history", page([]))
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", {"id": LIST, "name": "Dealer prices 2027"})

    html = Html((await seller.get(f"/quotes/{QUOTE}")).text)

    sources = [e.text for e in html.all(data_testid="line-source")]
    assert sources == [
        f"{translate('en', 'quote.source.price_list')}: Dealer prices 2027",
        translate("en", "quote.source.list_price"),
        translate("en", "quote.source.manual"),
        "—",
    ]
    assert html.all("a", href=f"/settings/price-lists/{LIST}")[0].text == "Dealer prices 2027"
    levels = [e.text for e in html.all(data_testid="line-level")]
    assert levels == [
        money("en", 10_500_000),
        money("en", 12_000_000),
        f"{money('en', 10_000_000)} (-10.0%)",
        "—",
    ]
    assert html.all(data_testid="line-price")[0].text == money("en", 10_500_000)


async def test_a_price_list_that_cannot_be_read_leaves_the_line_saying_a_price_list(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", quote(LINES[:1]))
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}/history", page([]))

    html = Html((await seller.get(f"/quotes/{QUOTE}")).text)

    expected = f"{translate('vi', 'quote.source.price_list')}: {translate('vi', 'quote.source.a_price_list')}"
    assert html.all(data_testid="line-source")[0].text == expected


async def test_a_line_without_a_price_goes_without_one_and_the_builder_says_who_prices_it(
    stand_in: Pages,
) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/products", page([]))
    stand_in.upstream.answer("GET", "/api/sales/customers", page([]))
    stand_in.upstream.answer("POST", "/api/quotes", quote(LINES[:1]), status=201)

    form = Html((await seller.get("/quotes/new")).text)
    assert form.by_id("price-blank-hint").text == translate("vi", "quote.price_blank_hint")
    answer = await seller.post(
        "/quotes/new",
        {
            "customer_id": CUSTOMER,
            "lines.0.product_code": "MB-01",
            "lines.0.quantity": "2",
            "lines.0.unit_price": "",
            "lines.0.discount_pct": "0",
        },
    )

    assert answer.status_code == 303
    body = stand_in.upstream.last("POST", "/api/quotes").body
    assert body["lines"] == [{"product_code": "MB-01", "quantity": "2", "discount_pct": "0"}]


async def test_editing_leaves_the_lines_the_api_priced_without_a_price(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", quote(LINES))
    stand_in.upstream.answer("GET", "/api/products", page([]))

    html = Html((await seller.get(f"/quotes/{QUOTE}/edit")).text)

    prices = [html.by_id(f"lines-{i}-unit_price") for i in range(4)]
    assert [p["value"] for p in prices] == ["", "", "9.000.000", "7.000.000"]
    # Their price is the estimate the builder shows while the product stays the same.
    assert (prices[0]["data-quoted"], prices[0]["data-quoted-for"]) == ("10500000", "MB-01")
    assert prices[2].get("data-quoted") is None


# -- who approves ------------------------------------------------------------------------------


async def test_two_approvers_from_a_total_are_shown_and_sent_in_either_mode(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer(
        "GET",
        "/api/approval-rules",
        rules(mode="all", max_below_level_pct=None, second_approval_min_total=10**9),
    )
    stand_in.upstream.answer("GET", "/api/users", page([]))

    html = Html((await manager.get("/settings/approval-rules")).text)

    assert html.by_id("second_approval_min_total")["value"] == "1,000,000,000"
    expected = translate("en", "rules.summary_second", amount=money("en", 10**9))
    assert html.all(data_testid="rules-second-approval")[0].text == expected

    stand_in.upstream.answer("PUT", "/api/approval-rules", rules())
    form = {"mode": "all", "second_approval_min_total": "2,000,000,000"}
    assert (await manager.post("/settings/approval-rules", form)).status_code == 303
    assert stand_in.upstream.last("PUT", "/api/approval-rules").body == {
        "mode": "all",
        "second_approval_min_total": "2000000000",
    }


def pending(**overrides: Any) -> dict[str, Any]:
    return {
        **quote(LINES),
        "status": "pending_approval",
        "submission": 1,
        "submitted_at": "2027-01-05T02:00:00Z",
        "credit_check": {
            "status": "failed",
            "exposure": 90,
            "open_receivables": 10,
            "committed": 30,
            "credit_limit": 50,
            "checked_at": "2027-01-05T02:00:01Z",
        },
        "created_by": str(uuid.uuid4()),
        **overrides,
    }


async def test_the_maker_and_the_first_approver_get_a_note_instead_of_the_approve_button(
    stand_in: Pages,
) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}/history", page([]))

    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", pending(created_by=manager.id))
    html = Html((await manager.get(f"/quotes/{QUOTE}")).text)
    assert html.all(data_testid="own-quote")[0].text == translate("en", "quote.own_no_approval")
    assert not html.all("form", action=f"/quotes/{QUOTE}/approve")
    assert html.all(data_testid="credit-committed")[0].text == money("en", 30)

    first = pending(first_approved_by=manager.id, first_approved_at="2027-01-05T03:00:00Z")
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", first)
    html = Html((await manager.get(f"/quotes/{QUOTE}")).text)
    assert html.all(data_testid="second-approver")
    assert html.all(data_testid="first-approval")
    assert not html.all("form", action=f"/quotes/{QUOTE}/approve")

    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", pending())
    html = Html((await manager.get(f"/quotes/{QUOTE}")).text)
    assert html.all("form", action=f"/quotes/{QUOTE}/approve")
