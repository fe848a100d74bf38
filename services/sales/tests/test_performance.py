"""Performance over HTTP, against real Postgres and RabbitMQ: per salesperson x channel x
province over any period, the quotes won and lost, the care done and overdue from the
customers service's events (in any order, and twice), who sees what, paging, and wrong input."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import CareActivityClosed, CareActivityPlanned, LeadCaptured, LeadDisqualified
from crm_kit.auth import Role
from crm_testkit.service import Staff as Actor
from sales import performance_rules as rules
from sales.performance_rules import CareStatus

from .conftest import Sales, act, approved_quote, lines, new_quote, traditional

pytestmark = pytest.mark.integration

HA_NOI, HO_CHI_MINH = "01", "79"


async def performance(sales: Sales, actor: Actor, **params: Any) -> dict[str, Any]:
    response = await sales.http.get("/api/performance", headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def row_of(report: dict[str, Any], **keys: Any) -> dict[str, Any]:
    """The one row whose keys are `keys` (ids as strings)."""
    [row] = [r for r in report["items"] if all(r[k] == v for k, v in keys.items())]
    return row


def this_month(sales: Sales) -> str:
    return sales.settings.local_date(datetime.now(UTC)).strftime("%Y-%m")


async def lead(
    sales: Sales, owner: Actor, region_code: str, channel_id: uuid.UUID, *, lost: bool = False
) -> None:
    """A lead captured (and, when `lost`, disqualified) now, as the leads service says."""
    lead_id, now = uuid.uuid4(), datetime.now(UTC)
    common = {"lead_id": lead_id, "owner_id": owner.id, "source": "internet", "region_code": region_code}
    events = [LeadCaptured(**common, full_name="Lê Văn C", channel_id=channel_id, captured_at=now)]
    if lost:
        events.append(
            LeadDisqualified(**common, reason="no budget", channel_id=channel_id, disqualified_at=now)
        )
    for event in events:
        await sales.handled(await sales.publish(event))


# -- per salesperson x channel x province ----------------------------------------------------------


KEYS = ("owner_id", "channel_id", "region_code")
#: What the first test compares of each row, besides its keys.
COUNTS = tuple(
    "leads_worked disqualified prospects_gained quotes_sent quotes_accepted quotes_declined"
    " quotes_expired quotes_rejected quotes_lost win_rate orders revenue".split()
)


def pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


async def won_and_lost(
    sales: Sales,
    seller: Actor,
    manager: Actor,
    catalogue: dict[str, dict[str, Any]],
    won_for: uuid.UUID,
    lost_for: uuid.UUID,
) -> dict[str, Any]:
    """A quote won (and its order) for one customer; for another, quotes declined, expired
    and rejected (twice, revised between). Returns the quote won."""
    won = await approved_quote(sales, seller, manager, won_for, lines(catalogue))
    await act(sales, seller, won, "send")
    await act(sales, seller, won, "accept")
    declined = await approved_quote(sales, seller, manager, lost_for, lines(catalogue, 1, 1))
    await act(sales, seller, declined, "send")
    await act(sales, seller, declined, "decline", reason="too dear")
    expired = await approved_quote(sales, seller, manager, lost_for, lines(catalogue, 1, 0)[:1])
    await act(sales, seller, expired, "send")
    yesterday = sales.settings.local_date(datetime.now(UTC)) - timedelta(days=1)
    await sales.execute(
        "UPDATE quotes SET valid_until = :d WHERE id = :id", d=yesterday, id=uuid.UUID(expired["id"])
    )
    rejected = await act(sales, seller, await new_quote(sales, seller, lost_for, lines(catalogue)), "submit")
    await act(sales, manager, rejected, "reject", reason="discount too deep")
    revised = await sales.http.patch(
        f"/api/quotes/{rejected['id']}", headers=seller.headers, json={"lines": lines(catalogue, 1, 1)}
    )
    assert revised.status_code == 200, revised.text
    await act(sales, seller, rejected, "submit")
    await act(sales, manager, rejected, "reject", reason="still too deep")  # lost once, not twice
    return won


async def test_each_fact_counts_in_the_channel_and_province_it_happened_in(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    dealer, shop = uuid.uuid4(), uuid.uuid4()
    await lead(sales, seller, HA_NOI, dealer)
    await lead(sales, seller, HA_NOI, dealer)
    await lead(sales, seller, HO_CHI_MINH, shop, lost=True)
    in_ha_noi = await traditional(sales, seller, channel_id=dealer, region_code=HA_NOI)
    in_hcm = await traditional(sales, seller, channel_id=shop, region_code=HO_CHI_MINH)
    won = await won_and_lost(sales, seller, manager, catalogue, in_ha_noi, in_hcm)

    month = this_month(sales)
    mine = {"period": month, "salesperson_id": str(seller.id)}
    report = await performance(sales, manager, **mine, by="region,channel,salesperson")
    assert pick(report, "by", "dimensions", "total") == {
        "by": "salesperson,channel,region",
        "dimensions": ["salesperson", "channel", "region"],
        "total": 2,
    }
    first, second = report["items"]  # most revenue first
    assert pick(first, *KEYS, *COUNTS) == {
        **{"owner_id": str(seller.id), "channel_id": str(dealer), "region_code": HA_NOI},
        **{"leads_worked": 2, "disqualified": 0, "prospects_gained": 1, "quotes_sent": 1},
        **{"quotes_accepted": 1, "quotes_declined": 0, "quotes_expired": 0, "quotes_rejected": 0},
        **{"quotes_lost": 0, "win_rate": 1.0, "orders": 1, "revenue": won["net_total"]},
    }
    assert pick(second, *KEYS, *COUNTS) == {
        **{"owner_id": str(seller.id), "channel_id": str(shop), "region_code": HO_CHI_MINH},
        **{"leads_worked": 1, "disqualified": 1, "prospects_gained": 1, "quotes_sent": 2},
        **{"quotes_accepted": 0, "quotes_declined": 1, "quotes_expired": 1, "quotes_rejected": 1},
        **{"quotes_lost": 3, "win_rate": 0.0, "orders": 0, "revenue": 0},
    }

    by_region = await performance(sales, manager, **mine, by="region")
    assert {r["region_code"]: (r["owner_id"], r["channel_id"], r["revenue"]) for r in by_region["items"]} == {
        HA_NOI: (None, None, won["net_total"]),
        HO_CHI_MINH: (None, None, 0),
    }
    only_ha_noi = await performance(sales, manager, **mine, by="salesperson,channel", region_code=HA_NOI)
    assert [(r["channel_id"], r["region_code"], r["leads_worked"]) for r in only_ha_noi["items"]] == [
        (str(dealer), None, 2)
    ]
    only_shop = await performance(sales, seller, period=month, channel_id=str(shop))
    assert [(r["owner_id"], r["quotes_lost"], r["leads_worked"]) for r in only_shop["items"]] == [
        (str(seller.id), 3, 1)
    ]
    # Per salesperson alone, as before: one row over every channel and province.
    [alone] = (await performance(sales, seller, period=month))["items"]
    assert pick(
        alone, "channel_id", "region_code", "leads_worked", "quotes_lost", "quotes_sent", "orders"
    ) == {
        "channel_id": None,
        "region_code": None,
        "leads_worked": 3,
        "quotes_lost": 3,
        "quotes_sent": 3,
        "orders": 1,
    }
    assert alone["revenue"] == won["net_total"]


async def test_a_salesperson_sees_only_their_own_rows_managers_everyones_others_none(
    sales: Sales, seller: Actor, manager: Actor
) -> None:
    channel = uuid.uuid4()
    other = sales.actor(Role.SALESPERSON)
    await lead(sales, seller, HA_NOI, channel)
    await lead(sales, other, HA_NOI, channel)
    await lead(sales, other, HO_CHI_MINH, channel)
    asked = {"period": this_month(sales), "by": "salesperson,channel,region", "channel_id": str(channel)}

    theirs = await performance(sales, seller, **asked, salesperson_id=str(other.id))
    assert [(r["owner_id"], r["region_code"]) for r in theirs["items"]] == [(str(seller.id), HA_NOI)]
    everyone = await performance(sales, manager, **asked)
    assert sorted((r["owner_id"], r["region_code"]) for r in everyone["items"]) == sorted(
        [(str(seller.id), HA_NOI), (str(other.id), HA_NOI), (str(other.id), HO_CHI_MINH)]
    )
    assert (await performance(sales, sales.actor(Role.ADMIN), **asked))["total"] == 3
    for role in (Role.MARKETING, Role.ACCOUNTANT):
        refused = await sales.http.get("/api/performance", headers=sales.actor(role).headers, params=asked)
        assert refused.status_code == 403, role


# -- periods and paging ---------------------------------------------------------------------------


async def facts(sales: Sales, owner: uuid.UUID, *rows: tuple[str, str, int, datetime]) -> None:
    """Facts as sales' operations record them: (kind, region, amount, when)."""
    for kind, region, amount, at in rows:
        await sales.execute(
            "INSERT INTO performance_facts (kind, subject_id, owner_id, region_code, amount, occurred_at)"
            " VALUES (:kind, :subject, :owner, :region, :amount, :at)",
            kind=kind,
            subject=uuid.uuid4(),
            owner=owner,
            region=region,
            amount=amount,
            at=at,
        )


