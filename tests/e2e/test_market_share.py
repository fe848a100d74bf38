"""Market share from real revenue: channels over provinces, market volumes, and orders
placed through the whole flow (quote, credit check, approval, acceptance, order)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually

from .test_quotes import submitted_and_checked

pytestmark = pytest.mark.e2e

# "01" (Hà Nội) is the white space: the e2e tests share one stack, and a channel covers a
# province for every test after it, so no other e2e test may give Hà Nội a channel.
VOLUMES = {"79": 1_000_000_000, "48": 500_000_000, "92": 400_000_000, "01": 800_000_000}


async def order_through_the_flow(seller, manager, code: str, region: str, channel: str, quantity: int) -> int:
    """A new customer in `region` sold through `channel`; returns the order's net revenue."""
    made = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": f"Khách {region} {uuid.uuid4().hex[:4]}",
            "region_code": region,
            "channel_id": channel,
        },
    )
    cid = made.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: cid in [c["id"] for c in r.json()["items"]],
    )
    quote = await seller.client.post(
        "/api/quotes", json={"customer_id": cid, "lines": [{"product_code": code, "quantity": quantity}]}
    )
    assert quote.status_code == 201, quote.text
    qid = quote.json()["id"]
    await submitted_and_checked(seller, qid)
    assert (await manager.client.post(f"/api/quotes/{qid}/approve", json={})).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{qid}/send")).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{qid}/accept")).status_code == 200
    orders = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 1,
        what="the order placed",
    )
    return int(orders.json()["items"][0]["net_total"])


async def test_market_share_per_region_and_channel_from_real_orders(stack, new_user):
    seller, manager, marketer = (
        await new_user(Role.SALESPERSON),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.MARKETING),
    )
    year = str(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year)
    group = await catalogue.product_group(manager.client, f"compressors-{uuid.uuid4().hex[:6]}")
    code = f"MS-{uuid.uuid4().hex[:6].upper()}"
    made = await manager.client.post(
        "/api/products",
        json={"code": code, "name": "Máy nén khí", "product_group": group, "unit_price": 10_000_000},
    )
    assert made.status_code == 201, made.text

    async def channel(name: str, kind: str, regions: list[str], parent: str | None = None) -> str:
        body = {"name": f"{name} {uuid.uuid4().hex[:4]}", "kind": kind, "region_codes": regions}
        if parent:
            body["parent_id"] = parent
        response = await marketer.client.post("/api/channels", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    distributor = await channel("Nhà phân phối Miền Nam", "distributor", ["79", "48"])
    dealer = await channel("Đại lý Quận 7", "dealer", ["79"], parent=distributor)
    online = await channel("Cửa hàng trực tuyến", "online", ["92"])
    for region, amount in VOLUMES.items():
        body = {
            "region_code": region,
            "product_group": group,
            "period": year,
            "amount": amount,
            "source": "industry_report",
        }
        response = await catalogue.once_known(
            lambda body=body: marketer.client.post("/api/market-volumes", json=body)
        )
        assert response.status_code == 201, response.text

    sold = {
        ("79", dealer): await order_through_the_flow(seller, manager, code, "79", dealer, 3),
        ("79", distributor): await order_through_the_flow(seller, manager, code, "79", distributor, 4),
        ("48", distributor): await order_through_the_flow(seller, manager, code, "48", distributor, 2),
        ("92", online): await order_through_the_flow(seller, manager, code, "92", online, 4),
    }
    expected = {
        ("79", dealer): sold[("79", dealer)],
        # A parent's revenue includes what its dealers sold.
        ("79", distributor): sold[("79", distributor)] + sold[("79", dealer)],
        ("48", distributor): sold[("48", distributor)],
        ("92", online): sold[("92", online)],
    }

    def ours(report: dict) -> dict[tuple[str, str], dict]:
        return {
            (r["region_code"], r["channel_id"]): r
            for r in report["rows"]
            if r["channel_id"] in (distributor, dealer, online)
        }

    report = await eventually(
        lambda: marketer.client.get("/api/market-share", params={"period": year, "product_group": group}),
        until=lambda r: (
            r.status_code == 200 and {k: v["revenue"] for k, v in ours(r.json()).items()} == expected
        ),
        what="marketing's revenue equal to the orders placed",
    )
    rows = ours(report.json())
    for (region, _), row in rows.items():
        assert row["market_volume"] == VOLUMES[region]
        assert row["share"] == pytest.approx(row["revenue"] / VOLUMES[region])
    white = {w["region_code"] for w in report.json()["white_space"]}
    assert "01" in white and not white & {"79", "48", "92"}
    print(
        f"\n[market share {year}] "
        + ", ".join(
            f"{region}/{'dealer' if ch == dealer else 'distributor' if ch == distributor else 'online'}: "
            f"{row['revenue']:,} of {row['market_volume']:,} = {row['share']:.2%}"
            for (region, ch), row in sorted(rows.items())
        )
        + f"; white space: {sorted(white)}"
    )
    assert (await seller.client.get("/api/market-share", params={"period": year})).status_code == 403
