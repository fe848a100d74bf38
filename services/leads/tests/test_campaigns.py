"""Campaigns marketing launches reach leads, which lists the running ones for capture."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from crm_contracts import CampaignLaunched
from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .conftest import LeadsService

pytestmark = pytest.mark.integration


async def test_a_launched_campaign_is_listed_while_it_runs(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    today = date.today()
    running, ended = uuid.uuid4(), uuid.uuid4()
    for campaign_id, name, starts, ends in (
        (running, "Khuyến mãi máy nén khí Tết", today - timedelta(days=3), today + timedelta(days=30)),
        (ended, "Hội chợ tháng trước", today - timedelta(days=60), today - timedelta(days=30)),
    ):
        await leads.publish(
            CampaignLaunched(
                campaign_id=campaign_id,
                name=name,
                starts_on=starts,
                ends_on=ends,
                audience_size=12,
                launched_at=datetime.now(UTC),
            )
        )

    async def listed() -> list[str]:
        response = await leads.http.get("/api/leads/campaigns", headers=seller.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    await eventually(lambda: _both_known(leads, running, ended))
    assert await listed() == [str(running)]


async def _both_known(leads: LeadsService, *ids: uuid.UUID) -> bool:
    count = await leads.scalar("SELECT count(*) FROM campaigns WHERE id = ANY(:ids)", ids=list(ids))
    return int(count) == len(ids)