async def test_a_range_of_days_compares_with_as_many_days_before_it(sales: Sales, manager: Actor) -> None:
    owner = uuid.uuid4()
    at = sales.settings.start_of
    await facts(
        sales,
        owner,
        ("order_placed", HA_NOI, 700, at(date(2026, 2, 10)) + timedelta(hours=23)),  # the range's last day
        ("order_placed", HA_NOI, 300, at(date(2026, 2, 1))),  # its first
        ("order_placed", HA_NOI, 5_000, at(date(2026, 2, 11))),  # the day after: not in it
        ("order_placed", HA_NOI, 400, at(date(2026, 1, 22))),  # the ten days before
        ("order_placed", HA_NOI, 9_000, at(date(2026, 1, 21))),  # before those
        ("lead_captured", HA_NOI, 0, at(date(2026, 1, 25))),  # only revenue is compared
    )
    report = await performance(
        sales, manager, **{"from": "2026-02-01", "to": "2026-02-10"}, salesperson_id=str(owner)
    )
    assert (report["period"], report["starts_on"], report["ends_before"], report["previous_period"]) == (
        "2026-02-01..2026-02-10",
        "2026-02-01",
        "2026-02-11",
        "2026-01-22..2026-01-31",
    )
    [row] = report["items"]
    assert (row["revenue"], row["orders"], row["previous_revenue"], row["revenue_growth"]) == (
        1000,
        2,
        400,
        1.5,
    )
    assert row["leads_worked"] == 0
    everything = await performance(
        sales, manager, **{"from": "2000-01-01", "to": "2100-12-31"}, salesperson_id=str(owner)
    )
    assert everything["items"][0]["revenue"] == 15_400
    quarter = await performance(sales, manager, period="2026-Q1", salesperson_id=str(owner))
    assert (quarter["items"][0]["revenue"], quarter["items"][0]["leads_worked"]) == (15_400, 1)


