"""Every change to a channel (details, coverage, salespeople, a leaver's hand-over), a
campaign and a target is in its audit trail: who (by name), when, before, after; a refused
change leaves none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_contracts import PortfolioReassigned, UserRegistered
from crm_kit.auth import Role, User

from .known_groups import new_group
from .test_integration import Marketing, unique

# The fixture, by name.
from .test_integration import marketing as marketing

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def trail(m: Marketing, url: str, role: Role = Role.MARKETING) -> list[dict[str, Any]]:
    response = await m.http.get(url, headers=m.as_(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    items: list[dict[str, Any]] = body["items"]
    return items


async def staff(m: Marketing, role: str, full_name: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    await m.handled(
        await m.publish(
            UserRegistered(
                user_id=user_id, username=unique("u"), full_name=full_name, role=role, registered_at=NOW
            )
        )
    )
    return user_id


async def test_a_channels_details_coverage_and_salespeople_are_audited(marketing: Marketing) -> None:
    m = marketing
    planner_id = await staff(m, "marketing", "Trần Thị Kế Hoạch")
    planner = m.headers_for(User(id=planner_id, username="planner", role=Role.MARKETING))
    seller = await staff(m, "salesperson", "Lê Văn Bán")
    name = unique("Đại lý")
    created = await m.http.post(
        "/api/channels", headers=planner, json={"name": name, "kind": "dealer", "region_codes": ["01"]}
    )
    channel = created.json()["id"]
    url = f"/api/channels/{channel}"

    assert (
        await m.http.put(f"{url}/coverage", headers=planner, json={"region_codes": ["01", "79"]})
    ).is_success
    refused = await m.http.put(f"{url}/coverage", headers=planner, json={"region_codes": ["99"]})
    assert refused.status_code == 422
    assigned = await m.http.put(
        f"{url}/assignments", headers=planner, json=[{"region_code": "79", "user_id": str(seller)}]
    )
    assert assigned.is_success, assigned.text
    assert (await m.http.patch(url, headers=planner, json={"name": f"{name} 2"})).is_success
    # The same coverage again changes nothing, and records nothing.
    assert (
        await m.http.put(f"{url}/coverage", headers=planner, json={"region_codes": ["79", "01"]})
    ).is_success

    edited, assignments, coverage, made = await trail(m, f"{url}/audit", Role.SALESPERSON)
    assert [e["action"] for e in (edited, assignments, coverage, made)] == [
        "edited",
        "assignments_set",
        "coverage_set",
        "created",
    ]
    assert (coverage["before"], coverage["after"]) == (
        {"region_codes": ["01"]},
        {"region_codes": ["01", "79"]},
    )
    assert (assignments["before"], assignments["after"]) == (
        {"assignments": {}},
        {"assignments": {"79": [str(seller)]}},
    )
    assert (edited["before"], edited["after"]) == ({"name": name}, {"name": f"{name} 2"})
    assert made["after"]["kind"] == "dealer" and made["before"] == {}
    assert {e["actor_name"] for e in (edited, assignments, coverage, made)} == {"Trần Thị Kế Hoạch"}
    assert edited["actor_id"] == str(planner_id)
    assert edited["at"] >= made["at"]

    # A leaver's provinces handed over are in the channel's trail too (the system did it).
    successor = await staff(m, "salesperson", "Phạm Văn Kế")
    await m.handled(
        await m.publish(PortfolioReassigned(from_user_id=seller, to_user_id=successor, reassigned_at=NOW))
    )
    handed = (await trail(m, f"{url}/audit"))[0]
    assert (handed["action"], handed["actor_id"]) == ("handed_over", None)
    assert handed["after"] == {"assignments": {"79": [str(successor)]}}

    assert (await m.http.get(f"/api/channels/{uuid.uuid4()}/audit", headers=planner)).status_code == 404
    paged = await m.http.get(f"{url}/audit", headers=planner, params={"limit": 1, "offset": 1})
    assert [e["action"] for e in paged.json()["items"]] == ["edited"] and paged.json()["total"] == 5


async def test_campaign_changes_are_audited(marketing: Marketing) -> None:
    m = marketing
    body = {
        "name": unique("Tết"),
        "target": {"grades": ["A"], "region_codes": [], "channel_ids": []},
        "starts_on": "2026-01-01",
        "ends_on": "2026-02-01",
    }
    campaign = await m.post("/api/campaigns", body)
    url = f"/api/campaigns/{campaign['id']}"
    refused = await m.http.patch(url, headers=m.as_(Role.MARKETING), json={"ends_on": "2025-01-01"})
    assert refused.status_code == 422
    patched = await m.http.patch(url, headers=m.as_(Role.MARKETING), json={"ends_on": "2026-03-01"})
    assert patched.is_success, patched.text
    launched_campaign = await m.post(f"{url}/launch", {}, expect=200)

    launched, edited, made = await trail(m, f"{url}/audit")
    assert (edited["before"], edited["after"]) == ({"ends_on": "2026-02-01"}, {"ends_on": "2026-03-01"})
    assert (launched["before"]["status"], launched["after"]["status"]) == ("draft", "launched")
    assert launched["after"]["audience_size"] == launched_campaign["audience_size"]
    assert made["after"]["target"]["grades"] == ["A"]


async def test_target_changes_are_audited_and_a_salesperson_sees_only_their_own(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "pumps")
    body = {"period": "2034", "region_code": "79", "product_group": group, "amount": 1_000}
    target = await m.post("/api/targets", body)
    url = f"/api/targets/{target['id']}"
    manager = m.as_(Role.SALES_MANAGER)
    assert (await m.http.patch(url, headers=manager, json={"amount": 2_500})).is_success
    assert (await m.http.patch(url, headers=manager, json={"amount": -1})).status_code == 422

    revised, made = await trail(m, f"{url}/audit", Role.SALES_MANAGER)
    assert (revised["action"], revised["before"], revised["after"]) == (
        "revised",
        {"amount": 1_000},
        {"amount": 2_500},
    )
    assert revised["actor_id"] == str(m.user(Role.SALES_MANAGER).id)
    assert (made["action"], made["after"]["amount"], made["after"]["period"]) == ("created", 1_000, "2034")
    # Not their target: a salesperson is told it does not exist.
    assert (await m.http.get(f"{url}/audit", headers=m.as_(Role.SALESPERSON))).status_code == 404
