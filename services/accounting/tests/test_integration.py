"""Accounting against real Postgres and RabbitMQ: events in over the bus, HTTP as a client would.

Events are published as the other services would publish them (an envelope on the
namespace's topic exchange); what accounting emits is read from its outbox, and
for one test also off the wire.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from accounting import accounts, invoices
from accounting.app import create_app
from accounting.settings import Settings
from crm_contracts import (
    CreditChecked,
    CreditNoteIssued,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerUpdated,
    Envelope,
    Event,
    OrderLine,
    OrderPlaced,
    QuoteApproved,
    QuoteDeclined,
    QuoteRejected,
    QuoteReopened,
    QuoteSubmittedForApproval,
)
from crm_kit.auth import Role, User
from crm_testkit.infra import Infra, queue_depth
from crm_testkit.polling import eventually
from crm_testkit.service import ServiceUnderTest, running_service

pytestmark = pytest.mark.integration

DEFAULT_LIMIT = 50_000_000


async def counter(name: str, routing_key: str) -> float:
    """A kit counter of accounting in this process (every replica the tests start counts)."""
    value = REGISTRY.get_sample_value(name, {"service": "accounting", "routing_key": routing_key})
    return value or 0.0


async def handled(routing_key: str) -> float:
    """Events of `routing_key` accounting is done with: handled, or skipped as seen before."""
    consumed = await counter("crm_messages_consumed_total", routing_key)
    return consumed + await counter("crm_messages_duplicate_total", routing_key)


# -- the service under test ------------------------------------------------------------


@dataclass
class Books(ServiceUnderTest[Settings]):
    """Accounting running in-process, and the handles a test needs around it."""

    #: Stands in for sales' queue: what accounting publishes must reach a consumer.
    probe: aio_pika.abc.AbstractQueue = field(init=False)

    @property
    def amqp_url(self) -> str:
        return self.infra.amqp_url

    def headers(self, role: Role, user_id: uuid.UUID | None = None) -> dict[str, str]:
        return self.headers_for(User(id=user_id or uuid.uuid4(), username=f"{role.value}-x", role=role))

    async def publish(self, event: Event, *, event_id: uuid.UUID | None = None) -> Envelope:  # type: ignore[override]
        """Every event in one flow, "t", which accounting's answers carry on."""
        return await super().publish(
            event, envelope=Envelope.wrap(event, correlation_id="t", event_id=event_id)
        )

    async def emitted(self, contract: type[Event], **data: Any) -> list[dict[str, Any]]:
        """Envelopes in the outbox for `contract` whose payload has these values."""
        found = []
        for (body,) in await self.rows(
            "SELECT body FROM outbox WHERE routing_key = :key ORDER BY id", key=contract.routing_key
        ):
            envelope = json.loads(body)
            if all(str(envelope["data"].get(k)) == str(v) for k, v in data.items()):
                found.append(envelope)
        return found

    # -- what other services would send --------------------------------------------

    async def promote(
        self, customer_id: uuid.UUID, owner_id: uuid.UUID | None = None, name: str = ""
    ) -> None:
        await self.publish(
            CustomerPromotedToTraditional(
                customer_id=customer_id,
                name=name or f"Công ty {customer_id.hex[:6]}",
                owner_id=owner_id,
                promoted_at=datetime.now(UTC),
            )
        )

    async def account(self, customer_id: uuid.UUID) -> dict[str, Any]:
        await eventually(
            lambda: self.scalar("SELECT count(*) FROM accounts WHERE customer_id = :c", c=customer_id),
            lambda n: n == 1,
            what=f"account of {customer_id}",
        )
        response = await self.http.get(f"/api/accounts/{customer_id}", headers=self.headers(Role.ACCOUNTANT))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def invoice_for(self, order_id: uuid.UUID, timeout: float = 30) -> dict[str, Any]:
        [(invoice_id,)] = await eventually(
            lambda: self.rows("SELECT id FROM invoices WHERE order_id = :o", o=order_id),
            timeout=timeout,
            what=f"invoice of order {order_id}",
        )
        response = await self.http.get(f"/api/invoices/{invoice_id}", headers=self.headers(Role.ACCOUNTANT))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def customer_with_invoice(
        self,
        total_net: int = 10_000_000,
        *,
        owner_id: uuid.UUID | None = None,
        order_date: date | None = None,
    ) -> tuple[uuid.UUID, dict[str, Any]]:
        customer_id = uuid.uuid4()
        await self.promote(customer_id, owner_id)
        await self.account(customer_id)
        placed = order_placed(
            customer_id, [(1, total_net, 10.0)], order_date=order_date or self.settings.today()
        )
        await self.publish(placed)
        return customer_id, await self.invoice_for(placed.order_id)


