"""Events from other services, published to the real exchange and consumed by the running app."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from prometheus_client import REGISTRY as METRICS

from crm_contracts import LeadQualified, PortfolioReassigned, QuoteSent
from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

REGISTERED = "customers.customer.registered.v1"
REASSIGNED = "customers.customer.reassigned.v1"


def lead_qualified(owner: Staff, **fields: object) -> LeadQualified:
    values: dict[str, object] = {
        "lead_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "name": "Công ty CP Điện lạnh Sông Hồng",
        "contact_name": "Trần Thị Mai",
        "phone": "+84 24 3825 1234",
        "email": "Mai.Tran@songhong.vn",
        "owner_id": owner.id,
        "source": "trade_fair",
        "region_code": "01",
        "channel_id": uuid.uuid4(),
        "qualified_at": datetime.now(UTC),
        **fields,
    }
    return LeadQualified.model_validate(values)


async def test_a_qualified_lead_becomes_a_prospect_with_the_minted_id_once(
    harness: Harness, seller: Staff
) -> None:
    event = lead_qualified(seller)
    first = await harness.publish(event, actor=seller.id)
    second = await harness.publish(event, actor=seller.id)  # published twice (two event ids)

    cid = str(event.customer_id)
    response = await harness.eventually(
        lambda: harness.http.get(f"/api/customers/{cid}", headers=seller.headers),
        lambda r: r.status_code == 200,
        what="prospect created from the lead",
    )
    customer = response.json()
    assert customer["lifecycle_stage"] == "prospect"
    assert customer["owner_id"] == str(seller.id)
    assert (customer["name"], customer["contact_name"]) == (event.name, "Trần Thị Mai")
    assert (customer["phone"], customer["email"]) == ("02438251234", "mai.tran@songhong.vn")
    assert (customer["source"], customer["lead_id"]) == ("trade_fair", str(event.lead_id))
    assert (customer["region_code"], customer["channel_id"]) == ("01", str(event.channel_id))

    await harness.eventually(
        lambda: harness.scalar(
            "SELECT count(*) FROM inbox WHERE event_id = ANY(:ids)", ids=[first.event_id, second.event_id]
        ),
        lambda n: n == 2,
        what="both conversions handled",
    )
    assert await harness.scalar("SELECT count(*) FROM customers WHERE id = :id", id=event.customer_id) == 1
    timeline = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert [(e["kind"], e["detail"], e["actor_id"]) for e in timeline] == [
        ("registered", {"from_lead": str(event.lead_id)}, str(seller.id))
    ]
    [registered] = await harness.outbox(REGISTERED, cid)
    assert registered["data"]["lifecycle_stage"] == "prospect"
    # Whichever copy came first caused it; its flow's correlation id goes on.
    cause = next(e for e in (first, second) if str(e.event_id) == registered["causation_id"])
    assert registered["correlation_id"] == cause.correlation_id

    # A redelivery of the very same message (same event id) is skipped by the inbox.
    skipped = {"service": "customers", "routing_key": event.routing_key}
    skipped_before = METRICS.get_sample_value("crm_messages_duplicate_total", skipped) or 0.0
    await harness.exchange.publish(
        aio_pika.Message(first.model_dump_json().encode(), message_id=str(first.event_id)),
        routing_key=event.routing_key,
    )
    await harness.eventually(
        lambda: asyncio.sleep(0, METRICS.get_sample_value("crm_messages_duplicate_total", skipped) or 0.0),
        lambda n: n == skipped_before + 1,
        what="the redelivered copy skipped",
    )
    assert await harness.scalar("SELECT count(*) FROM customers WHERE id = :id", id=event.customer_id) == 1
    assert len(await harness.outbox(REGISTERED, cid)) == 1


async def test_a_portfolio_moves_whole_with_every_move_audited(harness: Harness, manager: Staff) -> None:
    leaving = await harness.staff(Role.SALESPERSON)
    taking_over = await harness.staff(Role.SALESPERSON)
    admin_id = uuid.uuid4()
    customers = [(await harness.customer(leaving, f"Khách hàng {i:03d}"))["id"] for i in range(100)]
    stays = (await harness.customer(taking_over, "Đã là khách của người nhận"))["id"]
    for cid in customers[:50]:
        response = await harness.http.post(
            f"/api/customers/{cid}/activities",
            headers=leaving.headers,
            json={"kind": "call", "due_on": "2030-05-01"},
        )
        assert response.status_code == 201
    # Closed activities and other stages move too, or stay closed.
    await harness.http.post(f"/api/customers/{customers[0]}/promote", headers=leaving.headers)
    await harness.http.post(
        f"/api/customers/{customers[99]}/deactivate", headers=manager.headers, json={"reason": "đóng cửa"}
    )
    holdings = (await harness.http.get(f"/api/portfolio/{leaving.id}", headers=manager.headers)).json()
    assert holdings["holdings"] == {"customers": 100, "planned_activities": 50}

    await harness.publish(
        PortfolioReassigned(
            from_user_id=leaving.id,
            to_user_id=taking_over.id,
            reassigned_at=datetime.now(UTC) - timedelta(seconds=1),
        ),
        actor=admin_id,
    )
    await harness.eventually(
        lambda: harness.http.get(f"/api/portfolio/{leaving.id}", headers=manager.headers),
        lambda r: r.json()["holdings"] == {"customers": 0, "planned_activities": 0},
        what="portfolio moved",
    )
    after = (await harness.http.get(f"/api/portfolio/{taking_over.id}", headers=manager.headers)).json()
    assert after["holdings"] == {"customers": 101, "planned_activities": 50}
    assert await harness.scalar("SELECT count(*) FROM customers WHERE owner_id = :id", id=leaving.id) == 0
    assert (
        await harness.scalar(
            "SELECT count(*) FROM customers WHERE owner_id = :id AND id <> :stays",
            id=taking_over.id,
            stays=uuid.UUID(stays),
        )
        == 100
    )

    moves = await harness.rows(
        "SELECT kind, actor_id, detail FROM customer_timeline"
        " WHERE kind IN ('owner_changed', 'activity_reassigned') AND detail ->> 'from' = :leaving",
        leaving=str(leaving.id),
    )
    assert len(moves) == 150
    assert sum(1 for m in moves if m.kind == "owner_changed") == 100
    assert sum(1 for m in moves if m.kind == "activity_reassigned") == 50
    assert {m.actor_id for m in moves} == {admin_id}
    events = await harness.rows(
        "SELECT body FROM outbox WHERE routing_key = :key"
        " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'from_owner_id' = :leaving",
        key=REASSIGNED,
        leaving=str(leaving.id),
    )
    assert len(events) == 100

    # A second hand-over finds nothing left to move.
    again = await harness.publish(
        PortfolioReassigned(
            from_user_id=leaving.id, to_user_id=taking_over.id, reassigned_at=datetime.now(UTC)
        ),
        actor=admin_id,
    )
    await harness.eventually(
        lambda: harness.scalar("SELECT count(*) FROM inbox WHERE event_id = :id", id=again.event_id),
        what="the second hand-over handled",
    )
    owner_changes = await harness.scalar(
        "SELECT count(*) FROM customer_timeline"
        " WHERE kind = 'owner_changed' AND detail ->> 'from' = :leaving",
        leaving=str(leaving.id),
    )
    assert owner_changes == 100
    mine = (await harness.http.get("/api/customers?limit=200", headers=taking_over.headers)).json()
    assert mine["total"] == 101
    assert (await harness.http.get("/api/customers", headers=leaving.headers)).json()["total"] == 0


async def test_a_sent_quote_is_on_the_timeline_with_its_document(harness: Harness, seller: Staff) -> None:
    customer = await harness.customer(seller)
    quote_id = uuid.uuid4()
    sent = QuoteSent(
        quote_id=quote_id,
        quote_number="Q-2026-00042",
        customer_id=uuid.UUID(customer["id"]),
        owner_id=seller.id,
        total=1_100_000_000,
        valid_until=datetime.now(UTC).date() + timedelta(days=30),
        sent_at=datetime.now(UTC),
        document_path=f"/api/quotes/{quote_id}/document.pdf",
    )
    await harness.handled(await harness.publish(sent, actor=seller.id))
    timeline = (
        await harness.http.get(f"/api/customers/{customer['id']}/timeline", headers=seller.headers)
    ).json()
    [entry] = [e for e in timeline if e["kind"] == "quote_sent"]
    assert entry["actor_id"] == str(seller.id)
    assert entry["detail"]["document"] == f"/api/quotes/{quote_id}/document.pdf"
    assert (entry["detail"]["quote_number"], entry["detail"]["total"]) == ("Q-2026-00042", 1_100_000_000)