async def test_rows_are_paged_most_revenue_first_with_the_total(sales: Sales, manager: Actor) -> None:
    owner = uuid.uuid4()
    when = sales.settings.start_of(date(2026, 5, 5))
    regions = ["01", "04", "08", "11", "12"]
    await facts(
        sales, owner, *((("order_placed", code, 100 * (i + 1), when)) for i, code in enumerate(regions))
    )
    asked = {"period": "2026-05", "by": "region", "salesperson_id": str(owner), "limit": 2}
    pages = [await performance(sales, manager, **asked, offset=offset) for offset in (0, 2, 4, 6)]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]
    assert [[r["region_code"] for r in p["items"]] for p in pages] == [["12", "11"], ["08", "04"], ["01"], []]
    nobody = await performance(
        sales, manager, period="2026-05", by="region", salesperson_id=str(uuid.uuid4())
    )
    assert (nobody["items"], nobody["total"]) == ([], 0)
    # Per salesperson alone, the one asked for has a row even without a fact.
    [zeros] = (await performance(sales, manager, period="2026-05", salesperson_id=str(uuid.uuid4())))["items"]
    assert (zeros["revenue"], zeros["care_done"], zeros["revenue_growth"]) == (0, 0, None)


# -- care ----------------------------------------------------------------------------------------


