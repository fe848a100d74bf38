"""The price lists' pages, as a browser gets them: the gateway on a real database, sales
played by a stand-in whose answers each test scripts, so what is checked is what the
pages send to the API and what they make of its answers and refusals."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import DEFAULT_ZONE, format_date, money, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

LIST = str(uuid.uuid4())
#: The business's day (the pages' calendar), not the machine's.
TODAY = datetime.now(DEFAULT_ZONE).date()
LAST_YEAR = TODAY.year - 1
PRODUCTS = [
    {"code": "MB-01", "name": "Máy bơm ly tâm", "product_group": "bơm", "unit_price": 12_000_000},
    {"code": "MN-02", "name": "Máy nén khí", "product_group": "nén", "unit_price": 30_000_000},
]


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    pages.upstream.answer("GET", "/api/products", page(PRODUCTS))
    return pages


def price_list(**overrides: Any) -> dict[str, Any]:
    someone = str(uuid.uuid4())
    return {
        "id": LIST,
        "name": "Giá đại lý 2027",
        "channel_kind": "dealer",
        "grade": None,
        "valid_from": TODAY.isoformat(),
        "valid_to": None,
        "currency": "VND",
        "item_count": 1,
        "created_by": someone,
        "created_at": "2027-01-05T02:00:00Z",
        "updated_by": someone,
        "updated_at": "2027-01-05T02:00:00Z",
        "items": [{"product_code": "MB-01", "unit_price": 10_500_000}],
        "history": [],
        **overrides,
    }


def refused(*items: tuple[list[Any], str, str]) -> dict[str, Any]:
    return {"detail": [{"loc": ["body", *loc], "msg": msg, "type": kind} for loc, msg, kind in items]}


# -- the list -------------------------------------------------------------------------------


async def test_the_list_names_each_lists_scope_and_state_and_sends_the_filters(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    ended = price_list(
        id=str(uuid.uuid4()),
        name=f"VIP {LAST_YEAR}",
        channel_kind=None,
        grade="VIP",
        valid_from=f"{LAST_YEAR}-01-01",
        valid_to=f"{LAST_YEAR}-12-31",
        item_count=12,
    )
    upcoming = price_list(id=str(uuid.uuid4()), valid_from=(TODAY + timedelta(days=3)).isoformat())
    stand_in.upstream.answer("GET", "/api/price-lists", page([price_list(), ended, upcoming]))

    answer = await manager.get("/settings/price-lists", channel_kind="dealer", product_code="MB-01")

    assert answer.status_code == 200
    html = Html(answer.text)
    rows = {r["data-price-list-id"]: r.text for r in html.all("tr", data_price_list_id="")}
    assert translate("en", "pl.for_kind", kind=translate("en", "ckind.dealer")) in rows[LIST]
    assert translate("en", "pl.open_ended") in rows[LIST]
    assert translate("en", "pl.state.current") in rows[LIST]
    assert translate("en", "pl.for_grade", grade="VIP") in rows[ended["id"]]
    assert format_date("en", f"{LAST_YEAR}-12-31") in rows[ended["id"]]
    assert translate("en", "pl.state.ended") in rows[ended["id"]]
    assert translate("en", "pl.state.upcoming") in rows[upcoming["id"]]
    assert stand_in.upstream.last("GET", "/api/price-lists").query == {
        "limit": "50",
        "offset": "0",
        "channel_kind": "dealer",
        "product_code": "MB-01",
    }
    assert html.all("a", href="/settings/price-lists/new")
    # The product filter names the products.
    chosen = [o for o in html.all("option", value="MB-01") if "selected" in o.attrs]
    assert chosen[0].text == "MB-01 · Máy bơm ly tâm"


async def test_a_salesperson_reads_the_lists_without_the_forms(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/price-lists", page([price_list()]))
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", price_list())

    listed = Html((await seller.get("/settings/price-lists")).text)
    one = Html((await seller.get(f"/settings/price-lists/{LIST}")).text)

    assert not listed.all("a", href="/settings/price-lists/new")
    assert listed.all("a", href=f"/settings/price-lists/{LIST}")
    assert not one.has_id("edit-price-list") and not one.has_id("end-price-list")
    assert money("vi", 10_500_000) in one.all(data_testid="price-list-items")[0].text


async def test_a_filter_the_api_refuses_is_shown_at_the_filter(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    refusal = [
        {
            "loc": ["query", "valid_on"],
            "msg": "Input should be a valid date",
            "type": "date_from_datetime_parsing",
        }
    ]
    stand_in.upstream.answer("GET", "/api/price-lists", {"detail": refusal}, status=422)

    answer = await manager.get("/settings/price-lists", valid_on="31/02/2027")

    assert answer.status_code == 422
    assert Html(answer.text).by_id("valid_on-error").text == translate("vi", "err.date_from_datetime_parsing")


# -- making one -----------------------------------------------------------------------------


async def test_the_new_list_sends_the_filled_rows_with_their_prices_as_numbers(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("POST", "/api/price-lists", price_list(), status=201)
    form = Html((await manager.get("/settings/price-lists/new")).text)
    assert form.by_id("valid_from")["value"] == TODAY.isoformat()
    assert len(form.all("tr", **{"class": "item-row"})) == 3

    answer = await manager.post(
        "/settings/price-lists/new",
        {
            "op": "create",
            "name": "Giá đại lý 2027",
            "channel_kind": "dealer",
            "grade": "",
            "valid_from": "2027-01-01",
            "valid_to": "",
            "items.0.product_code": "MB-01",
            "items.0.unit_price": "10.500.000",
            "items.1.product_code": "",
            "items.1.unit_price": "",
            "items.2.product_code": "MN-02",
            "items.2.unit_price": "27 000 000",
        },
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/settings/price-lists/{LIST}"
    assert stand_in.upstream.last("POST", "/api/price-lists").body == {
        "name": "Giá đại lý 2027",
        "channel_kind": "dealer",
        "valid_from": "2027-01-01",
        "items": [
            {"product_code": "MB-01", "unit_price": "10500000"},
            {"product_code": "MN-02", "unit_price": "27000000"},
        ],
    }


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_refused_list_shows_each_problem_at_its_field_and_row(stand_in: Pages, lang: str) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang=lang)
    scope = "give exactly one of channel_kind and grade: a price list is for one or the other"
    stand_in.upstream.answer(
        "POST",
        "/api/price-lists",
        refused(
            (["channel_kind"], scope, "price_list.channel_kind_or_grade"),
            (["grade"], scope, "price_list.channel_kind_or_grade"),
            (
                ["valid_to"],
                "valid_to 2026-01-01 is before the list's valid_from 2027-01-01",
                "price_list.ends_before_start",
            ),
            (
                ["items", 1, "product_code"],
                "product MB-01 is repeated (item 0)",
                "price_list.product_repeated",
            ),
        ),
        status=422,
    )

    answer = await manager.post(
        "/settings/price-lists/new",
        {
            "name": "Giá",
            "channel_kind": "dealer",
            "grade": "A",
            "valid_from": "2027-01-01",
            "valid_to": "2026-01-01",
            "items.0.product_code": "MB-01",
            "items.0.unit_price": "1.000",
            "items.1.product_code": "",
            "items.1.unit_price": "",
            "items.2.product_code": "MB-01",
            "items.2.unit_price": "-5",
        },
    )

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("channel_kind-error").text == translate(lang, "pl.err.scope")
    assert html.by_id("grade-error").text == translate(lang, "pl.err.scope")
    assert html.by_id("valid_to-error").text == translate(lang, "pl.err.valid_to")
    # The blank row is gone: the body's item 1 is the form's row 1 again.
    assert html.by_id("items-1-product_code-error").text == translate(lang, "pl.err.repeated")
    assert html.by_id("items-1-product_code").get("aria-invalid") == "true"
    assert html.by_id("items-1-unit_price")["value"] == "-5"
    assert html.by_id("items-0-unit_price")["value"] == "1.000"
    assert [o.text for o in html.all("option") if "selected" in o.attrs and o.get("value") == "A"] == ["A"]


async def test_a_list_without_products_is_refused_at_the_first_row(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    refusal = refused((["items"], "List should have at least 1 item after validation", "too_short"))
    stand_in.upstream.answer("POST", "/api/price-lists", refusal, status=422)

    answer = await manager.post("/settings/price-lists/new", {"name": "x", "grade": "A"})

    assert Html(answer.text).by_id("items-0-product_code-error").text == translate("en", "pl.err.no_items")


async def test_more_rows_draws_the_form_again_without_asking_the_api(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    form = {
        "op": "more",
        "name": "Giá",
        "items.0.product_code": "MB-01",
        "items.0.unit_price": "1",
        "items.1.product_code": "",
        "items.1.unit_price": "",
    }

    html = Html((await manager.post("/settings/price-lists/new", form)).text)

    assert len(html.all("tr", **{"class": "item-row"})) == 5  # the one filled, one blank, three more
    assert html.by_id("name")["value"] == "Giá"
    assert not stand_in.upstream.calls("POST", "/api/price-lists")


# -- one list ------------------------------------------------------------------------------


async def test_a_lists_page_shows_its_items_and_its_history_in_words(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    history = [
        {
            "entity": "price_list",
            "entity_id": LIST,
            "action": "created",
            "actor_id": manager.id,
            "changes": {"name": "Giá", "items": {"MB-01": [None, 11_000_000]}},
            "at": "2027-01-05T02:00:00Z",
        },
        {
            "entity": "price_list",
            "entity_id": LIST,
            "action": "edited",
            "actor_id": manager.id,
            "changes": {
                "name": ["Giá", "Giá đại lý 2027"],
                "valid_to": [None, "2027-12-31"],
                "items": {"MB-01": [11_000_000, 10_500_000], "MN-02": [28_000_000, None]},
            },
            "at": "2027-02-05T02:00:00Z",
        },
    ]
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", price_list(history=history))

    html = Html((await manager.get(f"/settings/price-lists/{LIST}")).text)

    items = html.all("tr", data_product_code="MB-01")
    assert "Máy bơm ly tâm" in items[0].text and money("en", 12_000_000) in items[0].text
    assert "-12.5%" in items[0].text  # 10,500,000 against 12,000,000
    rows = [r.text for r in html.all("tr")]
    edited = next(r for r in rows if r.startswith(format_date("en", "2027-02-05")))
    assert translate("en", "pl.action.edited") in edited
    assert f"{translate('en', 'pl.name')}: Giá → Giá đại lý 2027" in edited
    assert f"{translate('en', 'pl.valid_to')}: {translate('en', 'pl.open_ended')} → 31 Dec 2027" in edited
    assert f"MB-01 · Máy bơm ly tâm: {money('en', 11_000_000)} → {money('en', 10_500_000)}" in edited
    removed = translate("en", "pl.item_removed", product="MN-02 · Máy nén khí", price=money("en", 28_000_000))
    assert removed in edited
    created = next(r for r in rows if r.startswith(format_date("en", "2027-01-05")))
    added = translate("en", "pl.item_added", product="MB-01 · Máy bơm ly tâm", price=money("en", 11_000_000))
    assert added in created and translate("en", "me") in created
    # The edit form starts from the list, amounts written the user's way.
    assert html.by_id("current-0-unit_price")["value"] == "10,500,000"
    assert html.by_id("name")["value"] == "Giá đại lý 2027"
    assert html.has_id("end-price-list")


async def test_editing_sends_only_what_changed(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("PATCH", f"/api/price-lists/{LIST}", price_list())
    form = {
        "op": "save",
        "name": "Giá đại lý 2027",
        "valid_to": "2027-12-31",
        "current.0.product_code": "MB-01",
        "current.0.was": "10500000",
        "current.0.unit_price": "10.500.000",
        "current.1.product_code": "MN-02",
        "current.1.was": "28000000",
        "current.1.unit_price": "27.500.000",
        "current.2.product_code": "MX-03",
        "current.2.was": "5000000",
        "current.2.unit_price": "5.000.000",
        "current.2.remove": "1",
        "items.0.product_code": "",
        "items.0.unit_price": "",
        "items.1.product_code": "MB-09",
        "items.1.unit_price": "900.000",
    }

    answer = await manager.post(f"/settings/price-lists/{LIST}", form)

    assert answer.status_code == 303
    assert stand_in.upstream.last("PATCH", f"/api/price-lists/{LIST}").body == {
        "name": "Giá đại lý 2027",
        "valid_to": "2027-12-31",
        "items": [
            {"product_code": "MN-02", "unit_price": "27500000"},
            {"product_code": "MB-09", "unit_price": "900000"},
        ],
        "remove": ["MX-03"],
    }

    # Blank, the last day goes: the list is open-ended again.
    await manager.post(f"/settings/price-lists/{LIST}", {"name": "Giá", "valid_to": ""})
    assert stand_in.upstream.last("PATCH", f"/api/price-lists/{LIST}").body == {
        "name": "Giá",
        "valid_to": None,
    }


async def test_a_refused_edit_shows_the_problem_at_the_row_it_is_about(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", price_list())
    refusal = refused(
        (["items", 0, "unit_price"], "Input should be a valid integer", "int_parsing"),
        (["items", 1, "product_code"], "no product NOPE", "product.unknown"),
    )
    stand_in.upstream.answer("PATCH", f"/api/price-lists/{LIST}", refusal, status=422)
    form = {
        "name": "Giá",
        "current.0.product_code": "MB-01",
        "current.0.was": "10500000",
        "current.0.unit_price": "lots",
        "items.0.product_code": "",
        "items.0.unit_price": "",
        "items.1.product_code": "NOPE",
        "items.1.unit_price": "5",
    }

    answer = await manager.post(f"/settings/price-lists/{LIST}", form)

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("current-0-unit_price-error").text == translate("en", "err.int_parsing")
    assert html.by_id("current-0-unit_price")["value"] == "lots"
    # The new row is the form's first now (the blank one before it is gone).
    assert html.by_id("items-0-product_code-error").text == translate("en", "pl.err.no_product")
    assert html.by_id("items-0-unit_price")["value"] == "5"


async def test_ending_sends_the_last_day_and_a_refusal_is_in_the_users_words(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", price_list())
    stand_in.upstream.answer("POST", f"/api/price-lists/{LIST}/end", price_list(valid_to="2027-06-30"))

    answer = await manager.post(f"/settings/price-lists/{LIST}/end", {"end.valid_to": "2027-06-30"})
    assert answer.status_code == 303
    assert stand_in.upstream.last("POST", f"/api/price-lists/{LIST}/end").body == {"valid_to": "2027-06-30"}
    await manager.post(f"/settings/price-lists/{LIST}/end", {"end.valid_to": ""})
    assert stand_in.upstream.last("POST", f"/api/price-lists/{LIST}/end").body == {}

    conflict = {
        "detail": f"price list {LIST} ended on 2027-06-30 already",
        "code": "price_list.already_ended",
        "params": {"valid_to": "2027-06-30"},
    }
    stand_in.upstream.answer("POST", f"/api/price-lists/{LIST}/end", conflict, status=409)
    answer = await manager.post(f"/settings/price-lists/{LIST}/end", {"end.valid_to": "2027-07-30"})
    assert answer.status_code == 409
    assert translate("vi", "pl.err.ended_already") in Html(answer.text).by_id("problems").text

    early = refused(
        (
            ["valid_to"],
            "valid_to 2020-01-01 is before the list's valid_from 2027-01-01",
            "price_list.ends_before_start",
        )
    )
    stand_in.upstream.answer("POST", f"/api/price-lists/{LIST}/end", early, status=422)
    answer = await manager.post(f"/settings/price-lists/{LIST}/end", {"end.valid_to": "2020-01-01"})
    html = Html(answer.text)
    assert html.by_id("end-valid_to-error").text == translate("vi", "pl.err.valid_to")
    assert html.by_id("end-valid_to")["value"] == "2020-01-01"


async def test_an_unknown_list_is_not_found(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", f"/api/price-lists/{LIST}", {"detail": "not found"}, status=404)
    assert (await manager.get(f"/settings/price-lists/{LIST}")).status_code == 404
