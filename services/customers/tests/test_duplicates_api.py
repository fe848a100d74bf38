"""The duplicate warning on a customer created by hand, answered like the leads' capture:
409 with the look-alikes (tax code, normalised phone of the customer or its contacts,
folded name) unless `confirm_duplicate`; nothing is written until then."""

from __future__ import annotations

import uuid

import pytest

from crm_testkit.service import Staff
from crm_testkit.values import tax_code

from .conftest import Harness

pytestmark = pytest.mark.integration


def phone() -> str:
    return f"09{uuid.uuid4().int % 10**8:08d}"


async def create(harness: Harness, who: Staff, **body: object) -> tuple[int, dict]:
    before = await harness.scalar("SELECT count(*) FROM customers")
    response = await harness.http.post("/api/customers", headers=who.headers, json=body)
    if response.status_code != 201:
        assert await harness.scalar("SELECT count(*) FROM customers") == before
    return response.status_code, response.json()


async def test_a_look_alike_by_folded_name_is_409_with_the_candidate_until_confirmed(
    harness: Harness, seller: Staff
) -> None:
    tag = uuid.uuid4().hex[:6]
    first = await harness.customer(seller, f"Công ty Điện máy Hòa Phát {tag}", confirm_duplicate=False)
    status, body = await create(harness, seller, name=f"  cong ty dien may hoa phat {tag.upper()} ")
    assert status == 409
    assert body["detail"]["message"] == "possible duplicates"
    [candidate] = body["detail"]["duplicates"]
    assert candidate["id"] == first["id"] and candidate["matched_on"] == ["name"]
    assert candidate["name"] == first["name"] and candidate["owner_id"] == str(seller.id)

    status, made = await create(
        harness, seller, name=f"cong ty dien may hoa phat {tag}", confirm_duplicate=True
    )
    assert status == 201, made


async def test_a_phone_matches_the_customers_own_or_any_of_its_contacts(
    harness: Harness, seller: Staff
) -> None:
    own, contacts = phone(), phone()
    by_own = await harness.customer(seller, phone=own)
    by_contact = await harness.customer(seller)
    added = await harness.http.post(
        f"/api/customers/{by_contact['id']}/contacts",
        headers=seller.headers,
        json={"name": "An", "phone": contacts},
    )
    assert added.status_code == 201
    status, body = await create(harness, seller, name=f"X {uuid.uuid4()}", phone=f"+84 {own[1:4]} {own[4:]}")
    assert status == 409
    assert [(d["id"], d["matched_on"]) for d in body["detail"]["duplicates"]] == [(by_own["id"], ["phone"])]
    status, body = await create(harness, seller, name=f"X {uuid.uuid4()}", phone=contacts)
    assert status == 409
    assert [(d["id"], d["matched_on"]) for d in body["detail"]["duplicates"]] == [
        (by_contact["id"], ["phone"])
    ]


async def test_an_inactive_customers_tax_code_warns_and_every_match_is_named(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    code, tel, tag = tax_code(), phone(), uuid.uuid4().hex[:6]
    old = await harness.customer(seller, f"Thép Việt {tag}", tax_code=code, phone=tel)
    await harness.http.post(
        f"/api/customers/{old['id']}/deactivate", headers=manager.headers, json={"reason": "x"}
    )
    status, body = await create(harness, seller, name=f"THÉP VIỆT {tag}", tax_code=code, phone=tel)
    assert status == 409
    [candidate] = body["detail"]["duplicates"]
    assert candidate["id"] == old["id"]
    assert candidate["matched_on"] == ["tax_code", "phone", "name"]
    assert candidate["lifecycle_stage"] == "inactive" and candidate["tax_code"] == code


async def test_a_look_alike_the_caller_may_not_see_shows_only_that_it_exists(
    harness: Harness, seller: Staff, other_seller: Staff
) -> None:
    tel = phone()
    hidden = await harness.customer(seller, f"Riêng {uuid.uuid4()}", phone=tel)
    status, body = await create(harness, other_seller, name=f"Khác {uuid.uuid4()}", phone=tel)
    assert status == 409
    assert body["detail"]["duplicates"] == [
        {"id": hidden["id"], "lifecycle_stage": "prospect", "matched_on": ["phone"]}
    ]


async def test_no_look_alike_is_created_at_once_and_confirm_must_be_a_boolean(
    harness: Harness, seller: Staff
) -> None:
    status, made = await create(
        harness, seller, name=f"Mới {uuid.uuid4()}", phone=phone(), tax_code=tax_code()
    )
    assert status == 201, made
    status, body = await create(harness, seller, name="A", confirm_duplicate="perhaps")
    assert status == 422
    assert [e["loc"][-1] for e in body["detail"]] == ["confirm_duplicate"]


async def test_confirming_does_not_get_round_an_active_customers_tax_code(
    harness: Harness, seller: Staff
) -> None:
    code = tax_code()
    first = await harness.customer(seller, tax_code=code)
    status, body = await create(
        harness, seller, name=f"Y {uuid.uuid4()}", tax_code=code, confirm_duplicate=True
    )
    assert status == 409
    assert body["detail"]["customer"]["id"] == first["id"]
