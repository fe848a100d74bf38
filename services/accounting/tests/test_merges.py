"""CustomersMerged in accounting: the merged customer's account moves into the survivor's
(balance, invoices, ledger), a late order of the merged customer is the survivor's, and
the second delivery changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crm_contracts import CustomersMerged, CustomerUpdated
from crm_kit.auth import Role

from .test_integration import Books, order_placed

# The fixture, by name.
from .test_integration import books as books

pytestmark = pytest.mark.integration


def merged(kept: uuid.UUID, gone: uuid.UUID) -> CustomersMerged:
    return CustomersMerged(customer_id=kept, merged_customer_id=gone, merged_at=datetime.now(UTC))


async def test_the_merged_account_moves_into_the_survivors_once(books: Books) -> None:
    kept, kept_invoice = await books.customer_with_invoice(10_000_000)
    gone, gone_invoice = await books.customer_with_invoice(20_000_000)
    merge = merged(kept, gone)
    await books.handled(await books.publish(merge))
    await books.handled(await books.publish(merge))  # redelivered under another id: no second effect

    survivor = await books.account(kept)
    assert survivor["balance"] == kept_invoice["total"] + gone_invoice["total"]
    assert (await books.account(gone))["balance"] == 0
    invoices = await books.http.get(
        "/api/invoices", headers=books.headers(Role.ACCOUNTANT), params={"customer_id": str(kept)}
    )
    assert {i["id"] for i in invoices.json()["items"]} == {kept_invoice["id"], gone_invoice["id"]}
    ledger = await books.scalar("SELECT count(*) FROM ledger_entries WHERE customer_id = :c", c=gone)
    assert ledger == 0

    # An order of the merged customer that sales sent before it heard of the merge.
    late = order_placed(gone, [(1, 5_000_000, 10.0)], order_date=books.settings.today())
    await books.publish(late)
    invoice = await books.invoice_for(late.order_id)
    assert invoice["customer_id"] == str(kept)
    assert (await books.account(kept))["balance"] == survivor["balance"] + invoice["total"]


async def test_a_survivor_without_an_account_gets_one_with_the_merged_balance(books: Books) -> None:
    gone, invoice = await books.customer_with_invoice(3_000_000)
    kept = uuid.uuid4()  # a prospect: no account here
    await books.handled(
        await books.publish(CustomerUpdated(customer_id=kept, name="Survivor", updated_at=datetime.now(UTC)))
    )
    await books.handled(await books.publish(merged(kept, gone)))
    survivor = await books.account(kept)
    assert (survivor["customer_name"], survivor["balance"]) == ("Survivor", invoice["total"])
    # Its promotion, arriving afterwards, leaves the account as it is.
    await books.promote(kept, name="Survivor")
    await books.handled(await books.publish(merged(kept, gone)))
    assert (await books.account(kept))["balance"] == invoice["total"]
