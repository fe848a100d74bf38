"""Marketing announces each channel as it is made and changed (ChannelChanged), so sales
knows each channel's kind for its price lists. Read from the outbox: the relay is off."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from crm_kit.auth import Role, User
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from marketing.app import create_app
from marketing.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[ServiceUnderTest[Settings]]:
    async with running_service(
        infra, "marketing", create_app, Settings, relay_enabled=False, retry_delay_s=0.5
    ) as running:
        yield running


async def announced(marketing: ServiceUnderTest[Settings], channel_id: str) -> list[dict[str, Any]]:
    rows = await marketing.rows(
        "SELECT body FROM outbox WHERE routing_key = 'marketing.channel.changed.v1' ORDER BY id"
    )
    envelopes = [json.loads(bytes(row.body)) for row in rows]
    return [e for e in envelopes if e["data"]["channel_id"] == channel_id]


async def test_a_channel_is_announced_when_made_and_when_changed_and_not_when_refused(
    marketing: ServiceUnderTest[Settings],
) -> None:
    planner = User(id=uuid.uuid4(), username="planner-1", role=Role.MARKETING)
    headers = marketing.headers_for(planner)
    top = await marketing.http.post(
        "/api/channels", headers=headers, json={"name": f"NPP {uuid.uuid4().hex[:6]}", "kind": "distributor"}
    )
    assert top.status_code == 201, top.text
    made = await marketing.http.post(
        "/api/channels",
        headers=headers,
        json={"name": f"Đại lý {uuid.uuid4().hex[:6]}", "kind": "dealer", "parent_id": top.json()["id"]},
    )
    assert made.status_code == 201, made.text
    channel = made.json()
    [created] = await announced(marketing, channel["id"])
    assert created["actor"] == str(planner.id)
    assert {k: created["data"][k] for k in ("name", "kind", "parent_id", "active")} == {
        "name": channel["name"],
        "kind": "dealer",
        "parent_id": top.json()["id"],
        "active": True,
    }

    changed = await marketing.http.patch(
        f"/api/channels/{channel['id']}", headers=headers, json={"parent_id": None, "active": False}
    )
    assert changed.status_code == 200, changed.text
    first, second = await announced(marketing, channel["id"])
    assert (second["data"]["parent_id"], second["data"]["active"], second["data"]["kind"]) == (
        None,
        False,
        "dealer",
    )
    assert datetime.fromisoformat(second["data"]["changed_at"]) > datetime.fromisoformat(
        first["data"]["changed_at"]
    )

    # A refused change announces nothing.
    looped = await marketing.http.patch(
        f"/api/channels/{top.json()['id']}", headers=headers, json={"parent_id": top.json()["id"]}
    )
    assert looped.status_code == 422
    assert len(await announced(marketing, top.json()["id"])) == 1
