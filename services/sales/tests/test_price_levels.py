"""Price levels over HTTP: price lists per channel kind or grade, with their history; the
channel kinds sales learns from marketing's ChannelChanged; the price a quote line takes
when it gives none, and where it came from; the approval rule on lines below their level."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_contracts import ChannelChanged, CustomerGraded, CustomerRegistered
from crm_kit.auth import Role
from crm_testkit.catalogue import product_group
from crm_testkit.service import Staff as Actor

from .conftest import Sales, act, checked, new_quote, orders_of, promote

pytestmark = pytest.mark.integration


# -- helpers -----------------------------------------------------------------------------


async def product(sales: Sales, manager: Actor, unit_price: int = 1_000_000) -> str:
    """A product of its own for each test, so the lists of one test price nothing of another's."""
    code = f"P-{uuid.uuid4().hex[:8].upper()}"
    await product_group(sales.http, "pumps", headers=manager.headers)
    response = await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={"code": code, "name": f"Máy {code}", "product_group": "pumps", "unit_price": unit_price},
    )
    assert response.status_code == 201, response.text
    return code


async def channel(sales: Sales, kind: str, *, changed_at: datetime | None = None) -> uuid.UUID:
    """A channel of `kind`, as marketing announces it."""
    channel_id = uuid.uuid4()
    await announce(sales, channel_id, kind, changed_at or datetime.now(UTC))
    return channel_id


async def announce(sales: Sales, channel_id: uuid.UUID, kind: str, changed_at: datetime) -> None:
    event = ChannelChanged(
        channel_id=channel_id, name=f"Kênh {kind}", kind=kind, active=True, changed_at=changed_at
    )
    await sales.handled(await sales.publish(event))


async def customer(
    sales: Sales, owner: Actor, *, channel_id: uuid.UUID | None = None, grade: str | None = None
) -> uuid.UUID:
    """A traditional customer of `owner` in the channel, with the grade."""
    customer_id = uuid.uuid4()
    registered = CustomerRegistered(
        customer_id=customer_id,
        name=f"Công ty {customer_id.hex[:6]}",
        lifecycle_stage="prospect",
        owner_id=owner.id,
        region_code="01",
        channel_id=channel_id,
        grade=grade,
    )
    await sales.handled(await sales.publish(registered))
    await promote(sales, customer_id, owner, channel_id)
    return customer_id