class Care:
    """Sends the customers service's care events for one customer, as its relay would."""

    def __init__(self, sales: Sales, customer_id: uuid.UUID) -> None:
        self.sales, self.customer_id = sales, customer_id
        self.sent: list[uuid.UUID] = []

    async def plan(
        self,
        activity: uuid.UUID,
        owner: Actor,
        due_on: date,
        *,
        at: datetime,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        event = CareActivityPlanned(
            customer_id=self.customer_id,
            activity_id=activity,
            customer_name="Công ty TNHH Hòa Bình",
            kind="call",
            due_on=due_on,
            owner_id=owner.id,
        )
        return await self._send(event, at=at, event_id=event_id)

    async def close(
        self, activity: uuid.UUID, owner: Actor, done_on: date | None, *, event_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        """Done on `done_on`, else cancelled at noon of 20 March 2026."""
        event = CareActivityClosed(
            customer_id=self.customer_id,
            activity_id=activity,
            owner_id=owner.id,
            status="done" if done_on else "cancelled",
            done_on=done_on,
            closed_at=datetime(2026, 3, 20, 5, tzinfo=UTC)
            if done_on is None
            else datetime(2026, 4, 2, tzinfo=UTC),
        )
        return await self._send(event, at=datetime.now(UTC), event_id=event_id)

    async def _send(self, event: Any, *, at: datetime, event_id: uuid.UUID | None) -> uuid.UUID:
        sent = await self.sales.publish(event, occurred_at=at, event_id=event_id)
        await self.sales.handled(sent)
        return sent


async def test_care_done_and_overdue_from_events_in_any_order_and_twice(
    sales: Sales, seller: Actor, manager: Actor
) -> None:
    channel = uuid.uuid4()
    customer_id = await traditional(sales, seller, channel_id=channel, region_code=HA_NOI)
    other = sales.actor(Role.SALESPERSON)
    care = Care(sales, customer_id)
    earlier, later = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC)
    on_time, late, moved, cancelled, moved_back, unplanned = (uuid.uuid4() for _ in range(6))

    # Closed (on time) before its plan arrives, the close delivered twice and sent again.
    close = await care.close(on_time, seller, date(2026, 3, 9))
    await care.close(on_time, seller, date(2026, 3, 9), event_id=close)
    await care.close(on_time, seller, date(2026, 3, 9))
    await care.plan(on_time, seller, date(2026, 3, 10), at=earlier)
    # Planned (the plan twice), then done late: done and overdue.
    plan = await care.plan(late, seller, date(2026, 3, 5), at=earlier)
    await care.plan(late, seller, date(2026, 3, 5), at=earlier, event_id=plan)
    await care.close(late, seller, date(2026, 3, 20))
    # Re-planned to the 12th for the seller; the older plan (April, for another) arrives after it.
    await care.plan(moved, seller, date(2026, 3, 12), at=later)
    await care.plan(moved, other, date(2026, 4, 15), at=earlier)
    # Cancelled before its due day: neither done nor overdue.
    await care.plan(cancelled, seller, date(2026, 3, 25), at=earlier)
    await care.close(cancelled, seller, None)
    # Handed from another to the seller, never done.
    await care.plan(moved_back, seller, date(2026, 3, 2), at=later)
    await care.plan(moved_back, other, date(2026, 3, 2), at=earlier)
    # Done, and its plan never comes.
    await care.close(unplanned, seller, date(2026, 3, 15))

    kept = await sales.rows(
        "SELECT activity_id, owner_id, due_on, status, region_code, channel_id FROM care_activities"
        " WHERE customer_id = :c",
        c=customer_id,
    )
    assert len(kept) == 6
    assert {row.owner_id for row in kept} == {seller.id}
    assert {(row.region_code, row.channel_id) for row in kept} == {(HA_NOI, channel)}
    assert {row.activity_id: row.due_on for row in kept}[moved] == date(2026, 3, 12)
    assert {row.activity_id: row.status for row in kept}[on_time] == CareStatus.DONE

    report = await performance(
        sales, manager, period="2026-03", by="salesperson,channel,region", channel_id=str(channel)
    )
    assert report["care_due_before"] == "2026-04-01"
    [row] = report["items"]
    assert (row["owner_id"], row["region_code"]) == (str(seller.id), HA_NOI)
    assert (row["care_done"], row["care_overdue"]) == (
        3,
        3,
    )  # on time, late, unplanned; late, moved, moved back
    april = await performance(
        sales, manager, period="2026-04", by="salesperson,channel", channel_id=str(channel)
    )
    [still] = april["items"]
    assert (still["care_done"], still["care_overdue"]) == (0, 2)  # moved and moved back, still open
    theirs = await performance(sales, manager, period="2026", by="channel", salesperson_id=str(other.id))
    assert theirs["total"] == 0


async def test_care_is_overdue_as_of_today_in_a_period_not_over(sales: Sales, seller: Actor) -> None:
    channel = uuid.uuid4()
    customer_id = await traditional(sales, seller, channel_id=channel)
    care = Care(sales, customer_id)
    today = sales.settings.today()
    now = datetime.now(UTC)
    yesterday, due_today, tomorrow, done_today = (uuid.uuid4() for _ in range(4))
    await care.plan(yesterday, seller, today - timedelta(days=1), at=now)
    await care.plan(due_today, seller, today, at=now)
    await care.plan(tomorrow, seller, today + timedelta(days=1), at=now)
    await care.plan(done_today, seller, today - timedelta(days=3), at=now)
    await care.close(done_today, seller, today)

    days = {"from": str(today - timedelta(days=10)), "to": str(today + timedelta(days=10))}
    report = await performance(sales, seller, **days, channel_id=str(channel))
    assert report["care_due_before"] == str(today)
    [row] = report["items"]
    assert (row["care_done"], row["care_overdue"]) == (1, 2)  # yesterday's and the one done late today


async def test_the_care_report_counts_by_the_rules_in_every_case(sales: Sales, manager: Actor) -> None:
    """Every combination of due day, end and status, each in a channel of its own, against
    `performance_rules.care_done` and `care_overdue` over March 2026."""
    owner, march = uuid.uuid4(), rules.parse_period("2026-03")
    dues = [None, date(2026, 2, 20), date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 31), date(2026, 4, 1)]
    ends = [date(2026, 2, 10), date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 9), date(2026, 3, 10)]
    ends += [date(2026, 3, 11), date(2026, 3, 31), date(2026, 4, 5)]
    states = [(CareStatus.PLANNED, None)] + [
        (s, end) for s in (CareStatus.DONE, CareStatus.CANCELLED) for end in ends
    ]
    expected = {}
    for due in dues:
        for status, ended in states:
            channel = uuid.uuid4()
            done_on = ended if status == CareStatus.DONE else None
            await sales.execute(
                "INSERT INTO care_activities (activity_id, customer_id, owner_id, channel_id, due_on, status,"
                " done_on, ended_on) VALUES (:a, :c, :o, :ch, :due, :status, :done, :ended)",
                a=uuid.uuid4(),
                c=uuid.uuid4(),
                o=owner,
                ch=channel,
                due=due,
                status=status,
                done=done_on,
                ended=ended,
            )
            counted = (
                int(rules.care_done(status, ended, march)),
                int(rules.care_overdue(due, ended, march, march.end)),
            )
            if counted != (0, 0):
                expected[str(channel)] = counted
    report = await performance(
        sales, manager, period="2026-03", by="channel", salesperson_id=str(owner), limit=200
    )
    assert report["total"] == len(expected) > 20
    assert {r["channel_id"]: (r["care_done"], r["care_overdue"]) for r in report["items"]} == expected


