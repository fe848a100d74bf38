"""The customer as a Vietnamese B2B record: tax code (validated, unique among active
customers, searchable), legal name and billing address, announced to the services that
print quotes, orders and invoices."""

from __future__ import annotations

import pytest

from crm_testkit.service import Staff
from crm_testkit.values import tax_code

from .conftest import Harness

pytestmark = pytest.mark.integration

REGISTERED = "customers.customer.registered.v1"
UPDATED = "customers.customer.updated.v1"
PROMOTED = "customers.customer.promoted_to_traditional.v1"


async def test_a_customer_keeps_its_tax_code_legal_name_and_billing_address(
    harness: Harness, seller: Staff
) -> None:
    code = tax_code()
    created = await harness.customer(
        seller,
        "Hòa Bình",
        tax_code=f" {code[:4]} {code[4:7]}.{code[7:]} ",
        legal_name="Công ty TNHH Thiết bị Hòa Bình",
        billing_address="12 Lê Lợi, Phường Sài Gòn, TP Hồ Chí Minh",
    )
    assert created["tax_code"] == code
    assert created["legal_name"] == "Công ty TNHH Thiết bị Hòa Bình"
    assert created["billing_address"] == "12 Lê Lợi, Phường Sài Gòn, TP Hồ Chí Minh"
    [registered] = await harness.outbox(REGISTERED, created["id"])
    assert {k: registered["data"][k] for k in ("tax_code", "legal_name", "billing_address")} == {
        "tax_code": code,
        "legal_name": "Công ty TNHH Thiết bị Hòa Bình",
        "billing_address": "12 Lê Lợi, Phường Sài Gòn, TP Hồ Chí Minh",
    }

    promoted = await harness.http.post(f"/api/customers/{created['id']}/promote", headers=seller.headers)
    assert promoted.status_code == 200
    [promotion] = await harness.outbox(PROMOTED, created["id"])
    assert promotion["data"]["tax_code"] == code
    assert promotion["data"]["legal_name"] == "Công ty TNHH Thiết bị Hòa Bình"


async def test_the_list_finds_a_customer_by_its_tax_code_and_a_company_finds_its_units(
    harness: Harness, seller: Staff
) -> None:
    code = tax_code()
    head = await harness.customer(seller, tax_code=code)
    unit = await harness.customer(seller, tax_code=f"{code}-001")
    await harness.customer(seller, tax_code=tax_code())

    async def found(q: str) -> set[str]:
        response = await harness.http.get("/api/customers", params={"q": q}, headers=seller.headers)
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert await found(code) == {head["id"], unit["id"]}
    assert await found(f"{code}-001") == {unit["id"]}
    assert await found(f"{code}001") == {unit["id"]}


@pytest.mark.parametrize(
    "bad",
    ["0100233487", "010023348", "0100233488-0001", "0314409058-000", "MST0100233488", "0000000000"],
)
async def test_a_bad_tax_code_is_422_naming_it_and_writes_nothing(
    harness: Harness, seller: Staff, bad: str
) -> None:
    before = await harness.scalar("SELECT count(*) FROM customers")
    response = await harness.http.post(
        "/api/customers", headers=seller.headers, json={"name": "X", "tax_code": bad}
    )
    assert response.status_code == 422, response.text
    assert [e["loc"][-1] for e in response.json()["detail"]] == ["tax_code"]
    assert await harness.scalar("SELECT count(*) FROM customers") == before

    created = await harness.customer(seller)
    patched = await harness.http.patch(
        f"/api/customers/{created['id']}", headers=seller.headers, json={"tax_code": bad}
    )
    assert patched.status_code == 422
    assert (
        await harness.http.get(f"/api/customers/{created['id']}", headers=seller.headers)
    ).json() == created


async def test_a_tax_code_belongs_to_one_active_customer_and_the_409_names_it(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    code = tax_code()
    first = await harness.customer(seller, "Minh Long", tax_code=code)
    before = await harness.scalar("SELECT count(*) FROM customers")

    taken = await harness.http.post(
        "/api/customers", headers=seller.headers, json={"name": "Minh Long 2", "tax_code": code}
    )
    assert taken.status_code == 409, taken.text
    detail = taken.json()["detail"]
    assert detail["customer"] == {"id": first["id"], "name": "Minh Long"}
    assert first["id"] in detail["message"] and code in detail["message"]
    assert await harness.scalar("SELECT count(*) FROM customers") == before

    # Someone who may not see the other customer learns only which one it is.
    hidden = await harness.http.post(
        "/api/customers", headers=other_seller.headers, json={"name": "Y", "tax_code": code}
    )
    assert hidden.status_code == 409
    assert hidden.json()["detail"]["customer"] == {"id": first["id"], "name": None}

    second = await harness.customer(seller, "Minh Long B")
    patched = await harness.http.patch(
        f"/api/customers/{second['id']}", headers=seller.headers, json={"tax_code": code}
    )
    assert patched.status_code == 409
    assert patched.json()["detail"]["customer"]["id"] == first["id"]
    assert (await harness.http.get(f"/api/customers/{second['id']}", headers=seller.headers)).json() == second

    # Its own code again is no conflict; an inactive customer frees the code.
    again = await harness.http.patch(
        f"/api/customers/{first['id']}", headers=seller.headers, json={"tax_code": code}
    )
    assert again.status_code == 200
    gone = await harness.http.post(
        f"/api/customers/{first['id']}/deactivate", headers=manager.headers, json={"reason": "đóng cửa"}
    )
    assert gone.status_code == 200
    reused = await harness.http.patch(
        f"/api/customers/{second['id']}", headers=seller.headers, json={"tax_code": code}
    )
    assert reused.status_code == 200, reused.text
    assert reused.json()["tax_code"] == code


async def test_an_edit_of_the_b2b_fields_is_audited_and_announced(harness: Harness, seller: Staff) -> None:
    created = await harness.customer(seller, "An Phát")
    code = tax_code()
    response = await harness.http.patch(
        f"/api/customers/{created['id']}",
        headers=seller.headers,
        json={"tax_code": code, "legal_name": "Công ty CP An Phát", "billing_address": "1 Hùng Vương"},
    )
    assert response.status_code == 200, response.text
    entries = (
        await harness.http.get(f"/api/customers/{created['id']}/timeline", headers=seller.headers)
    ).json()
    assert entries[-1]["detail"] == {
        "billing_address": [None, "1 Hùng Vương"],
        "legal_name": [None, "Công ty CP An Phát"],
        "tax_code": [None, code],
    }
    [updated] = await harness.outbox(UPDATED, created["id"])
    assert updated["data"]["tax_code"] == code
    assert updated["data"]["legal_name"] == "Công ty CP An Phát"
    assert updated["data"]["billing_address"] == "1 Hùng Vương"
    assert updated["data"]["name"] == "An Phát"

    cleared = await harness.http.patch(
        f"/api/customers/{created['id']}", headers=seller.headers, json={"tax_code": None}
    )
    assert cleared.json()["tax_code"] is None
    assert (await harness.outbox(UPDATED, created["id"]))[-1]["data"]["tax_code"] is None
