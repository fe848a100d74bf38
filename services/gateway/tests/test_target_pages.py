"""The targets pages and the provinces' map, as a browser gets them: the gateway on a real
database, marketing and sales played by a stand-in whose answers each test scripts, so
what is checked is what the page sends to the API and what it makes of the answer."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import money, percent, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

YEAR = str(date.today().year)
# Fixed, not random: they are in test ids, which every worker of a parallel run
# (pytest-xdist) must collect alike.
CHANNEL = "5d1e2c8a-0c1f-4f5e-9a57-2b6f3c1d9e01"
DEALER = "8a3b7e55-6d2c-4b1a-8f0e-c4d9a2e7b602"
TARGET = "c2f9d4e1-3a8b-4c6d-9e2f-7b1a5c3d8e03"


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    """The stand-in with the channels and products every page asks for, and nothing else."""
    pages.upstream.reset()
    pages.upstream.answer(
        "GET",
        "/api/channels",
        page(
            [
                {"id": CHANNEL, "name": "Nhà phân phối Miền Bắc", "parent_id": None, "active": True},
                {"id": DEALER, "name": "Đại lý Hà Đông", "parent_id": CHANNEL, "active": True},
            ]
        ),
    )
    pages.upstream.answer("GET", "/api/products", page([{"product_group": "máy bơm"}]))
    return pages


def target(**overrides: Any) -> dict[str, Any]:
    return {
        "id": TARGET,
        "period": YEAR,
        "region_code": "01",
        "channel_id": DEALER,
        "salesperson_id": None,
        "product_group": "máy bơm",
        "amount": 10_000_000_000,
        "currency": "VND",
        "revision": 1,
        "entered_by": str(uuid.uuid4()),
        "entered_at": "2027-01-05T02:00:00Z",
        "updated_at": "2027-01-05T02:00:00Z",
        **overrides,
    }


def refused_at(field: str, message: str, code: str, **params: Any) -> dict[str, Any]:
    """A field's item in a 422 as the API answers it: `type` its code, `ctx` its params."""
    return {"loc": ["body", field], "msg": message, "type": code, "ctx": params}


# -- the list and the form -----------------------------------------------------------------


