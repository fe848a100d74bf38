"""Bad input changes nothing: no mass assignment, capped paging, 413 for an oversized
body, 422 naming the field."""

from __future__ import annotations

import uuid

import httpx
import pytest

from crm_kit.auth import Role
from crm_kit.http import MAX_PAGE_SIZE

from ..harness import SERVICES
from .conftest import World

pytestmark = [pytest.mark.e2e, pytest.mark.security]


async def test_a_patch_cannot_set_owner_status_totals_approval_stage_or_grade(world: World):
    """Each refusal is 422 for the forbidden fields themselves (named in the answer), the
    record unchanged; and the same request without them goes through and changes the
    allowed field: a 422 for any other reason (a wrong path, a bad value) would prove
    nothing (issue 16)."""
    w = world
    stranger = str(w.b.user_id)
    tag = uuid.uuid4().hex[:4]
    cases = [
        (
            w.a,
            f"/api/leads/{w.lead_id}",
            {"company": f"Đổi tên {tag}"},
            {"owner_id": stranger, "status": "converted"},
        ),
        (
            w.a,
            f"/api/customers/{w.customer_id}",
            {"contact_name": f"Chị Lan {tag}"},
            {"owner_id": stranger, "lifecycle_stage": "traditional", "grade": "A"},
        ),
        (
            w.a,
            f"/api/quotes/{w.draft_quote_id}",
            {"note": f"ghi chú {tag}"},
            {"status": "approved", "total": 1, "approved": True, "owner_id": stranger},
        ),
        (
            w.accountant,
            f"/api/accounts/{w.ordering_customer_id}",
            {"credit_limit": 70_000_000 + int(tag, 16)},
            {"balance": -1, "owner_id": stranger},
        ),
    ]
    for api, path, allowed, forbidden in cases:
        before = (await api.client.get(path)).json()
        refused = await api.client.patch(path, json={**allowed, **forbidden})
        assert refused.status_code == 422, (path, refused.text)
        named = {e["loc"][-1] for e in refused.json()["detail"] if e["type"] == "extra_forbidden"}
        assert named == set(forbidden), (path, refused.text)
        assert (await api.client.get(path)).json() == before, path
        accepted = await api.client.patch(path, json=allowed)
        assert accepted.status_code == 200, (path, accepted.text)
        after = (await api.client.get(path)).json()
        assert {f: after[f] for f in allowed} == allowed, path
        kept = [f for f in forbidden if f in before]
        assert {f: after[f] for f in kept} == {f: before[f] for f in kept}, path


async def test_a_create_cannot_choose_its_owner_or_stage(world: World, databases):
    w = world
    made = await w.a.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": "Tự chọn chủ",
            "owner_id": str(w.b.user_id),
            "lifecycle_stage": "traditional",
        },
    )
    if made.status_code == 201:
        assert made.json()["owner_id"] == str(w.a.user_id) and made.json()["lifecycle_stage"] == "prospect"
    else:
        assert made.status_code == 422, made.text
    lead = await w.a.client.post(
        "/api/leads", json={"full_name": "Trần Thị Bình", "source": "walk_in", "owner_id": str(w.b.user_id)}
    )
    assert lead.status_code in (201, 403, 422), lead.text
    if lead.status_code == 201:
        assert lead.json()["owner_id"] == str(w.a.user_id)


async def test_a_bad_enum_or_an_overlong_string_is_422_naming_the_field_and_writes_nothing(
    new_user, databases
):
    seller = await new_user(Role.SALESPERSON)
    before = await databases.fetchval("customers", "SELECT count(*) FROM customers")
    leads_before = await databases.fetchval("leads", "SELECT count(*) FROM leads")
    cases = [
        ("/api/leads", {"full_name": "Lê Văn Cường", "source": "teleport"}, "source"),
        ("/api/customers", {"name": "x" * 201}, "name"),
        ("/api/customers", {"phone": "0912345678"}, "name"),
        ("/api/customers", {"name": "Công ty A", "email": "not-an-email"}, "email"),
        ("/api/customers", {"name": "Công ty B", "owner_id": str(uuid.uuid4())}, "owner_id"),
    ]
    for path, body, field in cases:
        response = await seller.client.post(path, json=body)
        assert response.status_code == 422, (field, response.text)
        assert any(field in error["loc"] for error in response.json()["detail"]), response.text
    not_json = await seller.client.post(
        "/api/customers", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert await databases.fetchval("customers", "SELECT count(*) FROM customers") == before
    assert await databases.fetchval("leads", "SELECT count(*) FROM leads") == leads_before


async def list_routes(client: httpx.AsyncClient, base: str) -> list[str]:
    """Every GET without path parameters that takes `limit`, from the service's OpenAPI."""
    spec = (await client.get(base + "/openapi.json")).json()
    return [
        path
        for path, ops in spec["paths"].items()
        if "get" in ops
        and "{" not in path
        and any(p["name"] == "limit" for p in ops["get"].get("parameters", []))
    ]


@pytest.mark.parametrize("service", SERVICES)
async def test_every_list_caps_its_page_size_and_offset(stack, admin, service):
    base = stack.url(service)
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {admin.token}"}) as client:
        routes = await list_routes(client, base)
        assert routes, f"{service} has no paged list"
        for path in routes:
            huge = await client.get(base + path, params={"limit": 100_000, "period": "2026"})
            if huge.status_code == 200:
                assert len(huge.json()["items"]) <= MAX_PAGE_SIZE, path
            else:
                assert huge.status_code == 422, (path, huge.text)
                assert any("limit" in e["loc"] for e in huge.json()["detail"]), (path, huge.text)
            far = await client.get(base + path, params={"offset": 10**30, "period": "2026"})
            assert far.status_code in (200, 422), (path, far.status_code, far.text)


async def test_an_oversized_body_is_413_at_the_gateway_and_at_each_service(stack, admin):
    headers = {"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        through = await client.post(stack.url("gateway") + "/api/customers", content=b" " * (7 * 1024 * 1024))
        assert through.status_code == 413, through.text
        for service in SERVICES:
            direct = await client.post(stack.url(service) + "/api/anything", content=b" " * (9 * 1024 * 1024))
            assert direct.status_code == 413, (service, direct.status_code)