def order_placed(
    customer_id: uuid.UUID,
    lines: list[tuple[int, int, float]],
    *,
    order_date: date,
    terms: int = 30,
    order_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> OrderPlaced:
    """An order whose lines are (quantity, unit price, VAT %), no discount, VAT rounded half up."""
    order_lines = []
    for n, (quantity, unit_price, rate) in enumerate(lines, start=1):
        net = quantity * unit_price
        order_lines.append(
            OrderLine(
                product_code=f"P{n}",
                product_name=f"Product {n}",
                product_group="pumps",
                quantity=quantity,
                unit_price=unit_price,
                discount_pct=0.0,
                vat_rate_pct=rate,
                net_amount=net,
                vat_amount=int(net * int(rate * 100) / 10_000 + 0.5),
            )
        )
    net_total = sum(li.net_amount for li in order_lines)
    vat_total = sum(li.vat_amount for li in order_lines)
    order_id = order_id or uuid.uuid4()
    return OrderPlaced(
        order_id=order_id,
        order_number=f"SO-{order_id.hex[:8]}",
        quote_id=quote_id or uuid.uuid4(),
        customer_id=customer_id,
        owner_id=owner_id or uuid.uuid4(),
        lines=order_lines,
        net_total=net_total,
        vat_total=vat_total,
        total=net_total + vat_total,
        payment_terms_days=terms,
        placed_at=datetime.now(UTC),
        order_date=order_date,
    )


def quote_submitted(
    customer_id: uuid.UUID,
    total: int,
    *,
    submission: int = 1,
    quote_id: uuid.UUID | None = None,
    valid_until: date | None = None,
) -> QuoteSubmittedForApproval:
    quote_id = quote_id or uuid.uuid4()
    return QuoteSubmittedForApproval(
        quote_id=quote_id,
        quote_number=f"Q-{quote_id.hex[:8]}",
        submission=submission,
        customer_id=customer_id,
        customer_name="Công ty Hòa Phát",
        owner_id=uuid.uuid4(),
        total=total,
        submitted_at=datetime.now(UTC),
        valid_until=valid_until,
    )


def quote_declined(quote: QuoteSubmittedForApproval) -> QuoteDeclined:
    return QuoteDeclined(
        quote_id=quote.quote_id,
        quote_number=quote.quote_number,
        customer_id=quote.customer_id,
        owner_id=quote.owner_id,
        declined_at=datetime.now(UTC),
    )


def running_books(infra: Infra) -> AbstractAsyncContextManager[Books]:
    """Accounting on a database of its own, as every module of these tests runs it."""
    return running_service(
        infra,
        "accounting",
        create_app,
        Settings,
        kind=Books,
        retry_delay_s=0.5,
        relay_poll_interval_s=0.2,
        default_credit_limit=DEFAULT_LIMIT,
    )


@pytest.fixture(scope="module")
async def books(infra: Infra) -> AsyncIterator[Books]:
    async with running_books(infra) as running:
        running.probe = await running.channel.declare_queue(f"{running.namespace}.probe", durable=True)
        await running.probe.bind(running.exchange, routing_key=CreditChecked.routing_key)
        yield running
        await running.probe.delete(if_unused=False, if_empty=False)


@pytest.fixture
def accountant(books: Books) -> dict[str, str]:
    return books.headers(Role.ACCOUNTANT)


# -- credit checks ---------------------------------------------------------------------


async def checks_of(books: Books, quote_id: uuid.UUID) -> list[Any]:
    return await books.rows(
        "SELECT submission, passed, exposure, open_receivables, credit_limit, default_limit "
        "FROM credit_checks WHERE quote_id = :q ORDER BY submission",
        q=quote_id,
    )


async def answered(books: Books, quote_id: uuid.UUID, count: int = 1) -> list[Any]:
    return await eventually(
        lambda: checks_of(books, quote_id),
        lambda rows: len(rows) >= count,
        what=f"credit check of {quote_id}",
    )


async def test_a_prospect_is_checked_against_the_default_limit(
    books: Books, accountant: dict[str, str]
) -> None:
    prospect, other = uuid.uuid4(), uuid.uuid4()
    within = quote_submitted(other, DEFAULT_LIMIT)
    beyond = quote_submitted(prospect, DEFAULT_LIMIT + 1)
    await books.publish(within)
    await books.publish(beyond)

    assert await answered(books, within.quote_id) == [(1, True, DEFAULT_LIMIT, 0, DEFAULT_LIMIT, True)]
    assert await answered(books, beyond.quote_id) == [(1, False, DEFAULT_LIMIT + 1, 0, DEFAULT_LIMIT, True)]

    [answer] = await books.emitted(CreditChecked, quote_id=beyond.quote_id)
    assert answer["data"]["passed"] is False
    assert answer["data"]["submission"] == 1
    assert answer["data"]["exposure"] == DEFAULT_LIMIT + 1
    assert answer["data"]["credit_limit"] == DEFAULT_LIMIT
    assert answer["data"]["customer_id"] == str(prospect)
    assert answer["correlation_id"] == "t"

    listed = await books.http.get(f"/api/credit-checks?customer_id={prospect}", headers=accountant)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert [(c["quote_id"], c["passed"], c["default_limit"]) for c in listed.json()["items"]] == [
        (str(beyond.quote_id), False, True)
    ]


async def test_the_answer_reaches_the_bus(books: Books) -> None:
    quote = quote_submitted(uuid.uuid4(), 1_000)
    await books.publish(quote)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = await books.probe.get(fail=False, no_ack=True)
        if message is None:
            await asyncio.sleep(0.1)
            continue
        envelope = json.loads(message.body)
        if envelope["data"]["quote_id"] == str(quote.quote_id):
            assert message.routing_key == CreditChecked.routing_key
            assert message.message_id == envelope["event_id"]
            assert envelope["data"]["passed"] is True
            return
    raise AssertionError("CreditChecked was not published")


async def test_open_receivables_count_against_the_limit(books: Books, accountant: dict[str, str]) -> None:
    customer_id, invoice = await books.customer_with_invoice(10_000_000)  # 11,000,000 with VAT
    assert invoice["total"] == 11_000_000
    patched = await books.http.patch(
        f"/api/accounts/{customer_id}", headers=accountant, json={"credit_limit": 20_000_000}
    )
    assert patched.status_code == 200

    fits = quote_submitted(customer_id, 9_000_000)
    too_much = quote_submitted(customer_id, 9_000_001)
    await books.publish(fits)
    assert await answered(books, fits.quote_id) == [(1, True, 20_000_000, 11_000_000, 20_000_000, False)]
    # Declined by the customer, it commits nothing more (see the commitments test).
    await books.handled(await books.publish(quote_declined(fits)))
    await books.publish(too_much)
    assert await answered(books, too_much.quote_id) == [(1, False, 20_000_001, 11_000_000, 20_000_000, False)]

    # Once part of the invoice is paid, the same quote resubmitted fits.
    paid = await books.http.post(
        "/api/payments",
        headers=accountant,
        json={
            "invoice_id": invoice["id"],
            "amount": 1,
            "paid_on": str(books.settings.today()),
            "method": "cash",
        },
    )
    assert paid.status_code == 201, paid.text
    await books.publish(quote_submitted(customer_id, 9_000_001, submission=2, quote_id=too_much.quote_id))
    checks = await answered(books, too_much.quote_id, count=2)
    assert checks[1] == (2, True, 20_000_000, 10_999_999, 20_000_000, False)
    answers = await books.emitted(CreditChecked, quote_id=too_much.quote_id)
    assert [(a["data"]["submission"], a["data"]["passed"]) for a in answers] == [(1, False), (2, True)]


async def committed_of(books: Books, quote_id: uuid.UUID) -> tuple[bool, int, int]:
    [answer] = await books.emitted(CreditChecked, quote_id=quote_id)
    return answer["data"]["passed"], answer["data"]["committed"], answer["data"]["exposure"]


async def test_a_deal_split_into_quotes_counts_the_others_until_they_stop_committing(
    books: Books, accountant: dict[str, str]
) -> None:
    """Issue 15's reproduction: two quotes of 0.6 x the limit each passed, since each was
    checked alone. Now the second counts the first (and accepted ones until invoiced)."""
    customer_id = uuid.uuid4()
    part = DEFAULT_LIMIT * 6 // 10
    first, second = quote_submitted(customer_id, part), quote_submitted(customer_id, part)
    await books.handled(await books.publish(first))
    await books.handled(await books.publish(second))
    assert await answered(books, first.quote_id) == [(1, True, part, 0, DEFAULT_LIMIT, True)]
    assert await committed_of(books, second.quote_id) == (False, part, 2 * part)
    assert (await checks_of(books, second.quote_id))[0].exposure == 2 * part

    # Approved, sent or accepted it still commits; past its last day (unaccepted) no more.
    approved = QuoteApproved(
        quote_id=first.quote_id,
        quote_number=first.quote_number,
        customer_id=customer_id,
        owner_id=first.owner_id,
        approved_by=uuid.uuid4(),
        total=part,
        approved_at=datetime.now(UTC),
    )
    await books.handled(await books.publish(approved))
    stale = quote_submitted(customer_id, 1, valid_until=books.settings.today() - timedelta(days=1))
    await books.handled(await books.publish(stale))
    third = quote_submitted(customer_id, 1)
    await books.handled(await books.publish(third))
    assert await committed_of(books, third.quote_id) == (False, 2 * part, 2 * part + 1)

    # Rejected, declined or reopened for an edit: no longer committed.
    rejected = QuoteRejected(
        quote_id=second.quote_id,
        quote_number=second.quote_number,
        customer_id=customer_id,
        owner_id=second.owner_id,
        rejected_by=uuid.uuid4(),
        reason="chia nhỏ đơn",
        rejected_at=datetime.now(UTC),
    )
    await books.handled(await books.publish(rejected))
    reopened = QuoteReopened(
        quote_id=third.quote_id,
        quote_number=third.quote_number,
        customer_id=customer_id,
        owner_id=third.owner_id,
        previous_status="pending_approval",
        reopened_at=datetime.now(UTC),
    )
    await books.handled(await books.publish(reopened))
    again = quote_submitted(customer_id, part // 2, submission=2, quote_id=second.quote_id)
    await books.handled(await books.publish(again))
    answers = await books.emitted(CreditChecked, quote_id=second.quote_id)
    assert [(a["data"]["passed"], a["data"]["committed"]) for a in answers] == [(False, part), (True, part)]

    # The first one's order, once invoiced, counts as a receivable instead: never twice.
    await books.promote(customer_id)
    placed = order_placed(customer_id, [(1, part, 0.0)], order_date=date.today(), quote_id=first.quote_id)
    await books.publish(placed)
    await books.invoice_for(placed.order_id)
    await books.handled(await books.publish(quote_declined(again)))
    last = quote_submitted(customer_id, 1)
    await books.handled(await books.publish(last))
    [answer] = await books.emitted(CreditChecked, quote_id=last.quote_id)
    assert (answer["data"]["open_receivables"], answer["data"]["committed"]) == (part, 0)
    listed = await books.http.get(f"/api/credit-checks?quote_id={last.quote_id}", headers=accountant)
    assert listed.json()["items"][0]["committed"] == 0


async def test_the_same_submission_is_answered_once(books: Books) -> None:
    quote = quote_submitted(uuid.uuid4(), 5_000_000)
    before = await handled(quote.routing_key)
    envelope = await books.publish(quote)
    await books.publish(quote, event_id=envelope.event_id)  # a redelivery
    await books.publish(quote)  # sales sending the same submission again under a new id
    await eventually(lambda: handled(quote.routing_key), lambda n: n >= before + 3, what="three copies")

    assert len(await checks_of(books, quote.quote_id)) == 1
    assert len(await books.emitted(CreditChecked, quote_id=quote.quote_id)) == 1


# -- invoices --------------------------------------------------------------------------


async def test_an_order_waits_for_the_account_then_is_invoiced(
    books: Books, accountant: dict[str, str]
) -> None:
    customer_id, owner_id = uuid.uuid4(), uuid.uuid4()
    placed = order_placed(
        customer_id, [(3, 1_250_000, 8.0), (2, 999_999, 10.0)], order_date=date(2029, 3, 2), terms=45
    )
    retried = await counter("crm_messages_retried_total", placed.routing_key)
    envelope = await books.publish(placed)

    # Tries at RETRY_DELAY_S apart while the account is missing: nothing is invoiced, dropped or failed.
    await eventually(
        lambda: counter("crm_messages_retried_total", placed.routing_key),
        lambda n: n >= retried + 3,
        what="three tries of the order",
    )
    assert await books.scalar("SELECT count(*) FROM invoices WHERE order_id = :o", o=placed.order_id) == 0
    assert await books.scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=envelope.event_id) == 0
    assert await queue_depth(books.amqp_url, f"{books.settings.bus_namespace}.accounting.dlq") == 0

    await books.promote(customer_id, owner_id)
    invoice = await books.invoice_for(placed.order_id)

    assert invoice["number"].startswith("INV-2029-")  # a year no other test invoices in
    assert invoice["customer_id"] == str(customer_id)
    assert invoice["issue_date"] == "2029-03-02"
    assert invoice["due_date"] == "2029-04-16"
    assert invoice["status"] == "open"
    assert (invoice["net_total"], invoice["vat_total"], invoice["total"]) == (
        placed.net_total,
        placed.vat_total,
        placed.total,
    )
    assert invoice["balance"] == placed.total
    assert [(li["net_amount"], li["vat_amount"], li["gross_amount"]) for li in invoice["lines"]] == [
        (3_750_000, 300_000, 4_050_000),
        (1_999_998, 200_000, 2_199_998),
    ]
    account = await books.account(customer_id)
    assert account["balance"] == placed.total
    assert account["owner_id"] == str(owner_id)

    listed = await books.http.get(f"/api/invoices?customer_id={customer_id}", headers=accountant)
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0]["number"] == invoice["number"]


