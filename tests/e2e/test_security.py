"""No one gets in without a valid token; bad input changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crm_kit.auth import Role, TokenIssuer, User, generate_keypair

pytestmark = pytest.mark.e2e

#: One route per service that needs a token, called through the gateway and directly.
PROTECTED = {
    "customers": "/api/customers",
    "sales": f"/api/sales/customers/{uuid.uuid4()}",
    "accounting": f"/api/accounts/{uuid.uuid4()}",
}


def bad_tokens(issuer: TokenIssuer) -> dict[str, str]:
    someone = User(id=uuid.uuid4(), username="mallory", role=Role.ADMIN)
    other_private, _ = generate_keypair()
    foreign = TokenIssuer(other_private, issuer="crm-gateway", audience="crm", ttl=timedelta(hours=1))
    return {
        "expired": issuer.issue(someone, now=datetime.now(UTC) - timedelta(hours=2)),
        "signed with another key": foreign.issue(someone),
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize("service", sorted(PROTECTED))
async def test_no_valid_token_gets_401_at_gateway_and_service(stack, issuer, service):
    path = PROTECTED[service]
    async with httpx.AsyncClient(timeout=10) as client:
        for base in (stack.url("gateway"), stack.url(service)):
            assert (await client.get(base + path)).status_code == 401, f"{base}{path} without a token"
            for why, token in bad_tokens(issuer).items():
                response = await client.get(base + path, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 401, f"{base}{path} with a token {why}"
                assert response.json()["detail"]


async def test_a_valid_token_is_accepted_by_a_service_directly(stack, issuer):
    token = issuer.issue(User(id=uuid.uuid4(), username="direct", role=Role.SALESPERSON))
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            stack.url("customers") + "/api/customers", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0}


async def test_malformed_body_is_422_naming_the_field_and_writes_nothing(stack, new_user, databases):
    seller = await new_user(Role.SALESPERSON)
    before = await databases.fetchval("customers", "SELECT count(*) FROM customers")
    cases = {
        "name": {"phone": "0912345678"},
        "email": {"name": "Công ty A", "email": "not-an-email"},
        "owner_id": {"name": "Công ty B", "owner_id": str(uuid.uuid4())},  # not settable here
    }
    for field, body in cases.items():
        response = await seller.client.post("/api/customers", json=body)
        assert response.status_code == 422, (field, response.text)
        assert any(field in error["loc"] for error in response.json()["detail"]), response.text
    not_json = await seller.client.post(
        "/api/customers", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert await databases.fetchval("customers", "SELECT count(*) FROM customers") == before


async def test_a_salesperson_sees_only_their_own_customers(stack, new_user):
    alice, bob = await new_user(Role.SALESPERSON), await new_user(Role.SALESPERSON)
    manager = await new_user(Role.SALES_MANAGER)
    created = await alice.client.post("/api/customers", json={"name": "Khách của Alice"})
    cid = created.json()["id"]

    assert (await bob.client.get(f"/api/customers/{cid}")).status_code == 404
    assert (await bob.client.post(f"/api/customers/{cid}/promote")).status_code == 404
    assert cid not in [c["id"] for c in (await bob.client.get("/api/customers")).json()["items"]]
    assert (await manager.client.get(f"/api/customers/{cid}")).status_code == 200
    assert (await alice.client.get(f"/api/customers/{cid}")).status_code == 200


async def test_roles_that_do_not_sell_cannot_create_customers(stack, new_user):
    accountant = await new_user(Role.ACCOUNTANT)
    response = await accountant.client.post("/api/customers", json={"name": "X"})
    assert response.status_code == 403
