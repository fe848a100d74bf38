"""Product groups are a managed list: a product is filed only under a group of it, a
second spelling of a group is refused rather than becoming a new market, a retired
group takes no new products, and every change is announced (`ProductGroupChanged`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_testkit.catalogue import product_group

from .conftest import Actor, Sales

pytestmark = pytest.mark.integration

CHANGED = "sales.product_group.changed.v1"


def unique(word: str) -> str:
    return f"{word} {uuid.uuid4().hex[:6]}"


async def new_product(sales: Sales, manager: Actor, group: str) -> Any:
    return await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={
            "code": f"PG-{uuid.uuid4().hex[:6]}",
            "name": "Máy bơm ly tâm",
            "product_group": group,
            "unit_price": 5_000_000,
        },
    )


async def test_a_group_is_made_found_whatever_the_diacritics_and_announced(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    code = unique("máy bơm")
    made = await sales.http.post(
        "/api/product-groups", headers=manager.headers, json={"code": f"  {code}  ", "name": "Máy  bơm nước"}
    )
    assert made.status_code == 201, made.text
    group = made.json()
    assert (group["code"], group["name"], group["active"]) == (code, "Máy bơm nước", True)

    # Everyone reads the list; `q` matches code or name without the diacritics.
    found = await sales.http.get(
        "/api/product-groups", headers=seller.headers, params={"q": "may bom nuoc", "limit": 100}
    )
    assert found.status_code == 200
    assert code in [g["code"] for g in found.json()["items"]]
    one = await sales.http.get(f"/api/product-groups/{code}", headers=seller.headers)
    assert one.status_code == 200 and one.json()["name"] == "Máy bơm nước"

    (announced,) = await sales.emitted(CHANGED, code=code)
    assert announced["data"]["name"] == "Máy bơm nước" and announced["data"]["active"] is True
    audit = await sales.scalar(
        "SELECT count(*) FROM sales_audit WHERE entity = 'product_group' AND entity_id = :id",
        id=uuid.UUID(group["id"]),
    )
    assert audit == 1


async def test_a_second_spelling_of_a_group_is_refused_naming_the_group_it_is(
    sales: Sales, manager: Actor
) -> None:
    code = unique("máy phát điện")
    await product_group(sales.http, code, headers=manager.headers, name="Máy phát điện")
    before = await sales.scalar("SELECT count(*) FROM product_groups")
    for body in ({"code": code.upper()}, {"code": "may phat dien " + code.split()[-1]}):
        again = await sales.http.post("/api/product-groups", headers=manager.headers, json=body)
        assert again.status_code == 409, again.text
        problem = again.json()
        assert problem["code"] == "product_group.exists"
        assert problem["params"]["existing"] == code
    assert await sales.scalar("SELECT count(*) FROM product_groups") == before


async def test_a_product_takes_only_a_group_of_the_list(sales: Sales, manager: Actor) -> None:
    code = unique("máy nén khí")
    await product_group(sales.http, code, headers=manager.headers)
    before = await sales.scalar("SELECT count(*) FROM products")

    typo = await new_product(sales, manager, "may nen khi-typo")
    assert typo.status_code == 422, typo.text
    (problem,) = typo.json()["detail"]
    assert problem["loc"] == ["body", "product_group"]
    assert (problem["type"], problem["ctx"]) == ("product_group.unknown", {"group": "may nen khi-typo"})
    assert await sales.scalar("SELECT count(*) FROM products") == before

    # Typed without diacritics, the product is filed under the group's code.
    plain = await new_product(sales, manager, code.replace("máy nén", "may nen"))
    assert plain.status_code == 201, plain.text
    assert plain.json()["product_group"] == code


async def test_a_retired_group_takes_no_new_products_and_its_products_keep_it(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    code = unique("tủ điện")
    await product_group(sales.http, code, headers=manager.headers)
    kept = await new_product(sales, manager, code)
    assert kept.status_code == 201

    retired = await sales.http.patch(
        f"/api/product-groups/{code}", headers=manager.headers, json={"active": False}
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert [e["data"]["active"] for e in await sales.emitted(CHANGED, code=code)] == [True, False]

    refused = await new_product(sales, manager, code)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["type"] == "product_group.retired"
    moved = await sales.http.patch(
        f"/api/products/{kept.json()['code']}", headers=manager.headers, json={"product_group": code}
    )
    assert moved.status_code == 200  # unchanged: its own group stays
    still = await sales.http.get(f"/api/products/{kept.json()['code']}", headers=seller.headers)
    assert still.json()["product_group"] == code
    active = await sales.http.get(
        "/api/product-groups", headers=seller.headers, params={"active": "true", "q": code, "limit": 100}
    )
    assert code not in [g["code"] for g in active.json()["items"]]

    back = await sales.http.patch(
        f"/api/product-groups/{code}", headers=manager.headers, json={"active": True, "name": "Tủ điện"}
    )
    assert back.status_code == 200 and back.json()["name"] == "Tủ điện"
    assert (await new_product(sales, manager, code)).status_code == 201


async def test_only_managers_keep_the_list_and_bad_changes_change_nothing(
    sales: Sales, manager: Actor, seller: Actor
) -> None:
    code = unique("van")
    refused = await sales.http.post("/api/product-groups", headers=seller.headers, json={"code": code})
    assert refused.status_code == 403
    await product_group(sales.http, code, headers=manager.headers)
    for made in ({}, {"code": ""}, {"code": "a/b"}, {"code": "x" * 101}, {"code": code, "name": ""}):
        bad = await sales.http.post("/api/product-groups", headers=manager.headers, json=made)
        assert bad.status_code == 422, (made, bad.text)
    for body in ({}, {"name": None}, {"name": ""}, {"code": "other"}, {"active": "maybe"}):
        bad = await sales.http.patch(f"/api/product-groups/{code}", headers=manager.headers, json=body)
        assert bad.status_code == 422, (body, bad.text)
    assert (
        await sales.http.patch(f"/api/product-groups/{code}", headers=seller.headers, json={"name": "x"})
    ).status_code == 403
    missing = await sales.http.get("/api/product-groups/no such group", headers=seller.headers)
    assert missing.status_code == 404 and missing.json()["params"]["kind"] == "product group"
    assert len(await sales.emitted(CHANGED, code=code)) == 1