# -- wrong input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "1999"}, "period"),
        ({}, "period"),
        ({"from": "2027-02-10", "to": "2027-02-01"}, "from"),
        ({"from": "2027-02-10"}, "to"),
        ({"to": "2027-02-10"}, "from"),
        ({"from": "10/02/2027", "to": "2027-02-11"}, "from"),
        ({"period": "2027", "from": "2027-01-01", "to": "2027-01-31"}, "from"),
        ({"period": "2027", "to": "2027-01-31"}, "to"),
        ({"period": "2027", "by": "province"}, "by"),
        ({"period": "2027", "by": "salesperson,salesperson"}, "by"),
        ({"period": "2027", "by": ""}, "by"),
        ({"period": "2027", "region_code": "hà nội"}, "region_code"),
        ({"period": "2027", "salesperson_id": "someone"}, "salesperson_id"),
        ({"period": "2027", "channel_id": "dealers"}, "channel_id"),
        ({"period": "2027", "salesperson_id": str(uuid.uuid4()), "owner_id": str(uuid.uuid4())}, "owner_id"),
    ],
)
async def test_wrong_input_is_a_422_naming_the_field(
    sales: Sales, manager: Actor, params: dict[str, str], field: str
) -> None:
    response = await sales.http.get("/api/performance", headers=manager.headers, params=params)
    assert response.status_code == 422, response.text
    assert [problem["loc"] for problem in response.json()["detail"]] == [["query", field]]