async def test_the_list_names_what_each_target_covers_and_sends_the_filters(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    stand_in.upstream.answer("GET", "/api/targets", page([target()]))

    answer = await marketer.get("/targets", region_code="01", product_group="máy bơm")

    assert answer.status_code == 200
    html = Html(answer.text)
    rows = html.all("tr", data_target_id=TARGET)
    assert len(rows) == 1
    assert "Hà Nội" in rows[0].text and "Đại lý Hà Đông" in rows[0].text and "máy bơm" in rows[0].text
    assert money("vi", 10_000_000_000) in rows[0].text
    assert html.all("a", href=f"/targets/{TARGET}")
    sent = stand_in.upstream.last("GET", "/api/targets").query
    assert sent == {
        "limit": "50",
        "offset": "0",
        "period": YEAR,
        "region_code": "01",
        "product_group": "máy bơm",
    }
    # A planner gets the form, with the filter's province chosen already.
    assert html.has_id("new-target")
    chosen = [e for e in html.all("option", value="01") if "selected" in e.attrs]
    assert [e.text for e in chosen] == ["Hà Nội (01)", "Hà Nội (01)"]


async def test_a_salesperson_sees_their_own_targets_read_only(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/targets", page([target(salesperson_id=seller.id)]))

    answer = await seller.get("/targets", salesperson_id=str(uuid.uuid4()))

    html = Html(answer.text)
    assert html.all("h1")[0].text == translate("vi", "targets.mine")
    assert not html.has_id("new-target")
    assert not html.has_id("f-salesperson_id")
    # Whatever the address says, the page asks for the salesperson's own.
    assert stand_in.upstream.last("GET", "/api/targets").query["salesperson_id"] == seller.id
    assert translate("vi", "me") in html.all("tr", data_target_id=TARGET)[0].text
    nav = [a.text for a in html.all("a") if a.get("href") == "/targets"]
    assert translate("vi", "nav.my_targets") in nav


async def test_setting_a_target_sends_the_amount_as_typed_without_separators(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    stand_in.upstream.answer("POST", "/api/targets", target(), status=201)

    answer = await marketer.post(
        "/targets",
        {
            "period": YEAR,
            "region_code": "01",
            "channel_id": DEALER,
            "salesperson_id": "",
            "product_group": "",
            "amount": "10.000.000.000",
        },
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/targets/{TARGET}"
    body = stand_in.upstream.last("POST", "/api/targets").body
    # Blank choices are left out: the API reads them as "any".
    assert body == {"period": YEAR, "region_code": "01", "channel_id": DEALER, "amount": "10000000000"}


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_refused_target_shows_each_problem_at_its_field_in_the_users_language(
    stand_in: Pages, lang: str
) -> None:
    marketer = await stand_in.person(Role.MARKETING, lang=lang)
    stand_in.upstream.answer("GET", "/api/targets", page([]))
    refusal = [
        refused_at(
            "period",
            "period '2027-13' is not a year (2026), a quarter (2026-Q3) or a month",
            "period.not_year_quarter_or_month",
            period="2027-13",
        ),
        refused_at(
            "salesperson_id",
            "an.nguyen is deactivated",
            "target.salesperson_deactivated",
            username="an.nguyen",
        ),
        {"loc": ["body", "amount"], "msg": "too small", "type": "greater_than_equal", "ctx": {"ge": 0}},
    ]
    stand_in.upstream.answer("POST", "/api/targets", {"detail": refusal}, status=422)
    someone = str(uuid.uuid4())

    answer = await marketer.post(
        "/targets",
        {"period": "2027-13", "region_code": "01", "salesperson_id": someone, "amount": "-5.000"},
    )

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("period-error").text == translate(lang, "target.err.period")
    assert html.by_id("salesperson_id-error").text == translate(lang, "target.err.salesperson_deactivated")
    assert html.by_id("amount-error").text == translate(lang, "err.greater_than_equal", limit=0)
    assert html.by_id("amount").get("aria-invalid") == "true"
    # What was typed stays, as typed.
    assert html.by_id("amount")["value"] == "-5.000"
    assert html.by_id("period")["value"] == "2027-13"


@pytest.mark.parametrize(
    ("field", "message", "code", "key"),
    [
        ("region_code", "no province matches 'Atlantis'", "region.no_match", "target.err.region"),
        ("channel_id", f"channel {CHANNEL} not found", "target.channel_unknown", "target.err.channel"),
        (
            "salesperson_id",
            f"no member of staff {CHANNEL}",
            "target.salesperson_unknown",
            "target.err.salesperson",
        ),
        (
            "salesperson_id",
            "ke.toan is accountant, not in sales",
            "target.salesperson_not_selling",
            "target.err.salesperson_not_selling",
        ),
    ],
)
async def test_each_rule_the_api_checks_has_its_own_words(
    stand_in: Pages, field: str, message: str, code: str, key: str
) -> None:
    marketer = await stand_in.person(Role.MARKETING, lang="en")
    stand_in.upstream.answer("GET", "/api/targets", page([]))
    stand_in.upstream.answer(
        "POST", "/api/targets", {"detail": [refused_at(field, message, code)]}, status=422
    )

    answer = await marketer.post("/targets", {"period": YEAR, "region_code": "01", "amount": "1"})

    assert Html(answer.text).by_id(f"{field}-error").text == translate("en", key)


async def test_a_second_target_for_a_scope_links_to_the_first(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    stand_in.upstream.answer("GET", "/api/targets", page([]))
    detail = (
        f"{YEAR} has a target for this scope already ({TARGET}); revise it with PATCH /api/targets/{TARGET}"
    )
    body = {"detail": detail, "code": "target.exists", "params": {"target": TARGET, "period": YEAR}}
    stand_in.upstream.answer("POST", "/api/targets", body, status=409)

    answer = await marketer.post("/targets", {"period": YEAR, "region_code": "01", "amount": "5"})

    assert answer.status_code == 409
    html = Html(answer.text)
    assert translate("vi", "target.err.exists") in html.by_id("problems").text
    assert [a.text for a in html.all("a", href=f"/targets/{TARGET}")] == [
        translate("vi", "target.open_existing")
    ]


async def test_a_filter_the_api_refuses_is_shown_at_the_filter(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    refused = "period '2027-Q5' is not a year (2026), a quarter (2026-Q3) or a month (2026-03)"
    body = {"detail": refused, "code": "period.not_year_quarter_or_month", "params": {"period": "2027-Q5"}}
    stand_in.upstream.answer("GET", "/api/targets", body, status=422)

    answer = await marketer.get("/targets", period="2027-Q5")

    assert answer.status_code == 422
    assert Html(answer.text).by_id("f-period-error").text == translate("vi", "target.err.period")


# -- one target ------------------------------------------------------------------------------


async def test_a_targets_page_shows_who_changed_it_when_and_from_what(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    first = {
        "revision": 1,
        "amount": 12_000_000_000,
        "previous_amount": None,
        "entered_by": marketer.id,
        "entered_at": "2027-01-05T02:00:00Z",
    }
    second = {**first, "revision": 2, "amount": 10_000_000_000, "previous_amount": 12_000_000_000}
    shown = target(revision=2, entered_by=marketer.id, revisions=[first, second])
    stand_in.upstream.answer("GET", f"/api/targets/{TARGET}", shown)

    html = Html((await marketer.get(f"/targets/{TARGET}")).text)

    assert html.all(data_testid="target-amount")[0].text == money("vi", 10_000_000_000)
    history = [r.text for r in html.all("tr") if r.text.startswith(("05/01/2027",))]
    me, first = translate("vi", "me"), translate("vi", "target.first")
    assert history == [
        f"05/01/2027 09:00 {me} {money('vi', 12_000_000_000)} {money('vi', 10_000_000_000)}",
        f"05/01/2027 09:00 {me} {first} {money('vi', 12_000_000_000)}",
    ]
    # The revise form starts from the amount, written the user's way.
    assert html.by_id("amount")["value"] == "10.000.000.000"
    links = {a["href"] for a in html.all("a", href="") if a["href"].startswith("/targets/")}
    assert (
        f"/targets/attainment?period={YEAR}&region_code=01&channel_id={DEALER}&product_group=m%C3%A1y+b%C6%A1m"
        in links
    )


async def test_revising_sends_the_new_amount_and_a_refusal_stays_on_the_page(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING, lang="en")
    stand_in.upstream.answer("GET", f"/api/targets/{TARGET}", target(revisions=[]))
    stand_in.upstream.answer("PATCH", f"/api/targets/{TARGET}", target(amount=9_500_000_000))

    answer = await marketer.post(f"/targets/{TARGET}", {"amount": "9,500,000,000"})

    assert answer.status_code == 303 and answer.headers["location"] == f"/targets/{TARGET}"
    assert stand_in.upstream.last("PATCH", f"/api/targets/{TARGET}").body == {"amount": "9500000000"}

    refusal = [{"loc": ["body", "amount"], "msg": "not an int", "type": "int_parsing"}]
    stand_in.upstream.answer("PATCH", f"/api/targets/{TARGET}", {"detail": refusal}, status=422)
    answer = await marketer.post(f"/targets/{TARGET}", {"amount": "ten"})
    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("amount-error").text == translate("en", "err.int_parsing")
    assert html.by_id("amount")["value"] == "ten"


async def test_a_salesperson_reads_a_target_without_the_form_and_anothers_is_not_found(
    stand_in: Pages,
) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", f"/api/targets/{TARGET}", target(salesperson_id=seller.id, revisions=[]))
    html = Html((await seller.get(f"/targets/{TARGET}")).text)
    assert not html.has_id("revise-target")

    stand_in.upstream.answer("GET", f"/api/targets/{TARGET}", {"detail": "target not found"}, status=404)
    assert (await seller.get(f"/targets/{TARGET}")).status_code == 404


# -- plan against actual ---------------------------------------------------------------------


def attained(region: str, target_amount: int, actual: int, **scope: Any) -> dict[str, Any]:
    return {
        "region_code": region,
        "channel_id": None,
        "salesperson_id": None,
        "product_group": None,
        "target": target_amount,
        "actual": actual,
        "attainment": actual / target_amount if target_amount else None,
        **scope,
    }


async def test_plan_against_actual_shows_each_scope_with_its_bar(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    report = {
        "period": YEAR,
        "rows": [
            attained("01", 10_000_000_000, 1_000_000_000, channel_id=DEALER),
            attained("79", 0, 5_000_000),
            attained("48", 2_000_000, 2_500_000, product_group="máy bơm"),
        ],
    }
    stand_in.upstream.answer("GET", "/api/targets/attainment", report)

    html = Html((await manager.get("/targets/attainment", period=YEAR, channel_id="")).text)

    rows = {r["data-region-code"]: r for r in html.all("tr", data_region_code="")}
    assert {code: r["data-bucket"] for code, r in rows.items()} == {"01": "0", "79": "none", "48": "4"}
    assert "Ha Noi" in rows["01"].text and "Đại lý Hà Đông" in rows["01"].text
    assert percent("en", 0.1) in rows["01"].text
    assert money("en", 1_000_000_000) in rows["01"].text
    assert "—" in rows["79"].text  # a target of nothing has no attainment
    assert percent("en", 1.25) in rows["48"].text
    fills = [e["class"].split() for e in html.all("span", **{"class": ""}) if "fill" in e["class"].split()]
    widths = [c for classes in fills for c in classes if c.startswith("w-")]
    assert widths == ["w-10", "w-0", "w-100"]  # the bar stops at the target
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query == {"period": YEAR}


async def test_plan_against_actual_without_a_period_is_this_years(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/targets/attainment", {"period": YEAR, "rows": []})

    html = Html((await seller.get("/targets/attainment")).text)

    assert translate("vi", "attainment.none") in html.all(data_testid="attainment")[0].text
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query == {
        "period": YEAR,
        "salesperson_id": seller.id,
    }


# -- the provinces' map ------------------------------------------------------------------------


def provinces(html: Html) -> dict[str, Any]:
    """The map's provinces by code (the SVG's elements, not the table's rows)."""
    return {e["data-region-code"]: e for e in html.all("a", data_region_code="")}


async def test_the_map_colours_each_province_by_its_attainment_and_links_to_its_figures(
    stand_in: Pages,
) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    report = {
        "period": YEAR,
        "rows": [
            attained("01", 10_000_000_000, 6_000_000_000, channel_id=DEALER),
            attained("79", 1_000_000_000, 1_000_000_000),
        ],
    }
    stand_in.upstream.answer("GET", "/api/targets/attainment", report)

    answer = await marketer.get("/targets/map", product_group="máy bơm")

    assert answer.status_code == 200
    html = Html(answer.text)
    shown = provinces(html)
    assert len(shown) == 34
    assert {code: e["data-bucket"] for code, e in shown.items() if e["data-bucket"] != "none"} == {
        "01": "2",
        "79": "4",
    }
    assert shown["01"]["class"] == "province tone-2"
    assert shown["01"].text.startswith("Hà Nội: ")  # its <title>, then its name and figure
    assert percent("vi", 0.6, 0) in shown["01"].text
    assert (
        shown["01"]["href"]
        == f"/targets/attainment?period={YEAR}&product_group=m%C3%A1y+b%C6%A1m&region_code=01"
    )
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query == {
        "period": YEAR,
        "product_group": "máy bơm",
    }
    legend = {li["data-bucket"]: li.text for li in html.all("li", data_bucket="")}
    assert list(legend) == ["0", "1", "2", "3", "4", "none"]
    assert legend["2"] == f"50% – 75% ({translate('vi', 'map.provinces.one', n=1)})"
    assert legend["none"] == f"{translate('vi', 'map.no_target')} ({translate('vi', 'map.provinces', n=32)})"


async def test_the_map_by_share_white_space_and_revenue_counts_each_sale_once(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")

    def row(region: str, channel: str | None, revenue: int, volume: int | None) -> dict[str, Any]:
        return {"region_code": region, "channel_id": channel, "revenue": revenue, "market_volume": volume}

    report = {
        "period": YEAR,
        "rows": [
            # Hà Nội: the distributor's 300 include its dealer's 100; 50 sold without a channel.
            row("01", CHANNEL, 300, 1_000),
            row("01", DEALER, 100, 1_000),
            row("01", None, 50, 1_000),
            row("48", CHANNEL, 100, None),
        ],
        "white_space": [{"region_code": "79", "region_name": "Hồ Chí Minh", "market_volume": 500}],
    }
    stand_in.upstream.answer("GET", "/api/market-share", report)

    def buckets(html: Html) -> dict[str, str]:
        return {code: e["data-bucket"] for code, e in provinces(html).items() if e["data-bucket"] != "none"}

    share = Html((await manager.get("/targets/map", measure="share")).text)
    # Hà Nội sold 350 of 1,000: 35%; Hồ Chí Minh nothing of its 500; Đà Nẵng has no estimate.
    assert buckets(share) == {"01": "3", "79": "0"}
    assert percent("en", 0.35) in provinces(share)["01"].text
    assert provinces(share)["01"]["href"] == f"/marketing/share?period={YEAR}&region_code=01"

    white = Html((await manager.get("/targets/map", measure="white_space")).text)
    assert buckets(white) == {"79": "4", "01": "1", "48": "1"}

    revenue = Html((await manager.get("/targets/map", measure="revenue")).text)
    assert {k: v for k, v in buckets(revenue).items() if v != "0"} == {"01": "4", "48": "2"}

    # One channel: its own rows (which count what sells through it).
    dealer = Html((await manager.get("/targets/map", measure="revenue", channel_id=DEALER)).text)
    assert {k: v for k, v in buckets(dealer).items() if v != "0"} == {"01": "4"}
    assert stand_in.upstream.last("GET", "/api/market-share").query == {"period": YEAR, "channel_id": DEALER}


async def test_a_salesperson_maps_their_own_attainment_only(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer(
        "GET",
        "/api/targets/attainment",
        {"period": YEAR, "rows": [attained("01", 100, 30, salesperson_id="x")]},
    )

    html = Html((await seller.get("/targets/map", measure="share")).text)

    assert [o["value"] for o in html.all("option") if o.get("value") in ("attainment", "share")] == [
        "attainment"
    ]
    assert provinces(html)["01"]["data-bucket"] == "1"
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query["salesperson_id"] == seller.id
    assert not stand_in.upstream.calls("GET", "/api/market-share")


async def test_a_period_the_share_report_refuses_is_shown_and_the_map_still_drawn(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    refused = "period '2027-13' is not a year (2026) or a quarter (2026-Q3)"
    body = {"detail": refused, "code": "period.not_year_or_quarter", "params": {"period": "2027-13"}}
    stand_in.upstream.answer("GET", "/api/market-share", body, status=422)

    answer = await marketer.get("/targets/map", measure="share", period="2027-13")

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("period-error").text == translate("vi", "target.err.period")
    assert {e["data-bucket"] for e in provinces(html).values()} == {"none"}
