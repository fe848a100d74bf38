"""A leaving salesperson's leads move to their successor on `PortfolioReassigned`,
delivered through the real RabbitMQ to the service's own consumer."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from crm_contracts import PortfolioReassigned
from crm_kit import directory
from crm_kit.auth import Role
from crm_testkit.polling import eventually
from crm_testkit.service import Staff

from .conftest import LeadsService

pytestmark = pytest.mark.integration


async def give_leads(leads: LeadsService, manager: Staff, owner: Staff, n: int, tag: str) -> list[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["full_name", "phone", "source", "owner"])
    for i in range(n):
        writer.writerow([f"Khách {tag} {i}", f"07{tag}{i:06d}", "internet", owner.username])
    response = await leads.http.post(
        "/api/leads/import", headers=manager.headers, files={"file": ("l.csv", out.getvalue().encode())}
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == n, response.json()
    ids: list[str] = response.json()["imported_ids"]
    return ids


async def owned_by(leads: LeadsService, user_id: uuid.UUID) -> int:
    return int(await leads.scalar("SELECT count(*) FROM leads WHERE owner_id = :u", u=user_id))


async def test_every_lead_of_a_leaving_salesperson_moves_once(leads: LeadsService) -> None:
    manager, admin = await leads.staff(Role.SALES_MANAGER), await leads.staff(Role.ADMIN)
    leaving, successor = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    ids = await give_leads(leads, manager, leaving, 200, "11")
    # Leads in every status move, finished ones included.
    for lead_id in ids[:5]:
        response = await leads.http.post(
            f"/api/leads/{lead_id}/disqualify", headers=manager.headers, json={"reason": "unreachable"}
        )
        assert response.status_code == 200
    await leads.http.post(
        f"/api/leads/{ids[5]}/merge", headers=manager.headers, json={"duplicate_id": ids[6]}
    )
    holdings = (await leads.http.get(f"/api/portfolio/{leaving.id}", headers=admin.headers)).json()
    assert holdings["holdings"] == {"leads": 200}

    # The leaving person is deactivated first, as the gateway does.
    async with leads.db.transaction() as session:
        await session.execute(
            update(directory.staff).where(directory.staff.c.user_id == leaving.id).values(active=False)
        )
    event = PortfolioReassigned(
        from_user_id=leaving.id, to_user_id=successor.id, reassigned_at=datetime.now(UTC)
    )
    envelope = await leads.publish(event, actor=admin.id)

    async def moved() -> bool:
        return await owned_by(leads, leaving.id) == 0

    await eventually(moved)
    assert await owned_by(leads, successor.id) == 200
    entries = await leads.rows(
        "SELECT actor_id, changes FROM lead_history WHERE action = 'reassigned' AND lead_id = ANY(:ids)",
        ids=[uuid.UUID(i) for i in ids],
    )
    assert len(entries) == 200
    assert {e.actor_id for e in entries} == {admin.id}
    assert all(e.changes == {"owner_id": [str(leaving.id), str(successor.id)]} for e in entries)

    response = await leads.http.get(f"/api/portfolio/{leaving.id}", headers=manager.headers)
    assert response.json() == {
        "service": "leads",
        "user_id": str(leaving.id),
        "holdings": {"leads": 0},
    }
    response = await leads.http.get(f"/api/portfolio/{successor.id}", headers=manager.headers)
    assert response.json()["holdings"] == {"leads": 200}

    # The successor now works them; the history shows the hand-over.
    response = await leads.http.post(f"/api/leads/{ids[10]}/contact", headers=successor.headers)
    assert response.status_code == 200
    history = (await leads.http.get(f"/api/leads/{ids[10]}/history", headers=successor.headers)).json()
    assert [e["action"] for e in history["items"]] == ["imported", "reassigned", "contacted"]

    # The same event delivered again has no second effect.
    await leads.publish(event, actor=admin.id, event_id=envelope.event_id)
    marker = await leads.staff(Role.SALESPERSON)
    await leads.publish(
        PortfolioReassigned(from_user_id=marker.id, to_user_id=successor.id, reassigned_at=datetime.now(UTC)),
        actor=admin.id,
    )

    async def handled_marker() -> bool:
        return bool(
            await leads.scalar(
                "SELECT count(*) FROM inbox WHERE routing_key = 'gateway.portfolio.reassigned.v1'"
            )
            >= 2
        )

    await eventually(handled_marker)
    count = await leads.scalar(
        "SELECT count(*) FROM lead_history WHERE action = 'reassigned' AND lead_id = ANY(:ids)",
        ids=[uuid.UUID(i) for i in ids],
    )
    assert count == 200


async def test_a_successor_not_yet_in_the_directory_is_waited_for(leads: LeadsService) -> None:
    manager = await leads.staff(Role.SALES_MANAGER)
    leaving = await leads.staff(Role.SALESPERSON)
    successor = await leads.staff(Role.SALESPERSON, in_directory=False)
    await give_leads(leads, manager, leaving, 3, "22")

    retried = _retried()
    await leads.publish(
        PortfolioReassigned(from_user_id=leaving.id, to_user_id=successor.id, reassigned_at=datetime.now(UTC))
    )

    async def waiting() -> bool:
        return _retried() > retried

    # Not dropped and not applied: it waits in the retry queue.
    await eventually(waiting)
    assert await owned_by(leads, leaving.id) == 3

    async with leads.db.transaction() as session:
        await session.execute(
            directory.staff.insert().values(
                user_id=successor.id,
                username=successor.username,
                full_name="Người kế nhiệm",
                role="salesperson",
            )
        )

    async def moved() -> bool:
        return await owned_by(leads, successor.id) == 3

    await eventually(moved)
    assert await owned_by(leads, leaving.id) == 0


def _retried() -> float:
    """How often this process sent a PortfolioReassigned to the delayed-retry queue."""
    labels = {"service": "leads", "routing_key": PortfolioReassigned.routing_key}
    return REGISTRY.get_sample_value("crm_messages_retried_total", labels) or 0.0