# -- the customer's name -----------------------------------------------------------------


async def test_an_edit_renames_the_account_and_an_older_one_changes_nothing(books: Books) -> None:
    customer_id = uuid.uuid4()
    await books.promote(customer_id, name="Công ty TNHH Minh Long")
    assert (await books.account(customer_id))["customer_name"] == "Công ty TNHH Minh Long"

    edit = CustomerUpdated(customer_id=customer_id, name="Công ty CP Minh Long", updated_at=datetime.now(UTC))
    await books.handled(await books.publish(edit))
    assert (await books.account(customer_id))["customer_name"] == "Công ty CP Minh Long"

    older = edit.model_copy(
        update={"name": "Minh Long (cũ)", "updated_at": edit.updated_at - timedelta(hours=1)}
    )
    await books.handled(await books.publish(older))
    assert (await books.account(customer_id))["customer_name"] == "Công ty CP Minh Long"


async def test_an_edit_before_the_account_opens_is_kept_for_it(books: Books) -> None:
    prospect_id, overtaken_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    # A prospect's edit: no account, and nothing left waiting.
    prospect_edit = CustomerUpdated(customer_id=prospect_id, name="Cửa hàng Hòa An", updated_at=now)
    await books.handled(await books.publish(prospect_edit))
    assert await books.scalar("SELECT count(*) FROM accounts WHERE customer_id = :c", c=prospect_id) == 0

    # An edit made after the promotion overtakes it: the account opens with the edited name.
    edit = CustomerUpdated(customer_id=overtaken_id, name="Đại lý Sao Việt (mới)", updated_at=now)
    await books.handled(await books.publish(edit))
    promotion = CustomerPromotedToTraditional(
        customer_id=overtaken_id, name="Đại lý Sao Việt", promoted_at=now - timedelta(minutes=1)
    )
    await books.handled(await books.publish(promotion))
    assert (await books.account(overtaken_id))["customer_name"] == "Đại lý Sao Việt (mới)"


