"""CustomersMerged in marketing: the merged customer's revenue and campaign memberships
become the survivor's (its province and channel kept, so market share is unchanged), its
copy goes inactive, a late order counts under the survivor; twice is once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crm_contracts import CustomersMerged

from .test_integration import Marketing, order, unique

# The fixture, by name.
from .test_integration import marketing as marketing

pytestmark = pytest.mark.integration


async def revenue_of(m: Marketing, customer_id: uuid.UUID) -> int:
    total = await m.scalar(
        "SELECT coalesce(sum(net_amount), 0) FROM revenue_facts WHERE customer_id = :c", c=customer_id
    )
    return int(total)


async def test_a_merge_moves_revenue_and_memberships_to_the_survivor_once(marketing: Marketing) -> None:
    m = marketing
    kept, gone = uuid.uuid4(), uuid.uuid4()
    group = unique("pumps")
    for customer_id, amount in ((kept, 1_000_000), (gone, 4_000_000)):
        placed = order((group, amount), channel_id=None, region_code="79", customer_id=customer_id)
        await m.handled(await m.publish(placed))
    before = await m.get("/api/market-share", period="2026", product_group=group)
    both, only_gone = uuid.uuid4(), uuid.uuid4()
    await m.execute(
        "INSERT INTO campaigns (id, name, status, target, starts_on, ends_on, created_by)"
        " SELECT id, 'c', 'launched', '{}', '2026-01-01', '2026-12-31', :u"
        " FROM unnest(CAST(:ids AS uuid[])) AS id",
        u=uuid.uuid4(),
        ids=[both, only_gone],
    )
    await m.execute(
        "INSERT INTO campaign_members (campaign_id, customer_id) VALUES (:b, :k), (:b, :g), (:o, :g)",
        b=both,
        k=kept,
        g=gone,
        o=only_gone,
    )

    merge = CustomersMerged(customer_id=kept, merged_customer_id=gone, merged_at=datetime.now(UTC))
    await m.handled(await m.publish(merge))
    await m.handled(await m.publish(merge))

    assert (await revenue_of(m, kept), await revenue_of(m, gone)) == (5_000_000, 0)
    assert await m.get("/api/market-share", period="2026", product_group=group) == before
    members = await m.rows(
        "SELECT campaign_id FROM campaign_members WHERE customer_id = :k ORDER BY 1", k=kept
    )
    assert sorted(r.campaign_id for r in members) == sorted([both, only_gone])
    assert await m.scalar("SELECT count(*) FROM campaign_members WHERE customer_id = :g", g=gone) == 0
    stage = await m.scalar("SELECT lifecycle_stage FROM known_customers WHERE customer_id = :g", g=gone)
    assert stage == "inactive"

    late = order((group, 2_000_000), channel_id=None, region_code="79", customer_id=gone)
    await m.handled(await m.publish(late))
    assert await revenue_of(m, kept) == 7_000_000
