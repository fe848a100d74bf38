"""The marketing service in-process against real Postgres and RabbitMQ, driven over HTTP
as a client would. Other services are simulated by publishing their real event envelopes
to the namespace's exchange, as their outbox relays would."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    CustomerUpdated,
    Envelope,
    Event,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    OrderLine,
    OrderPlaced,
    PortfolioReassigned,
    UserRegistered,
    decode,
)
from crm_kit.auth import Role, User
from crm_testkit.infra import Infra
from crm_testkit.polling import eventually
from crm_testkit.service import ServiceUnderTest, running_service
from marketing import regions
from marketing.app import create_app
from marketing.settings import Settings

from .known_groups import new_group

pytestmark = pytest.mark.integration

Headers = dict[str, str]


# -- the service under test -----------------------------------------------------------


@dataclass
class Marketing(ServiceUnderTest[Settings]):
    users: dict[Role, User] = field(default_factory=dict)

    def as_(self, role: Role, user: User | None = None) -> Headers:
        user = user or self.users.setdefault(role, User(id=uuid.uuid4(), username=f"{role}-1", role=role))
        return self.headers_for(user)

    def user(self, role: Role) -> User:
        self.as_(role)
        return self.users[role]

    async def get(self, url: str, role: Role = Role.MARKETING, **params: Any) -> Any:
        response = await self.http.get(url, headers=self.as_(role), params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, url: str, body: Any, role: Role = Role.MARKETING, expect: int = 201) -> Any:
        response = await self.http.post(url, headers=self.as_(role), json=body)
        assert response.status_code == expect, response.text
        return response.json()


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[Marketing]:
    async with running_service(
        infra,
        "marketing",
        create_app,
        Settings,
        kind=Marketing,
        retry_delay_s=0.5,
        relay_poll_interval_s=0.2,
    ) as running:
        yield running


# -- helpers --------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def order(
    *lines: tuple[str, int],
    channel_id: str | uuid.UUID | None,
    region_code: str | None,
    on: date = date(2026, 5, 10),
    customer_id: uuid.UUID | None = None,
) -> OrderPlaced:
    """An order with one line per (product group, net amount)."""
    order_lines = [
        OrderLine(
            product_code=f"P{i}",
            product_name=f"Product {i}",
            product_group=group,
            quantity=1,
            unit_price=amount,
            discount_pct=0,
            vat_rate_pct=10,
            net_amount=amount,
            vat_amount=amount // 10,
        )
        for i, (group, amount) in enumerate(lines)
    ]
    net = sum(amount for _, amount in lines)
    return OrderPlaced(
        order_id=uuid.uuid4(),
        order_number=f"SO-{uuid.uuid4().hex[:6]}",
        quote_id=uuid.uuid4(),
        customer_id=customer_id or uuid.uuid4(),
        owner_id=uuid.uuid4(),
        region_code=region_code,
        channel_id=uuid.UUID(str(channel_id)) if channel_id else None,
        lines=order_lines,
        net_total=net,
        vat_total=net // 10,
        total=net + net // 10,
        placed_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        order_date=on,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def new_channel(
    m: Marketing, name: str, kind: str, regions_: list[str], parent: str | None = None
) -> str:
    body: dict[str, Any] = {"name": name, "kind": kind, "region_codes": regions_}
    if parent:
        body["parent_id"] = parent
    created = await m.post("/api/channels", body)
    return str(created["id"])


async def new_volume(m: Marketing, region: str, group: str, period: str, amount: int) -> dict[str, Any]:
    body = {"region_code": region, "product_group": group, "period": period, "amount": amount}
    result: dict[str, Any] = await m.post("/api/market-volumes", {**body, "source": "survey"})
    return result


# -- regions ----------------------------------------------------------------------------


async def test_the_34_provinces_are_served_with_their_vietnamese_names(marketing: Marketing) -> None:
    page = await marketing.get("/api/regions", Role.SALESPERSON)
    assert page["total"] == 34 and len(page["items"]) == 34
    by_code = {r["code"]: r for r in page["items"]}
    assert by_code["01"]["name"] == "Hà Nội" and by_code["01"]["kind"] == "city"
    assert by_code["79"]["name"] == "Hồ Chí Minh" and by_code["79"]["name_ascii"] == "ho chi minh"
    assert by_code["48"]["name"] == "Đà Nẵng"
    assert by_code["92"]["name"] == "Cần Thơ" and by_code["92"]["macro_region"] == "south"
    assert by_code["66"]["socio_economic_region"] == "central_highlands"
    assert sum(r["kind"] == "city" for r in page["items"]) == 6
    # What the migration loaded is what the package ships.
    shipped = {r.code: r.name for r in regions.load_regions()}
    assert await marketing.scalar("SELECT count(*) FROM regions") == 34
    assert await marketing.scalar("SELECT count(*) FROM former_provinces") == 63
    async with marketing.db.transaction() as session:
        stored: dict[str, str] = dict((await session.execute(text("SELECT code, name FROM regions"))).all())
    assert stored == shipped

    macro = await marketing.get("/api/regions", grouping="macro_region")
    assert {g["code"]: len(g["regions"]) for g in macro["items"]} == {"north": 15, "central": 11, "south": 8}
    socio = await marketing.get("/api/regions", grouping="socio_economic_region")
    assert socio["total"] == 6
    assert sum(len(g["regions"]) for g in socio["items"]) == 34
    bad = await marketing.http.get(
        "/api/regions", headers=marketing.as_(Role.MARKETING), params={"grouping": "x"}
    )
    assert bad.status_code == 422

    detail = await marketing.get("/api/regions/79")
    assert {f["name"] for f in detail["former_provinces"]} == {
        "Hồ Chí Minh",
        "Bình Dương",
        "Bà Rịa - Vũng Tàu",
    }
    assert (
        await marketing.http.get("/api/regions/27", headers=marketing.as_(Role.MARKETING))
    ).status_code == 404

    unauthenticated = await marketing.http.get("/api/regions")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("query", "code", "matched"),
    [
        ("24", "24", "code"),
        ("27", "24", "former_code"),
        ("Bac Giang", "24", "former_name"),
        ("cần thơ", "92", "name"),
    ],
)
async def test_resolve_a_region(marketing: Marketing, query: str, code: str, matched: str) -> None:
    resolved = await marketing.get("/api/regions/resolve", Role.SALESPERSON, q=query)
    assert resolved["region"]["code"] == code
    assert resolved["matched"] == matched


async def test_resolve_nothing_is_404(marketing: Marketing) -> None:
    response = await marketing.http.get(
        "/api/regions/resolve", headers=marketing.as_(Role.MARKETING), params={"q": "Atlantis"}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "no province matches 'Atlantis'"
    assert response.json()["code"] == "not_found"


# -- channels ---------------------------------------------------------------------------


async def test_channels_tree_coverage_and_loops(marketing: Marketing) -> None:
    m = marketing
    top = await new_channel(m, unique("North distributor"), "distributor", ["20", "22"])
    mid = await new_channel(m, unique("Lạng Sơn dealer"), "dealer", ["20"], parent=top)
    low = await new_channel(m, unique("Lạng Sơn shop"), "retail", ["20"], parent=mid)
    channel = await m.get(f"/api/channels/{mid}", Role.SALESPERSON)
    assert channel["parent_id"] == top and channel["region_codes"] == ["20"] and channel["active"] is True

    before = await m.scalar("SELECT count(*) FROM channels")
    for body, status, detail in [
        (
            {"name": unique("X"), "kind": "dealer", "region_codes": ["20", "27", "999"]},
            422,
            "27 (former Bắc Ninh; now 24), 999",
        ),
        ({"name": unique("X"), "kind": "dealer", "parent_id": str(uuid.uuid4())}, 422, "parent channel"),
        ({"name": unique("X"), "kind": "wholesale"}, 422, None),
        ({"name": unique("X"), "kind": "dealer", "active": False}, 422, None),
        ({"name": channel["name"].upper(), "kind": "dealer"}, 409, "exists already"),
    ]:
        response = await m.http.post("/api/channels", headers=m.as_(Role.MARKETING), json=body)
        assert response.status_code == status, response.text
        if detail:
            assert detail in response.json()["detail"]
    assert await m.scalar("SELECT count(*) FROM channels") == before

    for parent in (low, mid, top):  # under its grandchild, its child, itself
        response = await m.http.patch(
            f"/api/channels/{top}", headers=m.as_(Role.MARKETING), json={"parent_id": parent}
        )
        assert response.status_code == 422, response.text
    assert (await m.get(f"/api/channels/{top}"))["parent_id"] is None

    moved = await m.http.patch(f"/api/channels/{low}", headers=m.as_(Role.ADMIN), json={"parent_id": top})
    assert moved.status_code == 200 and moved.json()["parent_id"] == top
    detached = await m.http.patch(
        f"/api/channels/{low}", headers=m.as_(Role.SALES_MANAGER), json={"parent_id": None, "active": False}
    )
    assert detached.json()["parent_id"] is None and detached.json()["active"] is False

    coverage = await m.http.put(
        f"/api/channels/{mid}/coverage",
        headers=m.as_(Role.MARKETING),
        json={"region_codes": ["20", "22", "XX"]},
    )
    assert coverage.status_code == 422 and "XX" in coverage.json()["detail"]
    coverage = await m.http.put(
        f"/api/channels/{mid}/coverage", headers=m.as_(Role.MARKETING), json={"region_codes": ["20", "22"]}
    )
    assert coverage.json()["region_codes"] == ["20", "22"]

    listed = await m.get("/api/channels", Role.SALESPERSON, region_code="Quảng Ninh", kind="dealer")
    assert [c["id"] for c in listed["items"]] == [mid]
    assert (await m.get("/api/channels", parent_id=top))["total"] == 1


async def test_salespeople_are_assigned_per_channel_and_region(marketing: Marketing) -> None:
    m = marketing
    channel = await new_channel(m, unique("Agent"), "agent", ["20", "22"])
    seller, other, accountant = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    registered = [
        await m.publish(
            UserRegistered(user_id=uid, username=unique("u"), full_name="U", role=role, registered_at=NOW)
        )
        for uid, role in ((seller, "salesperson"), (other, "salesperson"), (accountant, "accountant"))
    ]
    await m.handled(*registered)
    url = f"/api/channels/{channel}/assignments"

    outside = await m.http.put(
        url, headers=m.as_(Role.MARKETING), json=[{"region_code": "01", "user_id": str(seller)}]
    )
    assert outside.status_code == 422 and "does not cover 01" in outside.json()["detail"]
    not_seller = await m.http.put(
        url, headers=m.as_(Role.MARKETING), json=[{"region_code": "20", "user_id": str(accountant)}]
    )
    assert not_seller.status_code == 422 and "accountant" in not_seller.json()["detail"]
    assert (
        await m.scalar("SELECT count(*) FROM channel_assignments WHERE channel_id = :c", c=uuid.UUID(channel))
        == 0
    )

    body = [{"region_code": "20", "user_id": str(seller)}, {"region_code": "22", "user_id": str(seller)}]
    assigned = await m.http.put(url, headers=m.as_(Role.SALES_MANAGER), json=body)
    assert assigned.status_code == 200
    assert assigned.json()["assignments"] == [
        {"region_code": "20", "user_id": str(seller)},
        {"region_code": "22", "user_id": str(seller)},
    ]
    forbidden = await m.http.put(url, headers=m.as_(Role.SALESPERSON), json=body)
    assert forbidden.status_code == 403

    # Coverage cannot drop a region that still has salespeople.
    shrink = await m.http.put(
        f"/api/channels/{channel}/coverage", headers=m.as_(Role.MARKETING), json={"region_codes": ["20"]}
    )
    assert shrink.status_code == 409 and "22" in shrink.json()["detail"]
    assert shrink.json()["code"] == "channel.coverage_staffed"
    assert shrink.json()["params"] == {"regions": ["22"]}

    # A leaving salesperson's assignments go to their successor.
    holdings = await m.get(f"/api/portfolio/{seller}", Role.ADMIN)
    assert holdings["holdings"] == {"channel_assignments": 2}
    handed = await m.publish(PortfolioReassigned(from_user_id=seller, to_user_id=other, reassigned_at=NOW))
    await m.handled(handed)
    assert (await m.get(f"/api/portfolio/{seller}", Role.ADMIN))["holdings"] == {"channel_assignments": 0}
    assert (await m.get(f"/api/portfolio/{other}", Role.ADMIN))["holdings"] == {"channel_assignments": 2}


# -- market volumes ---------------------------------------------------------------------


async def test_market_volumes_one_per_key_revised_with_history(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "valves")
    created = await new_volume(m, "79", group, "2026-q3", 900_000_000)
    assert created["period"] == "2026-Q3" and created["revision"] == 1
    assert created["entered_by"] == str(m.user(Role.MARKETING).id)

    again = await m.http.post(
        "/api/market-volumes",
        headers=m.as_(Role.SALES_MANAGER),
        json={
            "region_code": "79",
            "product_group": group,
            "period": "2026-Q3",
            "amount": 1,
            "source": "estimate",
        },
    )
    assert again.status_code == 409 and created["id"] in again.json()["detail"]
    # A problem document with its code, and the estimate to revise, for a client to link to.
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "market_volume.exists"
    assert again.json()["params"]["estimate"] == created["id"]
    assert again.json()["params"]["period"] == "2026-Q3"

    revised = await m.http.put(
        f"/api/market-volumes/{created['id']}",
        headers=m.as_(Role.ADMIN),
        json={"amount": 950_000_000, "source": "industry_report", "note": "VEA 2026 report"},
    )
    assert revised.status_code == 200 and revised.json()["revision"] == 2
    assert revised.json()["entered_by"] == str(m.user(Role.ADMIN).id)
    detail = await m.get(f"/api/market-volumes/{created['id']}")
    assert [(r["revision"], r["amount"], r["source"]) for r in detail["revisions"]] == [
        (1, 900_000_000, "survey"),
        (2, 950_000_000, "industry_report"),
    ]
    # Only the amount: the source and the note stay.
    kept = await m.http.put(
        f"/api/market-volumes/{created['id']}", headers=m.as_(Role.MARKETING), json={"amount": 960_000_000}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["revision"], kept.json()["source"], kept.json()["note"]) == (
        3,
        "industry_report",
        "VEA 2026 report",
    )
    # The public contract's body has no source: such a figure is an estimate.
    bare = await m.post(
        "/api/market-volumes", {"region_code": "79", "product_group": group, "period": "2027", "amount": 5}
    )
    assert bare["source"] == "estimate"
    listed = await m.get("/api/market-volumes", product_group=group, period="2026-Q3", region_code="Sài Gòn")
    assert listed["total"] == 1 and listed["items"][0]["amount"] == 960_000_000

    for body, status in [
        (
            {"region_code": "27", "product_group": group, "period": "2026", "amount": 1, "source": "survey"},
            422,
        ),
        (
            {
                "region_code": "79",
                "product_group": group,
                "period": "2026-Q5",
                "amount": 1,
                "source": "survey",
            },
            422,
        ),
        (
            {"region_code": "79", "product_group": group, "period": "2026", "amount": -1, "source": "survey"},
            422,
        ),
        (
            {
                "region_code": "79",
                "product_group": group,
                "period": "2026",
                "amount": 1,
                "source": "survey",
                "revision": 9,
            },
            422,
        ),
    ]:
        response = await m.http.post("/api/market-volumes", headers=m.as_(Role.MARKETING), json=body)
        assert response.status_code == status, response.text
    assert await m.scalar("SELECT count(*) FROM market_volumes WHERE product_group = :g", g=group) == 2

    forbidden = await m.http.post(
        "/api/market-volumes",
        headers=m.as_(Role.SALESPERSON),
        json={"region_code": "79", "product_group": group, "period": "2027", "amount": 1, "source": "survey"},
    )
    assert forbidden.status_code == 403
    assert (await m.http.get("/api/market-volumes", headers=m.as_(Role.SALESPERSON))).status_code == 403


async def test_csv_import_reports_every_row(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "fans")
    existing = await new_volume(m, "92", group, "2026", 100)
    same = await new_volume(m, "48", group, "2026", 200)
    rows = [
        ["region_code", "product_group", "period", "amount", "source", "note"],
        ["Bình Dương", group, "2026", "1.500.000", "survey", "former province: lands in 79"],
        ["92", group, "2026", "150", "estimate", ""],
        ["48", group, "2026", "200", "survey", ""],
        ["Atlantis", group, "2026", "1", "survey", ""],
        ["01", group, "2026-Q9", "1.5", "guess", ""],
        ["74", group, "2026", "7", "survey", ""],
        ["Hà Nội", group, "2026-Q1", "300", "industry report", ""],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = ("\ufeff" + buffer.getvalue()).encode()
    response = await m.http.post(
        "/api/market-volumes/import",
        headers=m.as_(Role.MARKETING),
        files={"file": ("volumes.csv", data, "text/csv")},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["updated"], report["unchanged"]) == (2, 1, 1)
    assert [r["row"] for r in report["rejected"]] == [5, 6, 7]
    assert "Atlantis" in report["rejected"][0]["errors"][0]
    assert len(report["rejected"][1]["errors"]) == 3  # period, amount, source
    assert "repeats row 2" in report["rejected"][2]["errors"][0]

    stored = {
        (v["region_code"], v["period"]): (v["amount"], v["revision"])
        for v in (await m.get("/api/market-volumes", product_group=group))["items"]
    }
    assert stored == {
        ("79", "2026"): (1_500_000, 1),
        ("92", "2026"): (150, 2),
        ("48", "2026"): (200, 1),
        ("01", "2026-Q1"): (300, 1),
    }
    assert existing["id"] and same["id"]

    for bad, status in [(b"region_code,amount\n79,1\n", 422), (b"\xff\xfe\x00", 422)]:
        refused = await m.http.post(
            "/api/market-volumes/import",
            headers=m.as_(Role.MARKETING),
            files={"file": ("bad.csv", bad, "text/csv")},
        )
        assert refused.status_code == status, refused.text
    forbidden = await m.http.post(
        "/api/market-volumes/import",
        headers=m.as_(Role.SALESPERSON),
        files={"file": ("volumes.csv", data, "text/csv")},
    )
    assert forbidden.status_code == 403
    assert (await m.get("/api/market-volumes", product_group=group))["total"] == 4


# -- market share (the "done when") ---------------------------------------------


async def test_market_share_per_region_and_channel(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "pumps")
    # Three channels (the dealer sells through the distributor) over four provinces;
    # Hà Nội has a market and no channel: white space.
    dist = await new_channel(m, unique("Southern distributor"), "distributor", ["79", "75"])
    dealer = await new_channel(m, unique("Saigon dealer"), "dealer", ["79", "92"], parent=dist)
    online = await new_channel(m, unique("Web shop"), "online", ["48"])
    for region, amount in {
        "79": 1_000_000_000,
        "75": 400_000_000,
        "92": 300_000_000,
        "48": 200_000_000,
    }.items():
        await new_volume(m, region, group, "2026", amount)
    await new_volume(m, "01", group, "2026", 500_000_000)
    await new_volume(m, "79", group, "2025", 900_000_000)
    await new_volume(m, "79", group, "2026-Q2", 250_000_000)

    orders = [
        order((group, 100_000_000), ("other-group", 20_000_000), channel_id=dist, region_code="79"),
        order((group, 50_000_000), channel_id=dealer, region_code="79", on=date(2026, 1, 15)),
        order((group, 30_000_000), (group, 6_000_000), channel_id=dealer, region_code="92"),
        order((group, 10_000_000), channel_id=online, region_code="48"),
        # A former code (Bình Dương) lands in Hồ Chí Minh.
        order((group, 5_000_000), channel_id=dist, region_code="74"),
        # The previous year.
        order((group, 60_000_000), channel_id=dist, region_code="79", on=date(2025, 8, 1)),
    ]
    published = [await m.publish(o) for o in orders]
    # The same event redelivered, and the same order sent again as a new event: counted once.
    published.append(await m.publish(orders[0], envelope=published[0]))
    published.append(await m.publish(orders[0]))
    await m.handled(*published)
    assert (
        await m.scalar("SELECT count(*) FROM revenue_facts WHERE order_id = :o", o=orders[0].order_id) == 2
    )  # two lines

    report = await m.get("/api/market-share", period="2026", product_group=group)
    mine = {dist, dealer, online}
    rows = {(r["region_code"], r["channel_id"]): r for r in report["rows"] if r["channel_id"] in mine}
    revenue = {key: r["revenue"] for key, r in rows.items()}
    assert revenue == {
        ("79", dist): 100_000_000 + 5_000_000 + 50_000_000,  # its own, and its dealer's
        ("79", dealer): 50_000_000,
        ("92", dealer): 36_000_000,
        ("92", dist): 36_000_000,  # through the dealer, though it does not cover 92 itself
        ("75", dist): 0,  # covered, nothing sold yet
        ("48", online): 10_000_000,
    }
    volumes = {"79": 1_000_000_000, "75": 400_000_000, "92": 300_000_000, "48": 200_000_000}
    for (region, _), row in rows.items():
        assert row["market_volume"] == volumes[region]
        assert row["share"] == pytest.approx(row["revenue"] / volumes[region])
    assert rows[("79", dist)]["region_name"] == "Hồ Chí Minh"
    assert rows[("79", dealer)]["channel_name"].startswith("Saigon dealer")
    assert rows[("79", dist)]["previous_revenue"] == 60_000_000
    assert rows[("79", dist)]["previous_share"] == pytest.approx(60 / 900)
    assert rows[("79", dist)]["share_change"] == pytest.approx(0.155 - 60 / 900)
    assert rows[("92", dealer)]["previous_share"] is None  # no volume for 2025 there
    assert report["previous_period"] == "2025"
    white = {w["region_code"]: w for w in report["white_space"]}
    assert white["01"] == {"region_code": "01", "region_name": "Hà Nội", "market_volume": 500_000_000}
    assert not {"79", "75", "92", "48"} & set(white)

    # Without a product group: every group's revenue, and the volume summed over groups.
    everything = await m.get("/api/market-share", period="2026", channel_id=dist, region_code="79")
    assert [(r["region_code"], r["channel_id"]) for r in everything["rows"]] == [("79", dist)]
    assert everything["rows"][0]["revenue"] == 175_000_000

    quarter = await m.get("/api/market-share", period="2026-Q2", product_group=group, region_code="79")
    by_channel = {r["channel_id"]: r for r in quarter["rows"]}
    assert by_channel[dist]["revenue"] == 105_000_000  # the January order is in Q1
    assert by_channel[dist]["share"] == pytest.approx(105 / 250)
    assert quarter["previous_period"] == "2026-Q1"
    assert by_channel[dist]["previous_revenue"] == 50_000_000

    for params, status in [
        ({"period": "2026-Q7"}, 422),
        ({"period": "2026", "region_code": "Atlantis"}, 422),
        ({"period": "2026", "channel_id": str(uuid.uuid4())}, 404),
        ({}, 422),
    ]:
        response = await m.http.get("/api/market-share", headers=m.as_(Role.MARKETING), params=params)
        assert response.status_code == status, response.text
    for role in (Role.SALESPERSON, Role.ACCOUNTANT):
        response = await m.http.get("/api/market-share", headers=m.as_(role), params={"period": "2026"})
        assert response.status_code == 403
    for role in (Role.SALES_MANAGER, Role.ADMIN):
        response = await m.http.get("/api/market-share", headers=m.as_(role), params={"period": "2026"})
        assert response.status_code == 200


# -- campaigns --------------------------------------------------------------------------


def registered(
    name: str, grade: str | None, region: str | None, *, owner: uuid.UUID | None = None
) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=uuid.uuid4(),
        name=name,
        lifecycle_stage="prospect",
        owner_id=owner or uuid.uuid4(),
        region_code=region,
        grade=grade,
    )


def graded(customer_id: uuid.UUID, grade: str) -> CustomerGraded:
    return CustomerGraded(
        customer_id=customer_id,
        assessment_id=uuid.uuid4(),
        questionnaire_id=uuid.uuid4(),
        questionnaire_version=1,
        score=90.0,
        grade=grade,
        graded_at=NOW,
    )


async def test_campaign_audience_grade_a_in_the_south(marketing: Marketing) -> None:
    m = marketing
    seller = m.user(Role.SALESPERSON)
    tag = uuid.uuid4().hex[:6]
    customers = [
        registered(f"{tag} A Saigon", "A", "79", owner=seller.id),
        registered(f"{tag} A Can Tho", "A", "92"),
        registered(f"{tag} A Binh Duong (former code)", "A", "74"),
        registered(f"{tag} B Saigon", "B", "79", owner=seller.id),
        registered(f"{tag} A Hanoi", "A", "01"),
        registered(f"{tag} A nowhere", "A", None),
        registered(f"{tag} ungraded Ca Mau", None, "96"),
    ]
    await m.handled(*[await m.publish(c) for c in customers])
    # Only customers of this test: the read model is shared with the other tests.
    south_a_before = await m.scalar(
        "SELECT count(*) FROM known_customers WHERE grade = 'A' AND region_code = ANY(:codes)",
        codes=sorted(regions.index().codes_meaning(regions.index().in_groups(["south"]))),
    )

    created = await m.post(
        "/api/campaigns",
        {
            "name": f"{tag} South A",
            "target": {"grades": ["a"], "macro_regions": ["south"]},
            "starts_on": "2026-06-01",
            "ends_on": "2026-08-31",
        },
    )
    assert created["status"] == "draft"
    assert created["audience_size"] == south_a_before
    campaign = created["id"]
    audience = await m.get(f"/api/campaigns/{campaign}/audience", limit=200)
    mine = {a["name"]: a for a in audience["items"] if a["name"].startswith(tag)}
    assert set(mine) == {f"{tag} A Saigon", f"{tag} A Can Tho", f"{tag} A Binh Duong (former code)"}
    assert mine[f"{tag} A Binh Duong (former code)"]["region_code"] == "79"
    assert mine[f"{tag} A Can Tho"]["region_name"] == "Cần Thơ"

    # A newly graded customer joins the live audience.
    upgraded = await m.publish(graded(customers[3].customer_id, "A"))
    ignored = await m.publish(graded(customers[4].customer_id, "A"))  # north: stays out
    await m.handled(upgraded, ignored)
    assert (await m.get(f"/api/campaigns/{campaign}"))["audience_size"] == south_a_before + 1

    # A salesperson sees only their own customers in it.
    theirs = await m.get(f"/api/campaigns/{campaign}/audience", Role.SALESPERSON, limit=200)
    assert {a["name"] for a in theirs["items"]} == {f"{tag} A Saigon", f"{tag} B Saigon"}

    # The launch fixes the audience and announces the campaign.
    queue = await m.channel.declare_queue(f"{m.settings.bus_namespace}.test.campaigns", exclusive=True)
    await queue.bind(m.exchange, routing_key="marketing.campaign.launched.v1")
    forbidden = await m.http.post(f"/api/campaigns/{campaign}/launch", headers=m.as_(Role.SALESPERSON))
    assert forbidden.status_code == 403
    launched = await m.post(f"/api/campaigns/{campaign}/launch", {}, expect=200)
    assert launched["status"] == "launched" and launched["audience_size"] == south_a_before + 1
    message = await eventually(
        lambda: queue.get(no_ack=True, fail=False, timeout=5),
        lambda msg: msg is not None,
        what="CampaignLaunched",
    )
    assert message is not None
    envelope = decode(message.body)
    assert envelope.routing_key == "marketing.campaign.launched.v1"
    assert envelope.data["campaign_id"] == campaign and envelope.data["audience_size"] == south_a_before + 1
    assert envelope.actor == m.user(Role.MARKETING).id

    late = await m.publish(graded(customers[6].customer_id, "A"))
    await m.handled(late)
    after = await m.get(f"/api/campaigns/{campaign}")
    assert after["audience_size"] == south_a_before + 1
    assert (await m.get(f"/api/campaigns/{campaign}/audience"))["total"] == south_a_before + 1

    again = await m.http.post(f"/api/campaigns/{campaign}/launch", headers=m.as_(Role.MARKETING))
    assert again.status_code == 409
    change = await m.http.patch(
        f"/api/campaigns/{campaign}", headers=m.as_(Role.MARKETING), json={"name": "x"}
    )
    assert change.status_code == 409


async def test_campaign_targets_are_checked(marketing: Marketing) -> None:
    m = marketing
    base = {"name": unique("Bad"), "starts_on": "2026-01-01", "ends_on": "2026-01-31"}
    before = await m.scalar("SELECT count(*) FROM campaigns")
    for target, detail in [
        ({"region_codes": ["79", "27"]}, "27 (former Bắc Ninh; now 24)"),
        ({"macro_regions": ["west"]}, "unknown macro regions: west"),
        ({"channel_ids": [str(uuid.uuid4())]}, "unknown channels"),
        ({"lifecycle_stages": ["lead"]}, None),
        ({"colours": ["red"]}, None),
    ]:
        response = await m.http.post(
            "/api/campaigns", headers=m.as_(Role.MARKETING), json={**base, "target": target}
        )
        assert response.status_code == 422, response.text
        if detail:
            assert detail in response.json()["detail"]
    forbidden = await m.http.post("/api/campaigns", headers=m.as_(Role.SALESPERSON), json=base)
    assert forbidden.status_code == 403
    assert await m.scalar("SELECT count(*) FROM campaigns") == before


async def test_campaign_by_channel_includes_the_channels_under_it(marketing: Marketing) -> None:
    m = marketing
    dist = await new_channel(m, unique("Central distributor"), "distributor", ["48"])
    shop = await new_channel(m, unique("Hội An shop"), "retail", ["48"], parent=dist)
    tag = uuid.uuid4().hex[:6]
    customers = [
        CustomerRegistered(
            customer_id=uuid.uuid4(),
            name=f"{tag} {i}",
            lifecycle_stage=stage,
            channel_id=channel,
            region_code="48",
        )
        for i, (stage, channel) in enumerate([("traditional", dist), ("prospect", shop), ("prospect", None)])
    ]
    await m.handled(*[await m.publish(c) for c in customers])
    created = await m.post(
        "/api/campaigns",
        {
            "name": f"{tag} channel",
            "target": {"channel_ids": [dist]},
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
    )
    assert created["audience_size"] == 2
    narrowed = await m.http.patch(
        f"/api/campaigns/{created['id']}",
        headers=m.as_(Role.MARKETING),
        json={"target": {"channel_ids": [dist], "lifecycle_stages": ["traditional"]}},
    )
    assert narrowed.status_code == 200 and narrowed.json()["audience_size"] == 1
    bad_dates = await m.http.patch(
        f"/api/campaigns/{created['id']}", headers=m.as_(Role.MARKETING), json={"ends_on": "2025-12-31"}
    )
    assert bad_dates.status_code == 422


async def test_campaign_results_from_leads_and_orders(marketing: Marketing) -> None:
    m = marketing
    created = await m.post(
        "/api/campaigns",
        {"name": unique("Trade fair"), "starts_on": "2026-03-01", "ends_on": "2026-03-31"},
    )
    campaign = uuid.UUID(created["id"])
    owner = uuid.uuid4()
    leads = [uuid.uuid4() for _ in range(4)]
    customer = uuid.uuid4()
    events: list[Event] = [
        LeadCaptured(
            lead_id=lead,
            owner_id=owner,
            source="campaign",
            full_name=f"Lead {i}",
            campaign_id=campaign,
            captured_at=NOW,
        )
        for i, lead in enumerate(leads[:3])
    ]
    events.append(  # another campaign's lead
        LeadCaptured(lead_id=leads[3], owner_id=owner, source="walk_in", full_name="Other", captured_at=NOW)
    )
    events.append(
        LeadQualified(
            lead_id=leads[0],
            customer_id=customer,
            name="Công ty Hòa Phát",
            contact_name="Lead 0",
            owner_id=owner,
            source="campaign",
            campaign_id=campaign,
            qualified_at=NOW,
        )
    )
    events.append(
        LeadDisqualified(
            lead_id=leads[1],
            owner_id=owner,
            reason="no budget",
            source="campaign",
            campaign_id=campaign,
            disqualified_at=NOW,
        )
    )
    group = unique("pipes")
    events += [
        order(
            (group, 40_000_000),
            (group, 2_000_000),
            channel_id=None,
            region_code="79",
            on=date(2026, 3, 10),
            customer_id=customer,
        ),
        order(
            (group, 8_000_000), channel_id=None, region_code="79", on=date(2026, 9, 1), customer_id=customer
        ),
        # Before the campaign started, and someone else's order: not the campaign's.
        order(
            (group, 99_000_000), channel_id=None, region_code="79", on=date(2026, 2, 1), customer_id=customer
        ),
        order((group, 77_000_000), channel_id=None, region_code="79", on=date(2026, 3, 10)),
    ]
    await m.handled(*[await m.publish(e) for e in events])

    result = await m.get(f"/api/campaigns/{campaign}", Role.SALESPERSON)
    assert {k: result[k] for k in ("leads", "conversions", "disqualified", "orders", "revenue")} == {
        "leads": 3,
        "conversions": 1,
        "disqualified": 1,
        "orders": 2,
        "revenue": 50_000_000,
    }
    assert result["conversion_rate"] == pytest.approx(1 / 3)
    listed = await m.get("/api/campaigns", status="draft", limit=200)
    assert any(c["id"] == str(campaign) and c["revenue"] == 50_000_000 for c in listed["items"])
    missing = await m.http.get(f"/api/campaigns/{uuid.uuid4()}", headers=m.as_(Role.MARKETING))
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]


# -- customers' edits and deactivations ----------------------------------------------------------


def stamped(event: Event, occurred_at: datetime) -> Envelope:
    """The envelope the customers service would have written at `occurred_at`."""
    return Envelope.wrap(event, correlation_id="t").model_copy(update={"occurred_at": occurred_at})


async def audience_of(m: Marketing, tag: str, target: dict[str, Any]) -> list[dict[str, Any]]:
    """A new draft campaign for `target`: its live audience."""
    created = await m.post(
        "/api/campaigns",
        {"name": unique(tag), "target": target, "starts_on": "2026-06-01", "ends_on": "2026-06-30"},
    )
    audience = await m.get(f"/api/campaigns/{created['id']}/audience", limit=200)
    assert created["audience_size"] == audience["total"]
    items: list[dict[str, Any]] = audience["items"]
    return items


async def names_in(m: Marketing, tag: str, target: dict[str, Any]) -> list[str]:
    return sorted(a["name"] for a in await audience_of(m, tag, target))


async def test_an_edit_moves_the_customer_between_audiences_and_an_older_one_changes_nothing(
    marketing: Marketing,
) -> None:
    m = marketing
    grade = f"G{uuid.uuid4().hex[:6]}"  # only this test's customer has it
    t0 = datetime.now(UTC) - timedelta(hours=3)
    customer = registered("Đại lý Phú Quý", grade, "79")
    booked = order(("pumps", 5_000_000), channel_id=None, region_code="79", customer_id=customer.customer_id)
    await m.handled(await m.publish(customer, envelope=stamped(customer, t0)), await m.publish(booked))
    assert await names_in(m, "south", {"grades": [grade], "region_codes": ["79"]}) == ["Đại lý Phú Quý"]

    channel = await new_channel(m, unique("Đại lý cấp 1"), "distributor", ["01"])
    edit = CustomerUpdated(
        customer_id=customer.customer_id,
        name="Công ty CP Phú Quý",
        region_code="01",
        channel_id=uuid.UUID(channel),
        updated_at=t0 + timedelta(hours=2),
    )
    older = edit.model_copy(
        update={"name": "Phú Quý (cũ)", "region_code": "79", "updated_at": t0 + timedelta(hours=1)}
    )
    # The promotion came between the registration and the edit, and arrives last.
    promotion = CustomerPromotedToTraditional(
        customer_id=customer.customer_id,
        name="Đại lý Phú Quý",
        owner_id=customer.owner_id,
        region_code="79",
        promoted_at=t0 + timedelta(minutes=30),
    )
    for event in (edit, older, promotion):
        await m.handled(await m.publish(event))

    assert await names_in(m, "south", {"grades": [grade], "region_codes": ["79"]}) == []
    [member] = await audience_of(m, "hanoi", {"grades": [grade], "channel_ids": [channel]})
    assert (member["name"], member["region_code"], member["channel_id"]) == (edit.name, "01", channel)
    assert member["lifecycle_stage"] == "traditional"
    # Revenue already booked stays under the order's region.
    booked_in = await m.scalar(
        "SELECT region_code FROM revenue_facts WHERE order_id = :id", id=booked.order_id
    )
    assert booked_in == "79"


async def test_a_deactivated_customer_leaves_the_audiences_whatever_the_order_of_events(
    marketing: Marketing,
) -> None:
    m = marketing
    grade = f"G{uuid.uuid4().hex[:6]}"
    t0 = datetime.now(UTC) - timedelta(hours=3)
    # An edit, then a deactivation, overtake the registration of one customer.
    early = registered("Cửa hàng Minh Châu", grade, "79")
    edit = CustomerUpdated(
        customer_id=early.customer_id,
        name="Minh Châu JSC",
        region_code="92",
        updated_at=t0 + timedelta(hours=1),
    )
    await m.handled(await m.publish(edit))
    await m.handled(await m.publish(early, envelope=stamped(early, t0)))
    kept = await m.scalar(
        "SELECT name || ' ' || region_code || ' ' || grade || ' ' || lifecycle_stage"
        " FROM known_customers WHERE customer_id = :id",
        id=early.customer_id,
    )
    assert kept == f"Minh Châu JSC 92 {grade} prospect"
    other = registered("Cửa hàng Thái Hòa", grade, "79")
    await m.handled(await m.publish(other, envelope=stamped(other, t0)))
    assert await names_in(m, "all", {"grades": [grade]}) == ["Cửa hàng Thái Hòa", "Minh Châu JSC"]

    deactivated = CustomerDeactivated(
        customer_id=early.customer_id, reason="ngừng kinh doanh", deactivated_at=t0 + timedelta(hours=2)
    )
    stale = CustomerPromotedToTraditional(
        customer_id=early.customer_id, name="Minh Châu JSC", promoted_at=t0 + timedelta(minutes=90)
    )
    await m.handled(await m.publish(deactivated))
    await m.handled(await m.publish(stale))  # promoted before the deactivation: stays inactive
    assert await names_in(m, "all", {"grades": [grade]}) == ["Cửa hàng Thái Hòa"]
    assert await names_in(m, "bought", {"grades": [grade], "lifecycle_stages": ["traditional"]}) == []
    # A win-back campaign asks for inactive customers by name.
    [inactive] = await audience_of(m, "win-back", {"grades": [grade], "lifecycle_stages": ["inactive"]})
    assert (inactive["name"], inactive["lifecycle_stage"]) == ("Minh Châu JSC", "inactive")

    # A deactivation that overtakes the registration is kept too.
    gone = registered("Cửa hàng Hải Đăng", grade, "79")
    first = CustomerDeactivated(
        customer_id=gone.customer_id, reason="trùng", deactivated_at=t0 + timedelta(hours=1)
    )
    await m.handled(await m.publish(first))
    await m.handled(await m.publish(gone, envelope=stamped(gone, t0)))
    assert await names_in(m, "all", {"grades": [grade]}) == ["Cửa hàng Thái Hòa"]


# -- targets: plan against actual -------------------------------------------------------


def sold_by(seller: uuid.UUID, placed: OrderPlaced) -> OrderPlaced:
    return placed.model_copy(update={"owner_id": seller})


async def test_a_yearly_target_for_a_province_and_channel_is_measured_against_its_orders(
    marketing: Marketing,
) -> None:
    """The issue's "done when": 10,000,000,000 for Hà Nội and a dealer channel; a salesperson
    of that channel sells 1,000,000,000 net: attainment 0.1. Orders of a channel selling
    through the dealer count; orders elsewhere, in another year or of another seller do not."""
    m = marketing
    seller = await m.staff(Role.SALESPERSON)
    dealer = await new_channel(m, unique("Đại lý"), "dealer", ["01"])
    shop = await new_channel(m, unique("Cửa hàng"), "retail", ["01"], parent=dealer)
    created = await m.post(
        "/api/targets",
        {"period": "2031", "region_code": "Hà Nội", "channel_id": dealer, "amount": 10_000_000_000},
    )
    assert (created["region_code"], created["period"], created["revision"]) == ("01", "2031", 1)
    mine = await m.post(
        "/api/targets",
        {
            "period": "2031",
            "region_code": "01",
            "channel_id": dealer,
            "salesperson_id": str(seller.id),
            "amount": 4_000_000_000,
        },
    )
    orders = [
        sold_by(
            seller.id, order(("pumps", 600_000_000), channel_id=dealer, region_code="01", on=date(2031, 3, 5))
        ),
        sold_by(
            seller.id, order(("pumps", 400_000_000), channel_id=shop, region_code="01", on=date(2031, 11, 30))
        ),
        order(("pumps", 999), channel_id=dealer, region_code="79", on=date(2031, 3, 5)),  # another province
        order(("pumps", 777), channel_id=dealer, region_code="01", on=date(2030, 12, 31)),  # another year
    ]
    await m.handled(*[await m.publish(o) for o in orders])

    report = await m.get("/api/targets/attainment", period="2031", channel_id=dealer)
    rows = {(r["salesperson_id"]): r for r in report["rows"]}
    assert report["period"] == "2031"
    assert (rows[None]["target"], rows[None]["actual"], rows[None]["attainment"]) == (
        10_000_000_000,
        1_000_000_000,
        0.1,
    )
    assert rows[str(seller.id)]["actual"] == 1_000_000_000
    assert rows[str(seller.id)]["attainment"] == 0.25
    # The salesperson reads their own target only, and may set none.
    own = await m.http.get(
        "/api/targets/attainment", headers=seller.headers, params={"period": "2031", "channel_id": dealer}
    )
    assert [(r["salesperson_id"], r["actual"]) for r in own.json()["rows"]] == [
        (str(seller.id), 1_000_000_000)
    ]
    as_seller = await m.http.get("/api/targets", headers=seller.headers, params={"period": "2031"})
    assert [t["id"] for t in as_seller.json()["items"]] == [mine["id"]]
    refused = await m.http.post(
        "/api/targets", headers=seller.headers, json={"period": "2031", "region_code": "01", "amount": 1}
    )
    assert refused.status_code == 403


async def test_months_roll_up_into_their_quarter_and_year_when_those_have_no_target(
    marketing: Marketing,
) -> None:
    m = marketing
    group = await new_group(m, "valves")
    for month, amount in (("2032-01", 100), ("2032-02", 200), ("2032-03", 300), ("2032-07", 1_000)):
        await m.post(
            "/api/targets", {"period": month, "region_code": "48", "product_group": group, "amount": amount}
        )
    await m.post(
        "/api/targets", {"period": "2032-Q3", "region_code": "48", "product_group": group, "amount": 5_000}
    )
    await m.handled(
        await m.publish(order((group, 150), channel_id=None, region_code="48", on=date(2032, 2, 14))),
        await m.publish(order((group, 50), channel_id=None, region_code="48", on=date(2032, 8, 1))),
    )

    def row(report: Any) -> tuple[int, int, float | None]:
        [only] = report["rows"]
        return only["target"], only["actual"], only["attainment"]

    assert row(await m.get("/api/targets/attainment", period="2032-Q1", product_group=group)) == (
        600,
        150,
        0.25,
    )
    assert row(await m.get("/api/targets/attainment", period="2032-02", product_group=group)) == (
        200,
        150,
        0.75,
    )
    # Q3 has a target of its own: its July target does not add to it.
    assert row(await m.get("/api/targets/attainment", period="2032-Q3", product_group=group)) == (
        5_000,
        50,
        0.01,
    )
    # The year has none: Q1 from its months, Q3 its own.
    assert row(await m.get("/api/targets/attainment", period="2032", product_group=group)) == (
        5_600,
        200,
        200 / 5_600,
    )


async def test_a_target_is_revised_with_its_history_and_a_second_one_for_the_same_scope_is_refused(
    marketing: Marketing,
) -> None:
    m = marketing
    group = await new_group(m, "motors")
    body = {"period": "2033-Q2", "region_code": "79", "product_group": group, "amount": 1_000}
    created = await m.post("/api/targets", body)
    again = await m.http.post("/api/targets", headers=m.as_(Role.MARKETING), json={**body, "amount": 5})
    assert again.status_code == 409 and created["id"] in again.json()["detail"]

    manager = m.as_(Role.SALES_MANAGER)
    revised = await m.http.patch(f"/api/targets/{created['id']}", headers=manager, json={"amount": 1_500})
    assert revised.status_code == 200 and (revised.json()["amount"], revised.json()["revision"]) == (1_500, 2)
    same = await m.http.patch(f"/api/targets/{created['id']}", headers=manager, json={"amount": 1_500})
    assert same.json()["revision"] == 2
    detail = await m.get(f"/api/targets/{created['id']}")
    assert [(r["revision"], r["previous_amount"], r["amount"]) for r in detail["revisions"]] == [
        (1, None, 1_000),
        (2, 1_000, 1_500),
    ]
    assert detail["revisions"][1]["entered_by"] == str(m.user(Role.SALES_MANAGER).id)
    listed = await m.get("/api/targets", period="2033-Q2", product_group=group)
    assert (listed["total"], listed["items"][0]["amount"]) == (1, 1_500)
    missing = await m.http.patch(f"/api/targets/{uuid.uuid4()}", headers=manager, json={"amount": 1})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region_code": "Atlantis"}, "region_code"),
        ({"period": "2027-13"}, "period"),
        ({"period": "next year"}, "period"),
        ({"amount": -1}, "amount"),
        ({"channel_id": "00000000-0000-0000-0000-000000000000"}, "channel_id"),
        ({"salesperson_id": "00000000-0000-0000-0000-000000000000"}, "salesperson_id"),
        ({"owner": "me"}, "owner"),
    ],
)
async def test_bad_targets_are_refused_naming_the_field_and_write_nothing(
    marketing: Marketing, change: dict[str, Any], field: str
) -> None:
    m = marketing
    group = await new_group(m, "bad")
    body = {"period": "2034", "region_code": "01", "product_group": group, "amount": 1, **change}
    refused = await m.http.post("/api/targets", headers=m.as_(Role.MARKETING), json=body)
    assert refused.status_code == 422, refused.text
    assert field in [str(part) for problem in refused.json()["detail"] for part in problem["loc"]]
    assert await m.scalar("SELECT count(*) FROM sales_targets WHERE product_group = :g", g=group) == 0


async def test_a_deactivated_salesperson_gets_no_target(marketing: Marketing) -> None:
    m = marketing
    gone = await m.staff(Role.SALESPERSON)
    await m.deactivate(gone)
    accountant = await m.staff(Role.ACCOUNTANT)
    for who, words in ((gone, "deactivated"), (accountant, "not in sales")):
        refused = await m.http.post(
            "/api/targets",
            headers=m.as_(Role.MARKETING),
            json={"period": "2034", "region_code": "01", "salesperson_id": str(who.id), "amount": 1},
        )
        assert refused.status_code == 422
        assert words in refused.json()["detail"][0]["msg"]
        assert refused.json()["detail"][0]["loc"] == ["body", "salesperson_id"]