async def test_an_order_that_does_not_add_up_is_dead_lettered_with_the_reason(books: Books) -> None:
    customer_id = uuid.uuid4()
    await books.promote(customer_id)
    await books.account(customer_id)
    good = order_placed(customer_id, [(1, 1_000_000, 10.0)], order_date=books.settings.today())
    bad = good.model_copy(update={"total": good.total + 1})
    dlq = f"{books.settings.bus_namespace}.accounting.dlq"
    before = await queue_depth(books.amqp_url, dlq)
    await books.publish(bad)

    await eventually(lambda: queue_depth(books.amqp_url, dlq), lambda depth: depth == before + 1, what="dlq")
    assert await books.scalar("SELECT count(*) FROM invoices WHERE order_id = :o", o=bad.order_id) == 0
    async with await aio_pika.connect(books.amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.get_queue(dlq)
        reasons = []
        while (message := await queue.get(fail=False)) is not None:
            reasons.append(str(message.headers.get("x-dead-letter-reason")))
            await message.ack()
    assert any(f"total {bad.total} is not the lines' {good.total}" in r for r in reasons), reasons


async def test_an_order_invoiced_after_a_later_one_is_dated_on_the_series_last_day(books: Books) -> None:
    """Invoice numbers follow the invoice date within a series: an order dated before the
    series' last invoice (its account opened late, say) is invoiced on that day, not its own."""
    customer_id = uuid.uuid4()
    await books.promote(customer_id)
    await books.account(customer_id)
    later = order_placed(customer_id, [(1, 1_000_000, 10.0)], order_date=date(2033, 5, 10), terms=30)
    earlier = order_placed(customer_id, [(1, 2_000_000, 10.0)], order_date=date(2033, 5, 5), terms=30)
    await books.publish(later)
    first = await books.invoice_for(later.order_id)
    await books.publish(earlier)
    second = await books.invoice_for(earlier.order_id)

    assert second["number"] > first["number"]
    assert (first["issue_date"], second["issue_date"]) == ("2033-05-10", "2033-05-10")
    assert second["due_date"] == "2033-06-09"  # its terms count from the invoice's date


async def test_200_orders_get_200_invoice_numbers_without_gaps(books: Books) -> None:
    """Two replicas, every order once, some twice (the same event again, or the same order
    under a new event id): numbers 1..200 of the year, each once."""
    replica = create_app(books.settings)
    customers = [uuid.uuid4() for _ in range(200)]
    async with replica.router.lifespan_context(replica):
        await asyncio.gather(*(books.promote(c) for c in customers))
        await eventually(
            lambda: books.scalar(
                "SELECT count(*) FROM accounts WHERE customer_id = ANY(:ids)", ids=customers
            ),
            lambda n: n == 200,
            what="200 accounts",
        )
        orders = [order_placed(c, [(2, 1_500_000, 8.0)], order_date=date(2031, 5, 20)) for c in customers]
        before = await handled(OrderPlaced.routing_key)
        envelopes = await asyncio.gather(*(books.publish(o) for o in orders))
        await asyncio.gather(
            *(
                books.publish(o, event_id=e.event_id)
                for o, e in zip(orders[:30], envelopes[:30], strict=True)
            ),
            *(books.publish(o) for o in orders[100:130]),
        )
        await eventually(
            lambda: books.scalar("SELECT count(*) FROM invoices WHERE issue_date = '2031-05-20'"),
            lambda n: n >= 200,
            timeout=60,
            what="200 invoices",
        )
        await eventually(
            lambda: handled(OrderPlaced.routing_key),
            lambda n: n >= before + 260,
            what="every copy handled or skipped",
        )

    numbers = [n for (n,) in await books.rows("SELECT number FROM invoices WHERE number LIKE 'INV-2031-%'")]
    assert sorted(numbers) == [f"INV-2031-{n:06d}" for n in range(1, 201)]
    assert await books.scalar("SELECT last FROM invoice_counters WHERE year = 2031") == 200
    per_order = await books.rows(
        "SELECT count(*) FROM invoices WHERE order_id = ANY(:ids) GROUP BY order_id",
        ids=[o.order_id for o in orders],
    )
    assert len(per_order) == 200 and {n for (n,) in per_order} == {1}
    balances = await books.rows("SELECT balance FROM accounts WHERE customer_id = ANY(:ids)", ids=customers)
    assert {b for (b,) in balances} == {3_240_000}


async def test_concurrent_invoicing_and_rollbacks_leave_no_gap(books: Books) -> None:
    """Straight at the use case: 30 transactions at once, and some that roll back
    after taking a number; the numbers taken are still 1..N."""
    customers = [uuid.uuid4() for _ in range(30)]
    async with books.db.transaction() as session:
        await accounts.open_for(
            session,
            [
                CustomerPromotedToTraditional(customer_id=c, name="C", promoted_at=datetime.now(UTC))
                for c in customers
            ],
            DEFAULT_LIMIT,
        )

    class Abandoned(Exception):
        pass

    async def invoice(customer_id: uuid.UUID, *, roll_back: bool) -> None:
        try:
            async with books.db.transaction() as session:
                placed = order_placed(customer_id, [(1, 100_000, 10.0)], order_date=date(2032, 1, 10))
                assert await invoices.invoice_order(session, placed) is not None
                if roll_back:
                    raise Abandoned
        except Abandoned:
            pass

    await asyncio.gather(*(invoice(c, roll_back=i % 3 == 0) for i, c in enumerate(customers)))
    numbers = sorted(
        n for (n,) in await books.rows("SELECT number FROM invoices WHERE number LIKE 'INV-2032-%'")
    )
    assert numbers == [f"INV-2032-{n:06d}" for n in range(1, 21)]
    assert await books.scalar("SELECT last FROM invoice_counters WHERE year = 2032") == 20


# -- payments, credit notes, the ledger ------------------------------------------------


async def test_payments_and_credit_notes_move_the_balances(books: Books, accountant: dict[str, str]) -> None:
    today = books.settings.today()
    customer_id, invoice = await books.customer_with_invoice(10_000_000)  # 11,000,000
    url = f"/api/invoices/{invoice['id']}"

    async def pay(amount: Any, **more: Any) -> httpx.Response:
        body = {
            "invoice_id": invoice["id"],
            "amount": amount,
            "paid_on": str(today),
            "method": "bank_transfer",
        }
        return await books.http.post("/api/payments", headers=accountant, json={**body, **more})

    first = await pay(4_000_000, reference="UNC 0001")
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == 4_000_000
    after_first = (await books.http.get(url, headers=accountant)).json()
    assert (after_first["status"], after_first["balance"], after_first["paid_total"]) == (
        "partially_paid",
        7_000_000,
        4_000_000,
    )
    assert (await books.account(customer_id))["balance"] == 7_000_000

    # Refused, and nothing changes: more than is owed, a date in the future, fields not settable.
    too_much = await pay(7_000_001)
    assert too_much.status_code == 422
    assert "amount 7000001 exceeds the open balance 7000000" in too_much.json()["detail"]
    # A problem document with its code and the facts the web UI says it with.
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert too_much.json()["code"] == "invoice.exceeds_balance"
    assert too_much.json()["params"] == {
        "amount": 7_000_001,
        "balance_amount": 7_000_000,
        "invoice_number": invoice["number"],
    }
    future = await pay(1, paid_on=str(today + timedelta(days=1)))
    assert future.status_code == 422 and "paid_on" in future.json()["detail"]
    assert future.json()["code"] == "payment.paid_on_future"
    for extra in ({"balance": 0}, {"customer_id": str(customer_id)}, {"status": "paid"}):
        sneaky = await pay(1, **extra)
        assert sneaky.status_code == 422
        assert [e["loc"] for e in sneaky.json()["detail"]] == [["body", next(iter(extra))]]
    for bad in ({"amount": 0}, {"amount": -5}, {"method": "cheque"}, {"paid_on": "yesterday"}):
        assert (await pay(**{"amount": 1, **bad})).status_code == 422, bad
    missing = await books.http.post(
        "/api/payments",
        headers=accountant,
        json={"invoice_id": str(uuid.uuid4()), "amount": 1, "paid_on": str(today), "method": "cash"},
    )
    assert missing.status_code == 404
    assert (await books.http.get(url, headers=accountant)).json()["balance"] == 7_000_000
    assert (await books.account(customer_id))["balance"] == 7_000_000

    # A credit note lowers it further; then the rest is paid.
    note = await books.http.post(
        f"{url}/credit-notes", headers=accountant, json={"amount": 500_000, "reason": "damaged in transit"}
    )
    assert note.status_code == 201, note.text
    assert note.json()["number"].startswith(f"CN-{today.year}-")
    assert note.json()["issued_on"] == str(today)
    over = await books.http.post(
        f"{url}/credit-notes", headers=accountant, json={"amount": 6_500_001, "reason": "x"}
    )
    assert over.status_code == 422 and "amount" in over.json()["detail"]
    no_reason = await books.http.post(
        f"{url}/credit-notes", headers=accountant, json={"amount": 1, "reason": " "}
    )
    assert no_reason.status_code == 422
    rest = await pay(6_500_000, method="card")
    assert rest.status_code == 201
    paid = (await books.http.get(url, headers=accountant)).json()
    assert (paid["status"], paid["balance"], paid["paid_total"], paid["credited_total"]) == (
        "paid",
        0,
        10_500_000,
        500_000,
    )
    assert [p["amount"] for p in paid["payments"]] == [4_000_000, 6_500_000]
    assert [n["number"] for n in paid["credit_notes"]] == [note.json()["number"]]
    assert (await books.account(customer_id))["balance"] == 0
    assert (await pay(1)).status_code == 422

    payments = await books.http.get(f"/api/payments?invoice_id={invoice['id']}", headers=accountant)
    assert payments.json()["total"] == 2

    ledger = await books.http.get(
        f"/api/ledger?from={today}&to={today}&customer_id={customer_id}", headers=accountant
    )
    assert ledger.status_code == 200
    assert [(e["kind"], e["amount"]) for e in ledger.json()["items"]] == [
        ("invoice", 11_000_000),
        ("payment", -4_000_000),
        ("credit_note", -500_000),
        ("payment", -6_500_000),
    ]
    assert ledger.json()["sums"] == {"invoiced": 11_000_000, "paid": -10_500_000, "credited": -500_000}
    assert ledger.json()["items"][1]["reference"] == f"{invoice['number']} UNC 0001"
    backwards = await books.http.get(
        f"/api/ledger?from={today}&to={today - timedelta(days=1)}", headers=accountant
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "dates.from_after_to"


async def test_credit_notes_are_numbered_without_gaps(books: Books, accountant: dict[str, str]) -> None:
    _, invoice = await books.customer_with_invoice(1_000_000)
    url = f"/api/invoices/{invoice['id']}/credit-notes"
    numbers = []
    for _ in range(3):
        response = await books.http.post(url, headers=accountant, json={"amount": 100, "reason": "price fix"})
        numbers.append(response.json()["number"])
    refused = await books.http.post(url, headers=accountant, json={"amount": 10**9, "reason": "too much"})
    assert refused.status_code == 422
    numbers.append(
        (await books.http.post(url, headers=accountant, json={"amount": 100, "reason": "x"})).json()["number"]
    )
    seqs = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    fully = await books.http.post(
        url, headers=accountant, json={"amount": 1_100_000 - 400, "reason": "cancelled"}
    )
    assert fully.status_code == 201
    detail = (await books.http.get(f"/api/invoices/{invoice['id']}", headers=accountant)).json()
    assert (detail["status"], detail["balance"]) == ("credited", 0)


async def test_a_credit_note_is_announced_with_its_net_part(books: Books, accountant: dict[str, str]) -> None:
    """Marketing takes the net part off the order's revenue: 1,100,000 VAT included on an
    invoice of 1,000,000 net + 10% VAT is 1,000,000 of revenue."""
    customer_id, invoice = await books.customer_with_invoice(10_000_000)
    url = f"/api/invoices/{invoice['id']}/credit-notes"
    note = await books.http.post(url, headers=accountant, json={"amount": 1_100_000, "reason": "returned"})
    assert note.status_code == 201
    [announced] = await books.emitted(CreditNoteIssued, credit_note_id=note.json()["id"])
    data = announced["data"]
    assert (data["order_id"], data["invoice_id"], data["customer_id"]) == (
        invoice["order_id"],
        invoice["id"],
        str(customer_id),
    )
    assert (data["amount"], data["net_amount"], data["number"]) == (
        1_100_000,
        1_000_000,
        note.json()["number"],
    )
    refused = await books.http.post(url, headers=accountant, json={"amount": 10**12, "reason": "too much"})
    assert refused.status_code == 422
    assert len(await books.emitted(CreditNoteIssued, invoice_id=invoice["id"])) == 1


# -- receivables -----------------------------------------------------------------------


async def test_aging_and_overdue_as_of_a_day(books: Books, accountant: dict[str, str]) -> None:
    """Invoices of 2020 with 30-day terms, seen at the end of 2020-06-30."""
    customer_id = uuid.uuid4()
    await books.promote(customer_id, name="Đại lý Cần Thơ")
    await books.account(customer_id)
    issued = {
        "current": date(2020, 5, 31),  # due 06-30: not overdue yet
        "days_1_30": date(2020, 5, 1),  # due 05-31: 30 days
        "days_31_60": date(2020, 4, 1),  # due 05-01: 60 days
        "days_61_90": date(2020, 3, 20),  # due 04-19: 72 days
        "over_90": date(2020, 3, 1),  # due 03-31: 91 days
    }
    invoices = {}
    # Issued in date order: an invoice is never dated before the series' last one.
    for bucket, day in sorted(issued.items(), key=lambda item: item[1]):
        placed = order_placed(customer_id, [(1, 1_000_000, 10.0)], order_date=day)
        await books.publish(placed)
        invoices[bucket] = await books.invoice_for(placed.order_id)
    later = order_placed(customer_id, [(1, 7_000_000, 10.0)], order_date=date(2020, 7, 5))
    await books.publish(later)
    await books.invoice_for(later.order_id)
    # Paid after the day reported on: it still counts as owed then.
    paid = await books.http.post(
        "/api/payments",
        headers=accountant,
        json={
            "invoice_id": invoices["over_90"]["id"],
            "amount": 1_100_000,
            "paid_on": "2020-07-10",
            "method": "cash",
        },
    )
    assert paid.status_code == 201, paid.text

    async def row(as_of: str) -> dict[str, Any]:
        response = await books.http.get(f"/api/receivables/aging?as_of={as_of}&limit=200", headers=accountant)
        assert response.status_code == 200, response.text
        assert response.json()["as_of"] == as_of
        [mine] = [r for r in response.json()["items"] if r["customer_id"] == str(customer_id)]
        return mine

    june = await row("2020-06-30")
    assert june == {
        "customer_id": str(customer_id),
        "customer_name": "Đại lý Cần Thơ",
        "current": 1_100_000,
        "days_1_30": 1_100_000,
        "days_31_60": 1_100_000,
        "days_61_90": 1_100_000,
        "over_90": 1_100_000,
        "total": 5_500_000,
    }
    july = await row("2020-07-31")  # a month on, everything has aged; one invoice was paid
    assert {k: v for k, v in july.items() if k not in ("customer_id", "customer_name")} == {
        "current": 7_700_000,
        "days_1_30": 0,
        "days_31_60": 1_100_000,
        "days_61_90": 1_100_000,
        "over_90": 2_200_000,
        "total": 12_100_000,
    }

    account = await books.http.get(f"/api/accounts/{customer_id}?as_of=2020-06-30", headers=accountant)
    assert account.status_code == 200
    body = account.json()
    assert (body["open_receivables"], body["overdue_receivables"]) == (5_500_000, 4_400_000)
    assert (body["invoices"], body["open_invoices"], body["overdue_invoices"]) == (5, 5, 4)
    now = (await books.http.get(f"/api/accounts/{customer_id}", headers=accountant)).json()
    assert now["as_of"] == str(books.settings.today())
    assert (now["open_receivables"], now["overdue_receivables"], now["balance"]) == (12_100_000,) * 3
    assert (now["invoices"], now["open_invoices"], now["overdue_invoices"]) == (6, 5, 5)


# -- authorization ---------------------------------------------------------------------


async def test_who_may_do_what(books: Books) -> None:
    owner_id, other_id = uuid.uuid4(), uuid.uuid4()
    customer_id, invoice = await books.customer_with_invoice(10_000_000, owner_id=owner_id)
    await books.publish(quote_submitted(customer_id, 1))
    h = {
        "admin": books.headers(Role.ADMIN),
        "accountant": books.headers(Role.ACCOUNTANT),
        "sales_manager": books.headers(Role.SALES_MANAGER),
        "owner": books.headers(Role.SALESPERSON, owner_id),
        "other_seller": books.headers(Role.SALESPERSON, other_id),
        "marketing": books.headers(Role.MARKETING),
    }
    today = str(books.settings.today())
    inv = invoice["id"]
    routes: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
        ("GET", "/api/accounts", None, {"marketing": 403}),
        ("GET", f"/api/accounts/{customer_id}", None, {"other_seller": 404, "marketing": 403}),
        (
            "PATCH",
            f"/api/accounts/{customer_id}",
            {"credit_limit": 60_000_000},
            {"sales_manager": 403, "owner": 403, "other_seller": 403, "marketing": 403},
        ),
        ("GET", "/api/credit-checks", None, {"owner": 403, "other_seller": 403, "marketing": 403}),
        ("GET", "/api/invoices", None, {"marketing": 403}),
        ("GET", f"/api/invoices/{inv}", None, {"other_seller": 404, "marketing": 403}),
        (
            "POST",
            f"/api/invoices/{inv}/credit-notes",
            {"amount": 1, "reason": "rounding"},
            {"sales_manager": 403, "owner": 403, "other_seller": 403, "marketing": 403},
        ),
        ("GET", "/api/credit-notes", None, {"owner": 403, "other_seller": 403, "marketing": 403}),
        (
            "POST",
            "/api/payments",
            {"invoice_id": inv, "amount": 1, "paid_on": today, "method": "cash"},
            {"sales_manager": 403, "owner": 403, "other_seller": 403, "marketing": 403},
        ),
        ("GET", "/api/payments", None, {"owner": 403, "other_seller": 403, "marketing": 403}),
        ("GET", "/api/receivables/aging", None, {"owner": 403, "other_seller": 403, "marketing": 403}),
        (
            "GET",
            "/api/ledger",
            None,
            {"sales_manager": 403, "owner": 403, "other_seller": 403, "marketing": 403},
        ),
    ]
    for method, path, body, refused in routes:
        assert (await books.http.request(method, path, json=body)).status_code == 401, path
        for who, headers in h.items():
            before = await books.scalar(
                "SELECT (SELECT count(*) FROM payments) + (SELECT count(*) FROM credit_notes)"
                " + (SELECT sum(credit_limit) FROM accounts)"
            )
            response = await books.http.request(method, path, json=body, headers=headers)
            expected = refused.get(who, 201 if method == "POST" else 200)
            assert response.status_code == expected, (method, path, who, response.text)
            if expected >= 400:
                assert response.json()["detail"]
                after = await books.scalar(
                    "SELECT (SELECT count(*) FROM payments) + (SELECT count(*) FROM credit_notes)"
                    " + (SELECT sum(credit_limit) FROM accounts)"
                )
                assert after == before, (method, path, who)

    # A salesperson's lists hold only their own customers' records.
    mine = (await books.http.get("/api/invoices?limit=200", headers=h["owner"])).json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == inv
    assert (await books.http.get("/api/invoices", headers=h["other_seller"])).json() == {
        "items": [],
        "total": 0,
        "total_capped": False,
        "next_cursor": None,
    }
    accounts = (await books.http.get("/api/accounts", headers=h["owner"])).json()
    assert [a["customer_id"] for a in accounts["items"]] == [str(customer_id)]

    # The customer moves to another salesperson: so do the account and its invoices.
    await books.publish(
        CustomerReassigned(
            customer_id=customer_id,
            from_owner_id=owner_id,
            to_owner_id=other_id,
            reassigned_at=datetime.now(UTC),
        )
    )
    await eventually(
        lambda: books.http.get(f"/api/invoices/{inv}", headers=h["other_seller"]),
        lambda r: r.status_code == 200,
        what="invoice visible to the new owner",
    )
    assert (await books.http.get(f"/api/invoices/{inv}", headers=h["owner"])).status_code == 404


async def test_bad_input_is_refused_and_changes_nothing(books: Books, accountant: dict[str, str]) -> None:
    customer_id, _ = await books.customer_with_invoice(1_000_000)
    before = await books.account(customer_id)
    for body in ({"credit_limit": -1}, {"credit_limit": 1, "balance": 0}, {"balance": 0}, {}):
        response = await books.http.patch(f"/api/accounts/{customer_id}", headers=accountant, json=body)
        assert response.status_code == 422, body
    assert await books.account(customer_id) == before
    for path in (
        "/api/invoices?status=late",
        "/api/invoices?from=2027-02-02&to=2027-02-01",
        "/api/invoices?limit=1000",
        "/api/invoices?customer_id=nope",
        "/api/ledger?from=2026-13-01",
        "/api/receivables/aging?as_of=tomorrow",
    ):
        response = await books.http.get(path, headers=accountant)
        assert response.status_code == 422, path
        assert response.json()["detail"]
    missing = await books.http.get(f"/api/invoices/{uuid.uuid4()}", headers=accountant)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]


async def test_lists_are_paged(books: Books, accountant: dict[str, str]) -> None:
    await books.customer_with_invoice(1_000_000)
    await books.customer_with_invoice(1_000_000)
    first = (await books.http.get("/api/invoices?limit=1", headers=accountant)).json()
    second = (await books.http.get("/api/invoices?limit=1&offset=1", headers=accountant)).json()
    assert first["total"] == second["total"] >= 2
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]


async def test_uvicorn_target_builds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, books: Books
) -> None:
    import accounting.app as module

    monkeypatch.delitem(module.__dict__, "app", raising=False)
    monkeypatch.setenv("JWT_PUBLIC_KEY", books.settings.jwt_public_key)
    monkeypatch.setenv("DEFAULT_CREDIT_LIMIT", "123")
    built = module.app
    assert isinstance(built, FastAPI)
    assert built.state.runtime.settings.default_credit_limit == 123
    assert module.app is built
