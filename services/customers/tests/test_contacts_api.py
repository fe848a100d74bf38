"""A customer's contacts over HTTP: several, exactly one primary, audited, and who may."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration


async def add(harness: Harness, who: Staff, cid: str, **body: Any) -> dict[str, Any]:
    response = await harness.http.post(f"/api/customers/{cid}/contacts", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()
    return contact


async def contacts(harness: Harness, who: Staff, cid: str) -> list[dict[str, Any]]:
    response = await harness.http.get(f"/api/customers/{cid}/contacts", headers=who.headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def primaries(harness: Harness, who: Staff, cid: str) -> list[str]:
    return [c["name"] for c in await contacts(harness, who, cid) if c["is_primary"]]


async def kinds(harness: Harness, who: Staff, cid: str) -> list[str]:
    entries = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=who.headers)).json()
    return [e["kind"] for e in entries]


async def test_contacts_are_added_with_phones_normalised_and_the_first_is_primary(
    harness: Harness, seller: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    lan = await add(
        harness, seller, cid, name="Nguyễn Thị Lan", role="kế toán", phone="+84 912.345.678", email="Lan@X.vn"
    )
    assert (lan["phone"], lan["email"], lan["is_primary"]) == ("0912345678", "lan@x.vn", True)
    await add(harness, seller, cid, name="Trần Văn Bình", role="mua hàng")
    assert await primaries(harness, seller, cid) == ["Nguyễn Thị Lan"]
    # A new one sent as primary takes the place.
    await add(harness, seller, cid, name="Lê Minh", is_primary=True)
    assert await primaries(harness, seller, cid) == ["Lê Minh"]
    assert [c["name"] for c in await contacts(harness, seller, cid)] == [
        "Lê Minh",
        "Nguyễn Thị Lan",
        "Trần Văn Bình",
    ]
    assert (await kinds(harness, seller, cid)).count("contact_added") == 3


async def test_making_another_primary_and_removing_the_primary_keep_exactly_one(
    harness: Harness, seller: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    a = await add(harness, seller, cid, name="A")
    b = await add(harness, seller, cid, name="B")
    c = await add(harness, seller, cid, name="C")

    made = await harness.http.patch(
        f"/api/customers/{cid}/contacts/{c['id']}", headers=seller.headers, json={"is_primary": True}
    )
    assert made.status_code == 200, made.text
    assert await primaries(harness, seller, cid) == ["C"]

    removed = await harness.http.delete(f"/api/customers/{cid}/contacts/{c['id']}", headers=seller.headers)
    assert removed.status_code == 204
    # The oldest left takes its place.
    assert await primaries(harness, seller, cid) == ["A"]
    entries = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert entries[-1]["kind"] == "contact_removed"
    assert entries[-1]["detail"]["name"] == "C" and entries[-1]["detail"]["primary_now"] == a["id"]

    for contact in (a, b):
        gone = await harness.http.delete(
            f"/api/customers/{cid}/contacts/{contact['id']}", headers=seller.headers
        )
        assert gone.status_code == 204
    assert await contacts(harness, seller, cid) == []


async def test_an_edit_changes_what_is_sent_and_is_audited(harness: Harness, seller: Staff) -> None:
    cid = (await harness.customer(seller))["id"]
    contact = await add(harness, seller, cid, name="An", phone="0912345678")
    response = await harness.http.patch(
        f"/api/customers/{cid}/contacts/{contact['id']}",
        headers=seller.headers,
        json={"role": "giám đốc", "phone": "098 765 4321", "email": None},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["phone"]) == ("giám đốc", "0987654321")
    entries = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert entries[-1]["kind"] == "contact_updated"
    assert entries[-1]["detail"] == {
        "contact_id": contact["id"],
        "role": [None, "giám đốc"],
        "phone": ["0912345678", "0987654321"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "A", "phone": "12345"}, "phone"),
        ({"name": "A", "email": "nope"}, "email"),
        ({"name": "A", "customer_id": str(uuid.uuid4())}, "customer_id"),
        ({"role": "x"}, "name"),
    ],
)
async def test_a_bad_contact_is_422_and_adds_nothing(
    harness: Harness, seller: Staff, body: dict, field: str
) -> None:
    cid = (await harness.customer(seller))["id"]
    response = await harness.http.post(f"/api/customers/{cid}/contacts", headers=seller.headers, json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    assert await contacts(harness, seller, cid) == []
    assert await kinds(harness, seller, cid) == ["registered"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"is_primary": False}, "is_primary"), ({"name": None}, "name"), ({"phone": "0123"}, "phone")],
)
async def test_a_bad_contact_edit_is_422_and_changes_nothing(
    harness: Harness, seller: Staff, body: dict, field: str
) -> None:
    cid = (await harness.customer(seller))["id"]
    contact = await add(harness, seller, cid, name="A")
    response = await harness.http.patch(
        f"/api/customers/{cid}/contacts/{contact['id']}", headers=seller.headers, json=body
    )
    assert response.status_code == 422, response.text
    assert field in [e["loc"][-1] for e in response.json()["detail"]]
    assert await contacts(harness, seller, cid) == [contact]


async def test_contacts_of_anothers_customer_or_of_another_customer_are_404(
    harness: Harness, seller: Staff, other_seller: Staff, marketer: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    other = (await harness.customer(seller))["id"]
    contact = await add(harness, seller, cid, name="A")
    path = f"/api/customers/{cid}/contacts"
    assert (await harness.http.get(path, headers=other_seller.headers)).status_code == 404
    stranger = await harness.http.post(path, headers=other_seller.headers, json={"name": "B"})
    assert stranger.status_code == 404
    wrong = f"/api/customers/{other}/contacts/{contact['id']}"
    assert (await harness.http.patch(wrong, headers=seller.headers, json={"name": "Z"})).status_code == 404
    assert (await harness.http.delete(wrong, headers=seller.headers)).status_code == 404
    assert (await harness.http.post(path, headers=marketer.headers, json={"name": "B"})).status_code == 403
    assert [c["name"] for c in await contacts(harness, marketer, cid)] == ["A"]
    assert (await add(harness, manager, cid, name="B"))["is_primary"] is False
    unknown = f"/api/customers/{cid}/contacts/{uuid.uuid4()}"
    assert (await harness.http.delete(unknown, headers=seller.headers)).status_code == 404


async def test_an_inactive_customer_gets_no_new_contact(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    await harness.http.post(f"/api/customers/{cid}/deactivate", headers=manager.headers, json={"reason": "x"})
    response = await harness.http.post(
        f"/api/customers/{cid}/contacts", headers=seller.headers, json={"name": "A"}
    )
    assert response.status_code == 409
    assert await contacts(harness, seller, cid) == []