async def price_list(sales: Sales, manager: Actor, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Bảng giá {uuid.uuid4().hex[:6]}")
    body.setdefault("valid_from", str(today(sales)))
    response = await sales.http.post("/api/price-lists", headers=manager.headers, json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def today(sales: Sales) -> date:
    return sales.settings.today()


def items(*prices: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"product_code": code, "unit_price": price} for code, price in prices]


def source(line: dict[str, Any]) -> tuple[str, str | None, int, int]:
    return line["price_source"], line["price_list_id"], line["unit_price"], line["level_price"]


def locations(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [problem["loc"] for problem in response.json()["detail"]]


# -- channel kinds -------------------------------------------------------------------------


async def test_sales_keeps_each_channels_kind_and_the_newest_change_wins(sales: Sales) -> None:
    now = datetime.now(UTC)
    channel_id = await channel(sales, "dealer", changed_at=now)
    await announce(sales, channel_id, "distributor", now - timedelta(minutes=5))  # an older one, late
    assert (
        await sales.scalar("SELECT kind FROM known_channels WHERE channel_id = :c", c=channel_id) == "dealer"
    )
    await announce(sales, channel_id, "agent", now + timedelta(minutes=5))
    assert (
        await sales.scalar("SELECT kind FROM known_channels WHERE channel_id = :c", c=channel_id) == "agent"
    )


# -- price lists -------------------------------------------------------------------------


async def test_a_manager_makes_a_price_list_a_salesperson_reads_it_and_is_refused_changing_it(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    pump, valve = await product(sales, manager), await product(sales, manager, 200_000)
    made = await price_list(
        sales,
        manager,
        name="Giá đại lý 2027",
        channel_kind="dealer",
        valid_from="2027-01-01",
        valid_to="2027-12-31",
        items=items((pump.lower(), 900_000), (valve, 180_000)),
    )
    assert (made["channel_kind"], made["grade"], made["valid_from"], made["valid_to"]) == (
        "dealer",
        None,
        "2027-01-01",
        "2027-12-31",
    )
    # Codes upper-case, in their order.
    assert made["items"] == sorted(items((pump, 900_000), (valve, 180_000)), key=lambda i: i["product_code"])
    [created] = made["history"]
    assert (created["action"], created["actor_id"]) == ("created", str(manager.id))
    assert created["changes"]["items"] == {pump: [None, 900_000], valve: [None, 180_000]}

    read = await sales.http.get(f"/api/price-lists/{made['id']}", headers=seller.headers)
    assert read.status_code == 200 and read.json()["items"] == made["items"]
    listed = await sales.http.get("/api/price-lists", headers=seller.headers, params={"product_code": pump})
    assert [(p["id"], p["item_count"]) for p in listed.json()["items"]] == [(made["id"], 2)]

    accountant = sales.actor(Role.ACCOUNTANT)
    before = await sales.scalar("SELECT count(*) FROM price_lists")
    for who in (seller, accountant):
        path = f"/api/price-lists/{made['id']}"
        refused = [
            await sales.http.post(
                "/api/price-lists",
                headers=who.headers,
                json={"name": "x", "grade": "A", "valid_from": "2027-01-01", "items": items((pump, 1))},
            ),
            await sales.http.patch(path, headers=who.headers, json={"name": "x"}),
            await sales.http.post(f"{path}/end", headers=who.headers, json={}),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
    assert await sales.scalar("SELECT count(*) FROM price_lists") == before
    assert (
        await sales.http.get(f"/api/price-lists/{made['id']}", headers=seller.headers)
    ).json() == read.json()
    assert (
        await sales.http.get(f"/api/price-lists/{uuid.uuid4()}", headers=seller.headers)
    ).status_code == 404


async def test_wrong_price_lists_are_refused_naming_the_field_and_write_nothing(
    sales: Sales, manager: Actor
) -> None:
    pump = await product(sales, manager)
    good = {"name": "Giá", "channel_kind": "dealer", "valid_from": "2027-01-01", "items": items((pump, 1))}
    before = await sales.scalar("SELECT count(*) FROM price_lists")
    cases: list[tuple[dict[str, Any], list[list[Any]]]] = [
        ({"grade": "VIP"}, [["body", "channel_kind"], ["body", "grade"]]),  # both
        ({"channel_kind": None}, [["body", "channel_kind"], ["body", "grade"]]),  # neither
        ({"channel_kind": "wholesale"}, [["body", "channel_kind"]]),
        ({"channel_kind": None, "grade": "Tier IV"}, [["body", "grade"]]),
        ({"items": items((pump, -1))}, [["body", "items", 0, "unit_price"]]),
        ({"items": items((pump, 1), ("NO-SUCH", 2))}, [["body", "items", 1, "product_code"]]),
        ({"items": items((pump, 1), (pump.lower(), 2))}, [["body", "items", 1, "product_code"]]),
        ({"items": []}, [["body", "items"]]),
        ({"valid_to": "2026-12-31"}, [["body", "valid_to"]]),
        ({"valid_from": "2027-02-30"}, [["body", "valid_from"]]),
        ({"currency": "USD"}, [["body", "currency"]]),
    ]
    for change, where in cases:
        response = await sales.http.post("/api/price-lists", headers=manager.headers, json={**good, **change})
        assert locations(response) == where, change
    repeated = await sales.http.post(
        "/api/price-lists", headers=manager.headers, json={**good, "items": items((pump, 1), (pump, 2))}
    )
    assert f"product {pump} is repeated (item 0)" in repeated.text
    assert await sales.scalar("SELECT count(*) FROM price_lists") == before
    vip = await price_list(sales, manager, **{**good, "channel_kind": None, "grade": " tier  ii "})
    assert vip["grade"] == "Tier II"


async def test_changes_to_a_list_are_kept_in_its_history(sales: Sales, manager: Actor) -> None:
    pump, valve, motor = [await product(sales, manager) for _ in range(3)]
    made = await price_list(
        sales, manager, grade="A", valid_from="2027-01-01", items=items((pump, 900), (valve, 500))
    )
    path = f"/api/price-lists/{made['id']}"
    patched = await sales.http.patch(
        path,
        headers=manager.headers,
        json={
            "name": "Giá hạng A",
            "valid_to": "2027-06-30",
            "items": items((valve, 450), (motor, 2_000)),
            "remove": [pump.lower()],
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["valid_to"]) == ("Giá hạng A", "2027-06-30")
    assert body["items"] == sorted(items((valve, 450), (motor, 2_000)), key=lambda i: i["product_code"])
    _, edited = body["history"]
    assert edited["action"] == "edited" and edited["actor_id"] == str(manager.id)
    assert edited["changes"] == {
        "name": [made["name"], "Giá hạng A"],
        "valid_to": [None, "2027-06-30"],
        "items": {valve: [500, 450], motor: [None, 2_000], pump: [900, None]},
    }
    reopened = await sales.http.patch(path, headers=manager.headers, json={"valid_to": None})
    assert reopened.json()["valid_to"] is None
    assert reopened.json()["history"][-1]["changes"] == {"valid_to": ["2027-06-30", None]}
    same = await sales.http.patch(path, headers=manager.headers, json={"items": items((motor, 2_000))})
    assert len(same.json()["history"]) == 3  # nothing changed, nothing recorded

    # The same trail at /audit, newest first, before and after apart (as every service's).
    trail = await sales.http.get(f"{path}/audit", headers=manager.headers)
    assert trail.status_code == 200, trail.text
    assert trail.json()["total"] == 3
    newest, audited_edit, audited_made = trail.json()["items"]
    assert (newest["before"], newest["after"]) == ({"valid_to": "2027-06-30"}, {"valid_to": None})
    assert audited_edit["before"] == {
        "name": made["name"],
        "valid_to": None,
        "items": {valve: 500, pump: 900},
    }
    assert audited_edit["after"] == {
        "name": "Giá hạng A",
        "valid_to": "2027-06-30",
        "items": {valve: 450, motor: 2_000},
    }
    assert (audited_made["action"], audited_made["after"]["grade"]) == ("created", "A")
    assert audited_edit["actor_id"] == str(manager.id)
    missing_trail = await sales.http.get(f"/api/price-lists/{uuid.uuid4()}/audit", headers=manager.headers)
    assert missing_trail.status_code == 404

    before = (await sales.http.get(path, headers=manager.headers)).json()
    cases: list[tuple[dict[str, Any], list[list[Any]]]] = [
        ({"valid_to": "2026-12-31"}, [["body", "valid_to"]]),
        ({"remove": [pump]}, [["body", "remove", 0]]),  # not on the list any more
        ({"items": items((motor, 1)), "remove": [motor]}, [["body", "remove", 0]]),
        ({"remove": [valve, valve]}, [["body", "remove", 1]]),
        ({"items": items(("NO-SUCH", 1))}, [["body", "items", 0, "product_code"]]),
        ({"items": items((motor, -5))}, [["body", "items", 0, "unit_price"]]),
        ({"name": None}, [["body"]]),
        ({}, [["body"]]),
        ({"grade": "B"}, [["body", "grade"]]),  # the scope is fixed
    ]
    for change, where in cases:
        assert locations(await sales.http.patch(path, headers=manager.headers, json=change)) == where, change
    assert (await sales.http.get(path, headers=manager.headers)).json() == before
    missing = await sales.http.patch(
        f"/api/price-lists/{uuid.uuid4()}", headers=manager.headers, json={"name": "x"}
    )
    assert missing.status_code == 404


async def test_ending_a_list(sales: Sales, manager: Actor) -> None:
    pump = await product(sales, manager)
    started = (today(sales) - timedelta(days=10)).isoformat()
    made = await price_list(sales, manager, channel_kind="retail", valid_from=started, items=items((pump, 1)))
    path = f"/api/price-lists/{made['id']}/end"
    early = await sales.http.post(path, headers=manager.headers, json={"valid_to": "2020-01-01"})
    assert locations(early) == [["body", "valid_to"]]
    ended = await sales.http.post(path, headers=manager.headers)
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == today(sales).isoformat()
    assert ended.json()["history"][-1]["action"] == "ended"
    again = await sales.http.post(path, headers=manager.headers, json={"valid_to": str(today(sales))})
    assert again.status_code == 409 and "ended on" in again.json()["detail"]
    sooner = await sales.http.post(path, headers=manager.headers, json={"valid_to": started})
    assert sooner.json()["valid_to"] == started
    assert (
        await sales.http.post(f"/api/price-lists/{uuid.uuid4()}/end", headers=manager.headers)
    ).status_code == 404


async def test_lists_are_paged_and_filtered(sales: Sales, manager: Actor) -> None:
    pump = await product(sales, manager)
    day = today(sales)
    old = await price_list(
        sales,
        manager,
        channel_kind="agent",
        valid_from=str(day - timedelta(days=60)),
        valid_to=str(day - timedelta(days=1)),
        items=items((pump, 1)),
    )
    current = await price_list(
        sales, manager, channel_kind="agent", valid_from=str(day - timedelta(days=5)), items=items((pump, 2))
    )
    graded = await price_list(sales, manager, grade="D", items=items((pump, 3)))

    async def ids(**params: Any) -> list[str]:
        response = await sales.http.get(
            "/api/price-lists", headers=manager.headers, params={"product_code": pump, **params}
        )
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert await ids() == [graded["id"], current["id"], old["id"]]  # the latest to start first
    assert await ids(channel_kind="agent") == [current["id"], old["id"]]
    assert await ids(grade="d") == [graded["id"]]
    assert (
        await sales.http.get("/api/price-lists", headers=manager.headers, params={"grade": "E"})
    ).status_code == 422
    assert await ids(valid_on=str(day - timedelta(days=30))) == [old["id"]]
    assert await ids(valid_on=str(day)) == [graded["id"], current["id"]]
    page = await sales.http.get(
        "/api/price-lists", headers=manager.headers, params={"product_code": pump, "limit": 1, "offset": 1}
    )
    assert page.json()["total"] == 3 and [p["id"] for p in page.json()["items"]] == [current["id"]]
    wrong = await sales.http.get("/api/price-lists", headers=manager.headers, params={"channel_kind": "x"})
    assert wrong.status_code == 422


# -- the price a line takes --------------------------------------------------------------


async def test_a_dealers_line_without_a_price_takes_the_dealer_price_and_says_so(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    pump, valve, motor = [await product(sales, manager, 1_000_000) for _ in range(3)]
    dealers = await price_list(
        sales, manager, channel_kind="dealer", items=items((pump, 900_000), (valve, 800_000))
    )
    await price_list(sales, manager, channel_kind="retail", items=items((motor, 10)))  # another kind
    buyer = await customer(sales, seller, channel_id=await channel(sales, "dealer"))
    quote = await new_quote(
        sales,
        seller,
        buyer,
        [
            {"product_code": pump, "quantity": 2},
            {"product_code": valve, "quantity": 1, "unit_price": 850_000},
            {"product_code": motor, "quantity": 1},
        ],
    )
    assert [source(line) for line in quote["lines"]] == [
        ("price_list", dealers["id"], 900_000, 900_000),
        ("manual", None, 850_000, 800_000),
        ("list_price", None, 1_000_000, 1_000_000),
    ]
    assert quote["lines"][0]["net_amount"] == 1_800_000

    # A customer whose channel sales has not heard of, or without one, takes the list price.
    for unknown in (await customer(sales, seller, channel_id=uuid.uuid4()), await customer(sales, seller)):
        plain = await new_quote(sales, seller, unknown, [{"product_code": pump, "quantity": 1}])
        assert source(plain["lines"][0]) == ("list_price", None, 1_000_000, 1_000_000)

    # The copy and the order keep what the lines had, whatever the lists say since.
    await sales.http.patch(
        f"/api/price-lists/{dealers['id']}", headers=manager.headers, json={"items": items((pump, 700_000))}
    )
    copied = await sales.http.post(f"/api/quotes/{quote['id']}/copy", headers=seller.headers)
    assert [source(line) for line in copied.json()["lines"]] == [source(line) for line in quote["lines"]]
    await checked(sales, seller, await act(sales, seller, quote, "submit"))
    await act(sales, manager, quote, "approve")
    await act(sales, seller, quote, "send")
    await act(sales, seller, quote, "accept")
    [order] = await orders_of(sales, seller, buyer)
    assert [source(line) for line in order["lines"]] == [source(line) for line in quote["lines"]]
    # A new quote takes the list's new price.
    again = await new_quote(sales, seller, buyer, [{"product_code": pump, "quantity": 1}])
    assert source(again["lines"][0]) == ("price_list", dealers["id"], 700_000, 700_000)


async def test_the_lower_of_the_channel_kind_and_grade_prices_wins_and_the_latest_list_of_a_kind(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    pump, valve, motor = [await product(sales, manager, 1_000_000) for _ in range(3)]
    day = today(sales)
    since = str(day - timedelta(days=30))
    annual = await price_list(
        sales,
        manager,
        channel_kind="distributor",
        valid_from=since,
        items=items((pump, 800_000), (valve, 700_000)),
    )
    recent = str(day - timedelta(days=2))
    promotion = await price_list(
        sales, manager, channel_kind="distributor", valid_from=recent, items=items((pump, 850_000))
    )
    tomorrow = str(day + timedelta(days=1))
    await price_list(
        sales, manager, channel_kind="distributor", valid_from=tomorrow, items=items((pump, 100))
    )
    yesterday = str(day - timedelta(days=1))
    await price_list(
        sales,
        manager,
        channel_kind="distributor",
        valid_from=since,
        valid_to=yesterday,
        items=items((valve, 100)),
    )
    vip = await price_list(sales, manager, grade="VIP", items=items((valve, 750_000), (motor, 600_000)))
    buyer = await customer(sales, seller, channel_id=await channel(sales, "distributor"), grade="VIP")
    wanted = [{"product_code": code, "quantity": 1} for code in (pump, valve, motor)]
    quote = await new_quote(sales, seller, buyer, wanted)
    assert [source(line) for line in quote["lines"]] == [
        ("price_list", promotion["id"], 850_000, 850_000),  # the latest list of the kind, though dearer
        ("price_list", annual["id"], 700_000, 700_000),  # the distributor's is lower than the VIP's
        ("price_list", vip["id"], 600_000, 600_000),  # only the grade prices it
    ]

    # A new grade reaches sales: its next quote takes the new grade's prices.
    graded = CustomerGraded(
        customer_id=buyer,
        assessment_id=uuid.uuid4(),
        questionnaire_id=uuid.uuid4(),
        questionnaire_version=1,
        score=40,
        grade="Tier III",
        owner_id=seller.id,
        graded_at=datetime.now(UTC),
    )
    await sales.handled(await sales.publish(graded))
    tier = await price_list(sales, manager, grade="Tier III", items=items((motor, 950_000)))
    edited = await sales.http.patch(
        f"/api/quotes/{quote['id']}", headers=seller.headers, json={"lines": wanted}
    )
    assert edited.status_code == 200, edited.text
    assert source(edited.json()["lines"][2]) == ("price_list", tier["id"], 950_000, 950_000)


async def test_a_line_below_its_level_by_more_than_the_rules_allow_needs_a_manager(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    pump = await product(sales, manager, 1_000_000)
    bad = await sales.http.put(
        "/api/approval-rules", headers=manager.headers, json={"mode": "all", "max_below_level_pct": 5}
    )
    assert bad.status_code == 422 and "max_below_level_pct" in bad.text
    negative = await sales.http.put(
        "/api/approval-rules", headers=manager.headers, json={"mode": "threshold", "max_below_level_pct": -1}
    )
    assert locations(negative) == [["body", "max_below_level_pct"]]
    refused = await sales.http.put(
        "/api/approval-rules", headers=seller.headers, json={"mode": "threshold", "max_below_level_pct": 5}
    )
    assert refused.status_code == 403
    ruled = await sales.http.put(
        "/api/approval-rules", headers=manager.headers, json={"mode": "threshold", "max_below_level_pct": 5}
    )
    assert ruled.status_code == 200 and Decimal(ruled.json()["max_below_level_pct"]) == 5
    try:
        await price_list(sales, manager, channel_kind="project", items=items((pump, 800_000)))
        buyer = await customer(sales, seller, channel_id=await channel(sales, "project"))

        async def submitted(line: dict[str, Any]) -> dict[str, Any]:
            quote = await new_quote(sales, seller, buyer, [{"product_code": pump, "quantity": 2, **line}])
            return await act(sales, seller, quote, "submit")

        # 5% below the project price, with its discount: within the rules, approved on its credit check.
        within = await submitted({"unit_price": 800_000, "discount_pct": 5})
        assert within["needs_manager"] is False
        assert (await checked(sales, seller, within))["approval_mode"] == "automatic"
        # Above the product's list price is still below nothing; the level is the project price.
        assert (await submitted({}))["needs_manager"] is False
        # 760,000 is 5% below, and 1% off makes it 5.95%: a manager decides.
        below = await submitted({"unit_price": 760_000, "discount_pct": 1})
        assert below["needs_manager"] is True
        assert (await checked(sales, seller, below))["status"] == "pending_approval"
        assert (await submitted({"unit_price": 750_000}))["needs_manager"] is True
    finally:
        reset = await sales.http.put("/api/approval-rules", headers=manager.headers, json={"mode": "all"})
        assert reset.status_code == 200 and reset.json()["max_below_level_pct"] is None
