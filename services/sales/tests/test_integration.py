"""Sales against real Postgres and RabbitMQ, driven over HTTP as a client would (the
harness is in `conftest.py`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    CustomerUpdated,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    PortfolioReassigned,
    UserRegistered,
)
from crm_kit.auth import Role
from crm_testkit.catalogue import product_group
from crm_testkit.service import Staff as Actor
from sales import domain, performance_rules

from .conftest import (
    Sales,
    act,
    approved_quote,
    checked,
    credit_check,
    get_quote,
    lines,
    new_quote,
    orders_of,
    promote,
    prospect,
    traditional,
)

pytestmark = pytest.mark.integration


# -- the flow --------------------------------------------------------------------------------


async def test_prospect_quote_approval_acceptance_then_order_on_promotion(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    listed = await sales.http.get(
        "/api/sales/customers", headers=seller.headers, params={"stage": "prospect"}
    )
    assert [c["id"] for c in listed.json()["items"]] == [str(customer_id)]
    # Not open for ordering until the promotion arrives.
    assert (
        await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)
    ).status_code == 404

    quote = await new_quote(sales, seller, customer_id, lines(catalogue))
    assert quote["status"] == "draft"
    assert quote["number"].startswith(f"Q-{sales.settings.local_date(datetime.now(UTC)).year}-")
    assert len(quote["number"]) == len("Q-2026-00001")
    expected = [
        domain.line_amounts(2, 12_345_000, Decimal(5), 10),
        domain.line_amounts(3, 333_333, Decimal("12.5"), 8),
    ]
    assert [(ln["net_amount"], ln["vat_amount"]) for ln in quote["lines"]] == [
        (e.net, e.vat) for e in expected
    ]
    assert quote["lines"][1]["net_amount"] == 874_999 and quote["lines"][1]["vat_amount"] == 70_000
    totals = domain.totals(expected)
    assert (quote["net_total"], quote["vat_total"], quote["total"]) == (
        totals.net_total,
        totals.vat_total,
        totals.total,
    )
    assert quote["owner_id"] == str(seller.id)
    assert quote["valid_until"] == str(sales.settings.local_date(datetime.now(UTC)) + timedelta(days=30))

    submitted = await act(sales, seller, quote, "submit")
    assert (submitted["status"], submitted["submission"]) == ("pending_approval", 1)
    assert submitted["credit_check"]["status"] == "pending"
    [asked] = await sales.emitted("sales.quote.submitted_for_approval.v1", quote_id=quote["id"])
    assert asked["data"]["submission"] == 1
    assert asked["data"]["total"] == quote["total"]
    assert asked["actor"] == str(seller.id)

    early = await sales.http.post(f"/api/quotes/{quote['id']}/approve", headers=manager.headers, json={})
    assert early.status_code == 409 and "credit check" in early.json()["detail"]

    queue = await sales.http.get(
        "/api/quotes", headers=manager.headers, params={"status": "pending_approval"}
    )
    assert quote["id"] in [q["id"] for q in queue.json()["items"]]

    after_check = await checked(sales, seller, submitted)
    assert after_check["status"] == "pending_approval"  # every quote needs a manager by default
    assert after_check["credit_check"]["status"] == "passed"
    assert after_check["credit_check"]["credit_limit"] == quote["total"] * 2

    forbidden = await sales.http.post(f"/api/quotes/{quote['id']}/approve", headers=seller.headers, json={})
    assert forbidden.status_code == 403
    approved = await act(sales, manager, quote, "approve")
    assert (approved["status"], approved["approved_by"], approved["approval_mode"]) == (
        "approved",
        str(manager.id),
        "manager",
    )
    assert len(await sales.emitted("sales.quote.approved.v1", quote_id=quote["id"])) == 1

    assert (await act(sales, seller, quote, "send"))["status"] == "sent"
    accepted = await act(sales, seller, quote, "accept")
    assert accepted["status"] == "accepted"
    [acceptance] = await sales.emitted("sales.quote.accepted.v1", quote_id=quote["id"])
    assert acceptance["data"]["total"] == quote["total"]

    assert await orders_of(sales, seller, customer_id) == []  # a prospect: no order yet
    assert await sales.emitted("sales.order.placed.v1", quote_id=quote["id"]) == []

    await promote(sales, customer_id, seller)
    await promote(sales, customer_id, seller)  # a second promotion event places nothing more
    [order] = await orders_of(sales, seller, customer_id)
    assert (order["total"], order["net_total"], order["vat_total"]) == (
        quote["total"],
        quote["net_total"],
        quote["vat_total"],
    )
    assert order["quote_id"] == quote["id"]
    assert order["number"].startswith("O-")
    assert order["needs_contract"] is False
    assert [ln["product_name"] for ln in order["lines"]] == ["Máy bơm công nghiệp", "Van điều khiển"]
    [placed] = await sales.emitted("sales.order.placed.v1", quote_id=quote["id"])
    assert placed["data"]["total"] == quote["total"]
    assert placed["data"]["order_id"] == order["id"]
    assert [ln["vat_rate_pct"] for ln in placed["data"]["lines"]] == [10, 8]
    opened = await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)
    assert opened.status_code == 200 and opened.json()["lifecycle_stage"] == "traditional"


async def test_a_traditional_customer_gets_the_order_at_once_and_a_contract_when_large(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await traditional(sales, seller)
    big = [{"product_code": catalogue["pump"]["code"], "quantity": 50}]  # 617,250,000 net: a contract
    quote = await approved_quote(sales, seller, manager, customer_id, big)
    await act(sales, seller, quote, "send")
    await act(sales, seller, quote, "accept")

    [order] = await orders_of(sales, seller, customer_id)
    assert order["total"] == quote["total"] and order["needs_contract"] is True
    assert len(await sales.emitted("sales.order.placed.v1", quote_id=quote["id"])) == 1

    starts = date.today()
    made = await sales.http.post(
        f"/api/orders/{order['id']}/contract",
        headers=seller.headers,
        json={
            "starts_on": str(starts),
            "ends_on": str(starts + timedelta(days=365)),
            "terms": "Giao hàng 30 ngày",
        },
    )
    assert made.status_code == 201, made.text
    contract = made.json()
    assert contract["status"] == "draft" and contract["number"].startswith("HD-")
    again = await sales.http.post(
        f"/api/orders/{order['id']}/contract",
        headers=seller.headers,
        json={"starts_on": str(starts), "ends_on": str(starts), "terms": "again"},
    )
    assert again.status_code == 409
    early = await sales.http.post(f"/api/contracts/{contract['id']}/complete", headers=seller.headers)
    assert early.status_code == 409 and "allowed from draft: sign" in early.json()["detail"]
    signed = await sales.http.post(f"/api/contracts/{contract['id']}/sign", headers=seller.headers)
    assert signed.json()["status"] == "signed"
    done = await sales.http.post(f"/api/contracts/{contract['id']}/complete", headers=seller.headers)
    assert done.json()["status"] == "completed"
    listed = await sales.http.get("/api/contracts", headers=seller.headers, params={"order_id": order["id"]})
    assert [c["id"] for c in listed.json()["items"]] == [contract["id"]]

    small = await approved_quote(sales, seller, manager, customer_id, lines(catalogue, 1, 1))
    await act(sales, seller, small, "send")
    await act(sales, seller, small, "accept")
    small_order = next(o for o in await orders_of(sales, seller, customer_id) if o["quote_id"] == small["id"])
    refused = await sales.http.post(
        f"/api/orders/{small_order['id']}/contract",
        headers=seller.headers,
        json={"starts_on": str(starts), "ends_on": str(starts), "terms": "x"},
    )
    assert refused.status_code == 409 and "needs no contract" in refused.json()["detail"]


async def test_an_edit_after_approval_goes_back_to_draft_and_a_stale_check_is_ignored(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    quote = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    edited = await sales.http.patch(
        f"/api/quotes/{quote['id']}", headers=seller.headers, json={"lines": lines(catalogue, 1, 1)}
    )
    assert edited.status_code == 200, edited.text
    draft = edited.json()
    assert draft["status"] == "draft"
    assert (draft["approved_by"], draft["approved_at"], draft["approval_mode"], draft["credit_check"]) == (
        None,
        None,
        None,
        None,
    )
    assert draft["total"] < quote["total"]
    cannot_send = await sales.http.post(f"/api/quotes/{quote['id']}/send", headers=seller.headers)
    assert cannot_send.status_code == 409
    assert "allowed from draft: edit, submit" in cannot_send.json()["detail"]

    resubmitted = await act(sales, seller, quote, "submit")
    assert resubmitted["submission"] == 2
    asked = await sales.emitted("sales.quote.submitted_for_approval.v1", quote_id=quote["id"])
    assert [e["data"]["submission"] for e in asked] == [1, 2]
    assert asked[1]["data"]["total"] == draft["total"]

    await credit_check(sales, resubmitted, passed=True, submission=1)  # stale: ignored
    still = await get_quote(sales, seller, quote)
    assert (still["status"], still["credit_check"]["status"]) == ("pending_approval", "pending")

    failed = await checked(sales, seller, resubmitted, passed=False)
    assert failed["credit_check"]["status"] == "failed"
    no_override = await sales.http.post(
        f"/api/quotes/{quote['id']}/approve", headers=manager.headers, json={}
    )
    assert no_override.status_code == 409 and "override_reason" in no_override.json()["detail"]
    assert (await get_quote(sales, seller, quote))["status"] == "pending_approval"
    overridden = await act(
        sales, manager, quote, "approve", override_reason="Khách hàng lâu năm, luôn thanh toán đúng hạn"
    )
    assert overridden["status"] == "approved"
    assert overridden["override_reason"] == "Khách hàng lâu năm, luôn thanh toán đúng hạn"
    approvals = await sales.emitted("sales.quote.approved.v1", quote_id=quote["id"])
    assert [a["data"]["override_reason"] for a in approvals] == [None, overridden["override_reason"]]

    history = await sales.http.get(f"/api/quotes/{quote['id']}/history", headers=seller.headers)
    actions = [h["action"] for h in history.json()["items"]]
    assert actions[:2] == ["created", "submitted"] and actions[-1] == "approved" and "edited" in actions


async def test_nobody_approves_a_quote_they_made_or_own_and_an_admin_is_recorded_as_admin(
    sales: Sales, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    """Issue 15's reproduction: a manager made a quote, its credit check failed, and the
    same manager approved it with an override reason (200). Now 409, naming the rule."""
    own_customer = await prospect(sales, manager)
    made = await act(
        sales, manager, await new_quote(sales, manager, own_customer, lines(catalogue)), "submit"
    )
    await checked(sales, manager, made, passed=False)

    for body in ({"override_reason": "khách quen"}, {}):
        refused = await sales.http.post(
            f"/api/quotes/{made['id']}/approve", headers=manager.headers, json=body
        )
        assert refused.status_code == 409, refused.text
        assert "made or owns" in refused.json()["detail"]
    assert (await get_quote(sales, manager, made))["status"] == "pending_approval"
    assert await sales.emitted("sales.quote.approved.v1", quote_id=made["id"]) == []

    # A copy made by another manager keeps its owner: neither its maker nor its owner approves it.
    other_manager = sales.actor(Role.SALES_MANAGER)
    copied = await sales.http.post(f"/api/quotes/{made['id']}/copy", headers=other_manager.headers)
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert (copy["owner_id"], copy["created_by"]) == (str(manager.id), str(other_manager.id))
    copy = await act(sales, other_manager, copy, "submit")
    await checked(sales, manager, copy)
    for who in (manager, other_manager):
        refused = await sales.http.post(f"/api/quotes/{copy['id']}/approve", headers=who.headers, json={})
        assert refused.status_code == 409 and "made or owns" in refused.json()["detail"]

    # Someone else approves: an admin, recorded as acting as the approver.
    admin = sales.actor(Role.ADMIN)
    approved = await act(sales, admin, made, "approve", override_reason="khách quen, giám đốc duyệt")
    assert (approved["status"], approved["approved_by"], approved["approved_as"]) == (
        "approved",
        str(admin.id),
        "admin",
    )
    [event] = await sales.emitted("sales.quote.approved.v1", quote_id=made["id"])
    assert event["data"]["approved_as"] == "admin"
    history = await sales.http.get(f"/api/quotes/{made['id']}/history", headers=manager.headers)
    [approval] = [h for h in history.json()["items"] if h["action"] == "approved"]
    assert (approval["changes"]["approved_as"], approval["actor_id"]) == ("admin", str(admin.id))


async def test_a_demoted_managers_token_no_longer_approves(
    sales: Sales, seller: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    """Issue 16's reproduction: demoted at 9:00 through `PATCH /api/users/{id}`, the same
    token approved another salesperson's quote at once (200). The directory hears of the
    new role (`UserRegistered` again) and the old token is refused from then on (401)."""
    demoted = await sales.staff(Role.SALES_MANAGER)
    customer_id = await prospect(sales, seller)
    made = await act(sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue)), "submit")
    await checked(sales, seller, made)
    # The cache of who may act has read this manager already.
    assert (await sales.http.get("/api/approval-rules", headers=demoted.headers)).status_code == 200

    event_id = await sales.publish(
        UserRegistered(
            user_id=demoted.id,
            username=demoted.username,
            full_name="Nhân viên đã chuyển vị trí",
            role=Role.SALESPERSON.value,
            registered_at=datetime.now(UTC),
        )
    )
    await sales.handled(event_id)

    refused = await sales.http.post(f"/api/quotes/{made['id']}/approve", headers=demoted.headers, json={})
    assert refused.status_code == 401, refused.text
    assert "role" in refused.json()["detail"]
    assert (await get_quote(sales, seller, made))["status"] == "pending_approval"
    # A token with the new role works.
    as_seller = Actor(demoted.user.model_copy(update={"role": Role.SALESPERSON}), {})
    as_seller = Actor(as_seller.user, sales.headers_for(as_seller.user))
    assert (await sales.http.get("/api/approval-rules", headers=as_seller.headers)).status_code == 200


async def test_edits_of_a_pending_quote_and_frozen_quotes(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    quote = await act(sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue)), "submit")
    note = await sales.http.patch(
        f"/api/quotes/{quote['id']}", headers=seller.headers, json={"note": "Giảm giá"}
    )
    assert note.json()["status"] == "draft" and note.json()["credit_check"] is None
    # The check for the withdrawn submission arrives late: the draft ignores it.
    await credit_check(sales, quote, passed=True, submission=1)
    assert (await get_quote(sales, seller, quote))["credit_check"] is None

    sent = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, sent, "send")
    frozen = await sales.http.patch(f"/api/quotes/{sent['id']}", headers=seller.headers, json={"note": "x"})
    assert frozen.status_code == 409
    assert frozen.json()["detail"] == (
        "cannot edit a quote that is sent; allowed from sent: accept, decline, expire"
    )
    declined = await act(sales, seller, sent, "decline", reason="Chọn nhà cung cấp khác")
    assert (declined["status"], declined["decline_reason"]) == ("declined", "Chọn nhà cung cấp khác")
    final = await sales.http.post(f"/api/quotes/{sent['id']}/accept", headers=seller.headers)
    assert final.status_code == 409 and "final" in final.json()["detail"]


async def test_a_rejected_quote_is_revised_and_resubmitted(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    quote = await act(sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue)), "submit")
    no_reason = await sales.http.post(f"/api/quotes/{quote['id']}/reject", headers=manager.headers, json={})
    assert no_reason.status_code == 422
    rejected = await act(sales, manager, quote, "reject", reason="Chiết khấu quá cao")
    assert (rejected["status"], rejected["rejection_reason"], rejected["rejected_by"]) == (
        "rejected",
        "Chiết khấu quá cao",
        str(manager.id),
    )
    [event] = await sales.emitted("sales.quote.rejected.v1", quote_id=quote["id"])
    assert event["data"]["reason"] == "Chiết khấu quá cao"
    again = await sales.http.post(f"/api/quotes/{quote['id']}/submit", headers=seller.headers)
    assert again.status_code == 409 and "allowed from rejected: edit" in again.json()["detail"]

    revised = await sales.http.patch(
        f"/api/quotes/{quote['id']}", headers=seller.headers, json={"lines": lines(catalogue, 1, 1)}
    )
    assert revised.json()["status"] == "draft"
    assert revised.json()["rejection_reason"] == "Chiết khấu quá cao"  # kept while revising
    assert (await act(sales, seller, quote, "submit"))["submission"] == 2


async def test_a_copy_of_an_approved_quote_starts_in_draft(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    quote = await approved_quote(sales, seller, manager, customer_id, lines(catalogue), note="Bản gốc")
    response = await sales.http.post(f"/api/quotes/{quote['id']}/copy", headers=seller.headers)
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["id"] != quote["id"] and copy["number"] != quote["number"]
    assert (copy["status"], copy["submission"], copy["approved_by"], copy["credit_check"]) == (
        "draft",
        0,
        None,
        None,
    )
    assert (copy["total"], copy["note"], copy["copied_from_id"]) == (quote["total"], "Bản gốc", quote["id"])
    not_sendable = await sales.http.post(f"/api/quotes/{copy['id']}/send", headers=seller.headers)
    assert not_sendable.status_code == 409
    assert (await get_quote(sales, seller, quote))["status"] == "approved"


async def test_threshold_rules_approve_small_quotes_on_a_passed_check(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    bad = await sales.http.put("/api/approval-rules", headers=manager.headers, json={"mode": "threshold"})
    assert bad.status_code == 422
    ruled = await sales.http.put(
        "/api/approval-rules",
        headers=manager.headers,
        json={"mode": "threshold", "min_total": 100_000_000, "max_discount_pct": 10},
    )
    assert ruled.status_code == 200, ruled.text
    try:
        customer_id = await prospect(sales, seller)
        small = await act(
            sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue, 1, 1)[:1]), "submit"
        )
        assert small["needs_manager"] is False and small["status"] == "pending_approval"
        assert len(await sales.emitted("sales.quote.submitted_for_approval.v1", quote_id=small["id"])) == 1
        auto = await checked(sales, seller, small)
        assert (auto["status"], auto["approval_mode"], auto["approved_by"]) == ("approved", "automatic", None)
        [announced] = await sales.emitted("sales.quote.approved.v1", quote_id=small["id"])
        assert (announced["data"]["automatic"], announced["data"]["approved_by"]) == (True, None)

        failing = await act(
            sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue, 1, 1)[:1]), "submit"
        )
        waits = await checked(sales, seller, failing, passed=False)
        assert (waits["status"], waits["credit_check"]["status"]) == ("pending_approval", "failed")

        discounted = [{"product_code": catalogue["valve"]["code"], "quantity": 1, "discount_pct": 10.5}]
        needs = await act(sales, seller, await new_quote(sales, seller, customer_id, discounted), "submit")
        assert needs["needs_manager"] is True
        assert (await checked(sales, seller, needs))["status"] == "pending_approval"
    finally:
        reset = await sales.http.put("/api/approval-rules", headers=manager.headers, json={"mode": "all"})
        assert reset.status_code == 200


async def test_a_quote_above_the_second_approval_total_needs_two_approvers_or_an_admin(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    big_lines = lines(catalogue, 10, 0)[:1]  # 10 pumps: over 100,000,000
    ruled = await sales.http.put(
        "/api/approval-rules",
        headers=manager.headers,
        json={"mode": "all", "second_approval_min_total": 100_000_000},
    )
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["second_approval_min_total"] == 100_000_000
    try:
        customer_id = await prospect(sales, seller)
        big = await act(sales, seller, await new_quote(sales, seller, customer_id, big_lines), "submit")
        assert big["total"] >= 100_000_000 and big["needs_second_approver"] is True
        await checked(sales, seller, big)

        first = await act(sales, manager, big, "approve")
        assert (first["status"], first["first_approved_by"], first["approved_by"]) == (
            "pending_approval",
            str(manager.id),
            None,
        )
        assert await sales.emitted("sales.quote.approved.v1", quote_id=big["id"]) == []
        twice = await sales.http.post(f"/api/quotes/{big['id']}/approve", headers=manager.headers, json={})
        assert twice.status_code == 409 and "second approver" in twice.json()["detail"]

        second_manager = sales.actor(Role.SALES_MANAGER)
        final = await act(sales, second_manager, big, "approve")
        assert (final["status"], final["approved_by"], final["first_approved_by"]) == (
            "approved",
            str(second_manager.id),
            str(manager.id),
        )
        assert len(await sales.emitted("sales.quote.approved.v1", quote_id=big["id"])) == 1
        history = await sales.http.get(f"/api/quotes/{big['id']}/history", headers=seller.headers)
        actions = [h["action"] for h in history.json()["items"]]
        assert actions[-2:] == ["first_approved", "approved"]

        # An admin alone is enough; a quote under the total needs one approver.
        other = await act(sales, seller, await new_quote(sales, seller, customer_id, big_lines), "submit")
        await checked(sales, seller, other)
        assert (await act(sales, sales.actor(Role.ADMIN), other, "approve"))["status"] == "approved"
        small = await act(
            sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue)), "submit"
        )
        assert small["needs_second_approver"] is False
        await checked(sales, seller, small)
        assert (await act(sales, manager, small, "approve"))["status"] == "approved"
    finally:
        reset = await sales.http.put("/api/approval-rules", headers=manager.headers, json={"mode": "all"})
        assert reset.status_code == 200


async def test_a_sent_quote_past_its_validity_expires_instead_of_being_accepted(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await traditional(sales, seller)
    quote = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, quote, "send")
    yesterday = sales.settings.local_date(datetime.now(UTC)) - timedelta(days=1)
    await sales.execute(
        "UPDATE quotes SET valid_until = :d WHERE id = :id", d=yesterday, id=uuid.UUID(quote["id"])
    )

    late = await sales.http.post(f"/api/quotes/{quote['id']}/accept", headers=seller.headers)
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    assert (await get_quote(sales, seller, quote))["status"] == "expired"
    assert await orders_of(sales, seller, customer_id) == []
    assert await sales.emitted("sales.quote.accepted.v1", quote_id=quote["id"]) == []

    other = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, other, "send")
    await sales.execute(
        "UPDATE quotes SET valid_until = :d WHERE id = :id", d=yesterday, id=uuid.UUID(other["id"])
    )
    swept = await sales.http.post("/api/quotes/expire-due", headers=manager.headers)
    assert swept.status_code == 200 and swept.json()["expired"] >= 1
    assert (await get_quote(sales, seller, other))["status"] == "expired"
    refused = await sales.http.post("/api/quotes/expire-due", headers=seller.headers)
    assert refused.status_code == 403


# -- products ----------------------------------------------------------------------------------


async def test_a_price_change_keeps_history_and_old_quotes_keep_their_prices(
    sales: Sales, seller: Actor, manager: Actor
) -> None:
    code = f"mtr-{uuid.uuid4().hex[:6]}"
    await product_group(sales.http, "motors", headers=manager.headers)
    made = await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={
            "code": code,
            "name": "Động cơ điện",
            "product_group": "motors",
            "unit_price": 1_000_000,
            "vat_rate_pct": 8,
        },
    )
    assert made.status_code == 201 and made.json()["code"] == code.upper()
    dup = await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={"code": code.upper(), "name": "x", "product_group": "motors", "unit_price": 1},
    )
    assert dup.status_code == 409
    customer_id = await prospect(sales, seller)
    old = await new_quote(sales, seller, customer_id, [{"product_code": code, "quantity": 1}])
    assert old["lines"][0]["unit_price"] == 1_000_000

    changed = await sales.http.patch(
        f"/api/products/{code}", headers=manager.headers, json={"unit_price": 1_200_000}
    )
    assert changed.status_code == 200 and changed.json()["unit_price"] == 1_200_000
    prices = (await sales.http.get(f"/api/products/{code}/prices", headers=seller.headers)).json()["items"]
    assert [p["unit_price"] for p in prices] == [1_200_000, 1_000_000]
    assert (await get_quote(sales, seller, old))["lines"][0]["unit_price"] == 1_000_000
    new = await new_quote(sales, seller, customer_id, [{"product_code": code, "quantity": 1}])
    assert new["lines"][0]["unit_price"] == 1_200_000

    found = await sales.http.get(
        "/api/products", headers=seller.headers, params={"q": "dong co", "group": "motors"}
    )
    assert [p["code"] for p in found.json()["items"]] == [code.upper()]
    await sales.http.patch(f"/api/products/{code}", headers=manager.headers, json={"active": False})
    inactive = await sales.http.post(
        "/api/quotes",
        headers=seller.headers,
        json={"customer_id": str(customer_id), "lines": [{"product_code": code, "quantity": 1}]},
    )
    assert inactive.status_code == 422 and "inactive" in inactive.json()["detail"]
    listed = await sales.http.get(
        "/api/products", headers=seller.headers, params={"active": "false", "group": "motors"}
    )
    assert [p["code"] for p in listed.json()["items"]] == [code.upper()]


async def test_bad_input_gets_a_4xx_and_changes_nothing(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await prospect(sales, seller)
    pump = catalogue["pump"]["code"]
    before = await sales.scalar("SELECT count(*) FROM quotes")
    for body, status in [
        # A customer sales never heard of may still be on its way: not yet (test_customer_arrival).
        ({"customer_id": str(uuid.uuid4()), "lines": [{"product_code": pump, "quantity": 1}]}, 503),
        ({"customer_id": str(customer_id), "lines": [{"product_code": "NOPE", "quantity": 1}]}, 422),
        ({"customer_id": str(customer_id), "lines": [{"product_code": pump, "quantity": 0}]}, 422),
        (
            {
                "customer_id": str(customer_id),
                "lines": [{"product_code": pump, "quantity": 1, "discount_pct": 101}],
            },
            422,
        ),
        ({"customer_id": str(customer_id), "lines": []}, 422),
        (
            {
                "customer_id": str(customer_id),
                "lines": [{"product_code": pump, "quantity": 1}],
                "status": "approved",
            },
            422,
        ),
        (
            {"customer_id": str(customer_id), "lines": [{"product_code": pump, "quantity": 1}], "total": 1},
            422,
        ),
        (
            {
                "customer_id": str(customer_id),
                "lines": [{"product_code": pump, "quantity": 1}],
                "owner_id": str(manager.id),
            },
            422,
        ),
        (
            {
                "customer_id": str(customer_id),
                "lines": [{"product_code": pump, "quantity": 1}],
                "valid_until": "2000-01-01",
            },
            422,
        ),
        (
            {
                "customer_id": str(customer_id),
                "opportunity_id": str(uuid.uuid4()),
                "lines": [{"product_code": pump, "quantity": 1}],
            },
            422,
        ),
    ]:
        response = await sales.http.post("/api/quotes", headers=seller.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert "detail" in response.json()
    assert await sales.scalar("SELECT count(*) FROM quotes") == before

    quote = await new_quote(sales, seller, customer_id, lines(catalogue))
    for body in ({"status": "approved"}, {"approved_by": str(manager.id)}, {}, {"lines": None}):
        response = await sales.http.patch(f"/api/quotes/{quote['id']}", headers=seller.headers, json=body)
        assert response.status_code == 422, (body, response.text)
    assert (await get_quote(sales, seller, quote))["updated_at"] == quote["updated_at"]
    bad_product = await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={"code": "X1", "name": "x", "product_group": "g", "unit_price": 1, "vat_rate_pct": 7},
    )
    assert bad_product.status_code == 422
    bad_period = await sales.http.get(
        "/api/performance", headers=manager.headers, params={"period": "2026-13"}
    )
    assert bad_period.status_code == 422


# -- opportunities -------------------------------------------------------------------------------


async def qualified_lead(
    sales: Sales,
    owner: Actor,
    *,
    amount: int = 200_000_000,
    at: datetime | None = None,
    channel_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """(customer id, opportunity id) of a converted lead, as leads and customers announce it."""
    customer_id, opportunity_id = uuid.uuid4(), uuid.uuid4()
    when = at or datetime.now(UTC)
    event = LeadQualified(
        lead_id=uuid.uuid4(),
        customer_id=customer_id,
        opportunity_id=opportunity_id,
        opportunity_name="Cung cấp máy bơm nhà máy",
        expected_amount=amount,
        name=f"Công ty {customer_id.hex[:6]}",
        contact_name="Nguyễn Văn A",
        owner_id=owner.id,
        source="trade_fair",
        channel_id=channel_id,
        qualified_at=when,
    )
    await sales.handled(await sales.publish(event))
    await sales.handled(await sales.publish(event))  # a second copy (new event id) opens nothing more
    await sales.handled(
        await sales.publish(
            CustomerRegistered(
                customer_id=customer_id,
                name=event.name,
                lifecycle_stage="prospect",
                owner_id=owner.id,
                channel_id=channel_id,
            )
        )
    )
    return customer_id, opportunity_id


async def test_opportunities_from_qualified_leads_stages_and_pipeline(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id, opportunity_id = await qualified_lead(sales, seller, amount=200_000_000)
    assert await sales.scalar("SELECT count(*) FROM opportunities WHERE id = :id", id=opportunity_id) == 1
    got = await sales.http.get(f"/api/opportunities/{opportunity_id}", headers=seller.headers)
    assert got.status_code == 200
    assert (got.json()["stage"], got.json()["probability_pct"], got.json()["expected_amount"]) == (
        "qualification",
        10,
        200_000_000,
    )
    _, other_id = await qualified_lead(sales, seller, amount=100_000_000)
    lost = await sales.http.post(
        f"/api/opportunities/{other_id}/stage", headers=seller.headers, json={"stage": "lost"}
    )
    assert lost.status_code == 422
    lost = await sales.http.post(
        f"/api/opportunities/{other_id}/stage",
        headers=seller.headers,
        json={"stage": "lost", "lost_reason": "Giá"},
    )
    assert lost.json()["stage"] == "lost" and lost.json()["probability_pct"] == 0

    moved = await sales.http.post(
        f"/api/opportunities/{opportunity_id}/stage", headers=seller.headers, json={"stage": "negotiation"}
    )
    assert moved.json()["stage"] == "negotiation"
    back = await sales.http.post(
        f"/api/opportunities/{opportunity_id}/stage", headers=seller.headers, json={"stage": "proposal"}
    )
    assert back.status_code == 409

    pipeline = (await sales.http.get("/api/opportunities/pipeline", headers=seller.headers)).json()
    stages = {s["stage"]: s for s in pipeline["stages"]}
    assert (stages["negotiation"]["count"], stages["negotiation"]["amount"]) == (1, 200_000_000)
    assert stages["negotiation"]["weighted_amount"] == 150_000_000
    assert (stages["lost"]["count"], stages["lost"]["weighted_amount"]) == (1, 0)
    assert (pipeline["open_count"], pipeline["open_amount"], pipeline["weighted_total"]) == (
        1,
        200_000_000,
        150_000_000,
    )

    quote = await approved_quote(
        sales, seller, manager, customer_id, lines(catalogue), opportunity_id=str(opportunity_id)
    )
    await act(sales, seller, quote, "send")
    await act(sales, seller, quote, "accept")
    won = (await sales.http.get(f"/api/opportunities/{opportunity_id}", headers=seller.headers)).json()
    assert (won["stage"], won["won_quote_id"], won["probability_pct"]) == ("won", quote["id"], 100)
    [accepted] = await sales.emitted("sales.quote.accepted.v1", quote_id=quote["id"])
    assert accepted["data"]["opportunity_id"] == str(opportunity_id)
    closed = await sales.http.post(
        "/api/quotes",
        headers=seller.headers,
        json={
            "customer_id": str(customer_id),
            "opportunity_id": str(opportunity_id),
            "lines": lines(catalogue),
        },
    )
    assert closed.status_code == 422


# -- offboarding ---------------------------------------------------------------------------------


async def test_portfolio_reassigned_moves_open_opportunities_and_quotes(
    sales: Sales, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    leaving, taking = sales.actor(Role.SALESPERSON), sales.actor(Role.SALESPERSON)
    admin = sales.actor(Role.ADMIN)
    customer_id, _ = await qualified_lead(sales, leaving)
    _, lost_opportunity = await qualified_lead(sales, leaving)
    await sales.http.post(
        f"/api/opportunities/{lost_opportunity}/stage",
        headers=leaving.headers,
        json={"stage": "lost", "lost_reason": "Hủy dự án"},
    )
    draft = await new_quote(sales, leaving, customer_id, lines(catalogue))
    pending = await act(
        sales, leaving, await new_quote(sales, leaving, customer_id, lines(catalogue)), "submit"
    )
    sent = await approved_quote(sales, leaving, manager, customer_id, lines(catalogue))
    await act(sales, leaving, sent, "send")
    declined = await approved_quote(sales, leaving, manager, customer_id, lines(catalogue))
    await act(sales, leaving, declined, "send")
    await act(sales, leaving, declined, "decline")

    held = await sales.http.get(f"/api/portfolio/{leaving.id}", headers=admin.headers)
    assert held.json()["holdings"] == {"customers": 2, "opportunities": 1, "open_quotes": 3}
    assert (await sales.http.get(f"/api/portfolio/{leaving.id}", headers=leaving.headers)).status_code == 403

    await sales.handled(
        await sales.publish(
            PortfolioReassigned(
                from_user_id=leaving.id, to_user_id=taking.id, reassigned_at=datetime.now(UTC)
            ),
            actor=admin.id,
        )
    )
    left = (await sales.http.get(f"/api/portfolio/{leaving.id}", headers=admin.headers)).json()["holdings"]
    assert (left["opportunities"], left["open_quotes"]) == (0, 0)  # customers move on CustomerReassigned
    taken = (await sales.http.get(f"/api/portfolio/{taking.id}", headers=manager.headers)).json()["holdings"]
    assert (taken["opportunities"], taken["open_quotes"]) == (1, 3)

    mine = await sales.http.get(
        "/api/quotes", headers=taking.headers, params={"customer_id": str(customer_id)}
    )
    assert {q["id"] for q in mine.json()["items"]} == {draft["id"], pending["id"], sent["id"]}
    gone = await sales.http.get(f"/api/quotes/{draft['id']}", headers=leaving.headers)
    assert gone.status_code == 404
    assert (await get_quote(sales, manager, declined))["owner_id"] == str(leaving.id)  # closed: stays
    lost = (await sales.http.get(f"/api/opportunities/{lost_opportunity}", headers=manager.headers)).json()
    assert lost["owner_id"] == str(leaving.id)
    audited = await sales.scalar(
        "SELECT count(*) FROM sales_audit WHERE action = 'reassigned' AND actor_id = :a"
        " AND changes -> 'owner_id' ->> 1 = :to",
        a=admin.id,
        to=str(taking.id),
    )
    assert audited == 4
    # The new owner carries on with the sent quote.
    assert (await act(sales, taking, sent, "accept"))["status"] == "accepted"


# -- customers' facts -------------------------------------------------------------------------------


async def test_grades_reach_sales_in_either_order(sales: Sales, seller: Actor) -> None:
    customer_id = uuid.uuid4()
    graded = CustomerGraded(
        customer_id=customer_id,
        assessment_id=uuid.uuid4(),
        questionnaire_id=uuid.uuid4(),
        questionnaire_version=1,
        score=82.5,
        grade="A",
        owner_id=seller.id,
        graded_at=datetime.now(UTC),
    )
    await sales.handled(await sales.publish(graded))  # before the customer is known
    await sales.handled(
        await sales.publish(
            CustomerRegistered(
                customer_id=customer_id, name="Đại lý Sao Mai", lifecycle_stage="prospect", owner_id=seller.id
            )
        )
    )
    listed = await sales.http.get("/api/sales/customers", headers=seller.headers)
    [customer] = listed.json()["items"]
    assert (customer["grade"], customer["lifecycle_stage"]) == ("A", "prospect")
    older = graded.model_copy(update={"grade": "C", "graded_at": graded.graded_at - timedelta(days=30)})
    await sales.handled(await sales.publish(older))
    listed = await sales.http.get("/api/sales/customers", headers=seller.headers)
    assert listed.json()["items"][0]["grade"] == "A"


async def sales_customer(sales: Sales, actor: Actor, customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer as sales lists it (any stage)."""
    listed = await sales.http.get("/api/sales/customers", headers=actor.headers, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    [customer] = [c for c in listed.json()["items"] if c["id"] == str(customer_id)]
    return customer


async def test_an_edit_reaches_new_quotes_and_orders_and_an_older_one_changes_nothing(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await traditional(sales, seller)
    before = await new_quote(sales, seller, customer_id, lines(catalogue, 1, 1))
    channel = uuid.uuid4()
    edit = CustomerUpdated(
        customer_id=customer_id,
        name="Công ty CP Thiết bị Phương Nam",
        region_code="01",
        channel_id=channel,
        updated_at=datetime.now(UTC),
    )
    await sales.handled(await sales.publish(edit))

    opened = await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert (body["name"], body["region_code"], body["channel_id"]) == (edit.name, "01", str(channel))
    assert body["lifecycle_stage"] == "traditional"
    # Found by its new name whatever the case and the diacritics, not by its old one.
    for q, found in (("phuong nam", True), ("THIẾT BỊ PHƯƠNG", True), (customer_id.hex[:6], False)):
        searched = await sales.http.get("/api/sales/customers", headers=seller.headers, params={"q": q})
        assert searched.status_code == 200, searched.text
        assert (str(customer_id) in {c["id"] for c in searched.json()["items"]}) is found, q

    # A quote made now carries the new name, and so does its order with the new region and channel.
    after = await approved_quote(sales, seller, manager, customer_id, lines(catalogue, 1, 1))
    assert after["customer_name"] == edit.name
    await act(sales, seller, await act(sales, seller, after, "send"), "accept")
    [order] = await orders_of(sales, seller, customer_id)
    assert (order["customer_name"], order["region_code"], order["channel_id"]) == (
        edit.name,
        "01",
        str(channel),
    )
    [placed] = await sales.emitted("sales.order.placed.v1", quote_id=after["id"])
    assert (placed["data"]["region_code"], placed["data"]["channel_id"]) == ("01", str(channel))
    # The quote made before keeps the name it was made with.
    assert (await get_quote(sales, seller, before))["customer_name"] == f"Công ty TNHH {customer_id.hex[:6]}"

    # An older edit, and the (older) promotion redelivered late, change nothing.
    older = edit.model_copy(
        update={"name": "Tên cũ", "region_code": "79", "updated_at": edit.updated_at - timedelta(hours=1)}
    )
    await sales.handled(await sales.publish(older))
    late = CustomerPromotedToTraditional(
        customer_id=customer_id,
        name="Tên lúc nâng hạng",
        owner_id=seller.id,
        region_code="79",
        promoted_at=edit.updated_at - timedelta(minutes=1),
    )
    await sales.handled(await sales.publish(late))
    body = (await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)).json()
    assert (body["name"], body["region_code"], body["channel_id"]) == (edit.name, "01", str(channel))

    # A newer edit may clear the region.
    cleared = edit.model_copy(update={"region_code": None, "updated_at": datetime.now(UTC)})
    await sales.handled(await sales.publish(cleared))
    body = (await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)).json()
    assert (body["name"], body["region_code"]) == (edit.name, None)


async def test_an_edit_before_the_customer_is_known_is_kept_for_its_registration_and_promotion(
    sales: Sales, seller: Actor
) -> None:
    customer_id = uuid.uuid4()
    registered_at = datetime.now(UTC) - timedelta(hours=2)
    edit = CustomerUpdated(
        customer_id=customer_id,
        name="Đại lý Kim Ngân (tên mới)",
        region_code="48",
        updated_at=registered_at + timedelta(hours=1),
    )
    await sales.handled(await sales.publish(edit))  # overtook the registration
    assert await sales.scalar("SELECT count(*) FROM sales_customers WHERE id = :id", id=customer_id) == 0

    registration = CustomerRegistered(
        customer_id=customer_id,
        name="Đại lý Kim Ngân",
        lifecycle_stage="prospect",
        owner_id=seller.id,
        region_code="79",
    )
    await sales.handled(await sales.publish(registration, occurred_at=registered_at))
    prospect_now = await sales_customer(sales, seller, customer_id)
    assert (prospect_now["name"], prospect_now["region_code"], prospect_now["lifecycle_stage"]) == (
        edit.name,
        "48",
        "prospect",
    )

    # Promoted before the edit, the promotion arriving after it: the edit's values stay.
    promotion = CustomerPromotedToTraditional(
        customer_id=customer_id,
        name=registration.name,
        owner_id=seller.id,
        region_code="79",
        promoted_at=registered_at + timedelta(minutes=30),
    )
    await sales.handled(await sales.publish(promotion))
    opened = (await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)).json()
    assert (opened["name"], opened["region_code"], opened["lifecycle_stage"]) == (
        edit.name,
        "48",
        "traditional",
    )


async def test_a_deactivated_customer_gets_no_new_quote_until_it_is_promoted_again(
    sales: Sales, seller: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await traditional(sales, seller)
    deactivated_at = datetime.now(UTC)
    deactivation = CustomerDeactivated(
        customer_id=customer_id, reason="ngừng kinh doanh", deactivated_at=deactivated_at
    )
    await sales.handled(await sales.publish(deactivation))
    assert (await sales_customer(sales, seller, customer_id))["lifecycle_stage"] == "inactive"
    inactive = await sales.http.get(
        "/api/sales/customers", headers=seller.headers, params={"stage": "inactive"}
    )
    assert str(customer_id) in [c["id"] for c in inactive.json()["items"]]
    assert (
        await sales.http.get(f"/api/sales/customers/{customer_id}", headers=seller.headers)
    ).status_code == 404
    quotes_before = await sales.scalar("SELECT count(*) FROM quotes WHERE customer_id = :id", id=customer_id)
    refused = await sales.http.post(
        "/api/quotes",
        headers=seller.headers,
        json={"customer_id": str(customer_id), "lines": lines(catalogue, 1, 1)},
    )
    assert refused.status_code == 422
    assert "inactive" in refused.text
    assert await sales.scalar("SELECT count(*) FROM quotes WHERE customer_id = :id", id=customer_id) == (
        quotes_before
    )

    # A promotion from before the deactivation, arriving late, does not reopen the customer.
    stale = CustomerPromotedToTraditional(
        customer_id=customer_id,
        name="x",
        owner_id=seller.id,
        promoted_at=deactivated_at - timedelta(minutes=5),
    )
    await sales.handled(await sales.publish(stale))
    assert (await sales_customer(sales, seller, customer_id))["lifecycle_stage"] == "inactive"

    # Brought back (promoted again after the deactivation): quotable again.
    await promote(sales, customer_id, seller)
    assert (await sales_customer(sales, seller, customer_id))["lifecycle_stage"] == "traditional"
    await new_quote(sales, seller, customer_id, lines(catalogue, 1, 1))


async def test_a_deactivation_before_the_customer_is_known_is_kept(sales: Sales, seller: Actor) -> None:
    customer_id = uuid.uuid4()
    registered_at = datetime.now(UTC) - timedelta(hours=1)
    await sales.handled(
        await sales.publish(
            CustomerDeactivated(customer_id=customer_id, reason="trùng", deactivated_at=datetime.now(UTC))
        )
    )
    await sales.handled(
        await sales.publish(
            CustomerRegistered(
                customer_id=customer_id,
                name="Cửa hàng Bình An",
                lifecycle_stage="prospect",
                owner_id=seller.id,
            ),
            occurred_at=registered_at,
        )
    )
    customer = await sales_customer(sales, seller, customer_id)
    assert (customer["name"], customer["lifecycle_stage"]) == ("Cửa hàng Bình An", "inactive")


# -- performance ----------------------------------------------------------------------------------


async def test_performance_for_a_scripted_month(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    channel_id = uuid.uuid4()
    now = datetime.now(UTC)
    month = performance_rules.parse_period(sales.settings.local_date(now).strftime("%Y-%m"))
    before_month = sales.settings.start_of(month.start) - timedelta(days=3)
    for at in (now, now, now, before_month):
        await sales.handled(
            await sales.publish(
                LeadCaptured(
                    lead_id=uuid.uuid4(),
                    owner_id=seller.id,
                    source="internet",
                    full_name="Trần Thị B",
                    channel_id=channel_id,
                    captured_at=at,
                )
            )
        )
    customer_id, _ = await qualified_lead(sales, seller, channel_id=channel_id)  # converted + prospect gained
    await sales.handled(
        await sales.publish(
            LeadDisqualified(
                lead_id=uuid.uuid4(),
                owner_id=seller.id,
                reason="no budget",
                source="internet",
                channel_id=channel_id,
                disqualified_at=now,
            )
        )
    )
    await promote(sales, customer_id, seller, channel_id)
    won = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, won, "send")
    await act(sales, seller, won, "accept")
    other = await approved_quote(sales, seller, manager, customer_id, lines(catalogue, 1, 0)[:1])
    await act(sales, seller, other, "send")

    response = await sales.http.get(
        "/api/performance", headers=seller.headers, params={"period": month.label}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["period"], report["previous_period"], report["total"]) == (
        month.label,
        month.previous().label,
        1,
    )
    [row] = report["items"]
    assert row["owner_id"] == str(seller.id)
    assert (row["leads_worked"], row["converted"], row["disqualified"], row["conversion_rate"]) == (
        3,
        1,
        1,
        0.5,
    )
    assert (row["prospects_gained"], row["quotes_sent"], row["quotes_accepted"], row["orders"]) == (
        1,
        2,
        1,
        1,
    )
    assert (row["revenue"], row["previous_revenue"], row["revenue_growth"]) == (won["net_total"], 0, None)

    by_channel = await sales.http.get(
        "/api/performance", headers=manager.headers, params={"period": month.label, "by": "channel"}
    )
    [channel_row] = [r for r in by_channel.json()["items"] if r["channel_id"] == str(channel_id)]
    assert (channel_row["leads_worked"], channel_row["orders"], channel_row["revenue"]) == (
        3,
        1,
        won["net_total"],
    )
    everyone = await sales.http.get(
        "/api/performance", headers=manager.headers, params={"period": month.label}
    )
    assert str(seller.id) in [r["owner_id"] for r in everyone.json()["items"]]
    someone_else = await sales.http.get(
        "/api/performance",
        headers=seller.headers,
        params={"period": month.label, "owner_id": str(manager.id)},
    )
    assert [r["owner_id"] for r in someone_else.json()["items"]] == [str(seller.id)]

    # Move the order into the previous month: growth compares the two.
    await sales.execute(
        "UPDATE performance_facts SET occurred_at = :at WHERE kind = 'order_placed' AND owner_id = :o",
        at=before_month,
        o=seller.id,
    )
    previous = await sales.http.get(
        "/api/performance", headers=seller.headers, params={"period": month.previous().label}
    )
    assert previous.json()["items"][0]["leads_worked"] == 1
    assert previous.json()["items"][0]["revenue"] == won["net_total"]
    [after] = (
        await sales.http.get("/api/performance", headers=seller.headers, params={"period": month.label})
    ).json()["items"]
    assert (after["revenue"], after["previous_revenue"], after["revenue_growth"]) == (
        0,
        won["net_total"],
        -1.0,
    )
    assert (
        await sales.http.get(
            "/api/performance", headers=sales.actor(Role.ACCOUNTANT).headers, params={"period": "2026"}
        )
    ).status_code == 403


# -- authorization ------------------------------------------------------------------------------


async def test_authorization_per_route_and_role(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    other = sales.actor(Role.SALESPERSON)
    admin = sales.actor(Role.ADMIN)
    accountant = sales.actor(Role.ACCOUNTANT)
    marketing = sales.actor(Role.MARKETING)
    customer_id = await traditional(sales, seller)
    _, opportunity_id = await qualified_lead(sales, seller)
    pending = await act(
        sales, seller, await new_quote(sales, seller, customer_id, lines(catalogue)), "submit"
    )
    await credit_check(sales, pending)
    ordered = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, ordered, "send")
    await act(sales, seller, ordered, "accept")
    [order] = await orders_of(sales, seller, customer_id)
    q, o = pending["id"], order["id"]
    line = lines(catalogue)

    # (method, path, body) -> expected status per role; 404 hides others' records.
    table: list[tuple[str, str, Any, dict[str, int]]] = [
        ("GET", f"/api/quotes/{q}", None, {"seller": 200, "other": 404, "accountant": 200, "marketing": 200}),
        ("PATCH", f"/api/quotes/{q}", {"note": "x"}, {"other": 404, "accountant": 403, "marketing": 403}),
        ("POST", f"/api/quotes/{q}/submit", None, {"other": 404, "accountant": 403, "marketing": 403}),
        ("POST", f"/api/quotes/{q}/copy", None, {"other": 404, "accountant": 403}),
        (
            "POST",
            f"/api/quotes/{q}/approve",
            {},
            {"seller": 403, "other": 403, "accountant": 403, "marketing": 403},
        ),
        ("POST", f"/api/quotes/{q}/reject", {"reason": "x"}, {"seller": 403, "accountant": 403}),
        ("POST", f"/api/quotes/{q}/send", None, {"other": 404, "marketing": 403}),
        ("POST", f"/api/quotes/{q}/accept", None, {"other": 404, "accountant": 403}),
        (
            "POST",
            "/api/quotes",
            {"customer_id": str(customer_id), "lines": line},
            {"other": 422, "accountant": 403, "marketing": 403},
        ),
        (
            "GET",
            f"/api/orders/{o}",
            None,
            {"seller": 200, "other": 404, "accountant": 200, "marketing": 200, "admin": 200},
        ),
        (
            "POST",
            f"/api/orders/{o}/contract",
            {"starts_on": "2026-01-01", "ends_on": "2026-12-31", "terms": "x"},
            {"other": 404, "accountant": 403},
        ),
        (
            "GET",
            f"/api/opportunities/{opportunity_id}",
            None,
            {"seller": 200, "other": 404, "manager": 200, "accountant": 403, "marketing": 403},
        ),
        (
            "POST",
            f"/api/opportunities/{opportunity_id}/stage",
            {"stage": "proposal"},
            {"other": 404, "marketing": 403},
        ),
        (
            "GET",
            f"/api/sales/customers/{customer_id}",
            None,
            {"seller": 200, "other": 404, "accountant": 200},
        ),
        (
            "POST",
            "/api/products",
            {"code": "Z", "name": "z", "product_group": "g", "unit_price": 1},
            {"seller": 403, "accountant": 403, "marketing": 403},
        ),
        (
            "PATCH",
            f"/api/products/{catalogue['pump']['code']}",
            {"name": "x"},
            {"seller": 403, "marketing": 403},
        ),
        ("GET", "/api/products", None, {"seller": 200, "accountant": 200, "marketing": 200}),
        ("PUT", "/api/approval-rules", {"mode": "all"}, {"seller": 403, "accountant": 403, "marketing": 403}),
        ("GET", "/api/approval-rules", None, {"seller": 200}),
        ("GET", "/api/performance?period=2026", None, {"seller": 200, "marketing": 403, "accountant": 403}),
        ("GET", f"/api/portfolio/{seller.id}", None, {"seller": 403, "manager": 200, "admin": 200}),
    ]
    actors = {
        "seller": seller,
        "other": other,
        "manager": manager,
        "admin": admin,
        "accountant": accountant,
        "marketing": marketing,
    }
    failures = []
    for method, path, body, expected in table:
        for name, status in expected.items():
            kwargs: dict[str, Any] = {"headers": actors[name].headers}
            if body is not None:
                kwargs["json"] = body
            response = await sales.http.request(method, path, **kwargs)
            if response.status_code != status:
                failures.append(
                    f"{name} {method} {path}: {response.status_code} (wanted {status}) {response.text[:120]}"
                )
        anonymous = await sales.http.request(method, path, json=body)
        if anonymous.status_code != 401:
            failures.append(f"anonymous {method} {path}: {anonymous.status_code}")
    assert not failures, "\n".join(failures)

    # Nothing above changed the pending quote or the order.
    still = await get_quote(sales, seller, pending)
    assert (still["status"], still["note"], still["submission"]) == ("pending_approval", None, 1)
    # An admin may approve (the manager's right), and lists scope per role.
    assert (await act(sales, admin, pending, "approve"))["approved_by"] == str(admin.id)
    mine = (await sales.http.get("/api/quotes", headers=other.headers)).json()
    assert mine["total"] == 0
    theirs = (
        await sales.http.get(
            "/api/orders", headers=accountant.headers, params={"customer_id": str(customer_id)}
        )
    ).json()
    assert [x["id"] for x in theirs["items"]] == [o]
    assert (
        await sales.http.get("/api/orders", headers=other.headers, params={"customer_id": str(customer_id)})
    ).json()["total"] == 0


async def test_acceptance_racing_the_promotion_places_exactly_one_order_each(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    """Accept and promote at the same moment, many times: whichever commits first, the
    other sees it (both lock the customer first), so no order is lost or doubled."""
    customers = [await prospect(sales, seller) for _ in range(8)]
    quotes = []
    for customer_id in customers:
        quote = await approved_quote(sales, seller, manager, customer_id, lines(catalogue, 1, 1))
        quotes.append(await act(sales, seller, quote, "send"))

    async def accept(quote: dict[str, Any]) -> None:
        await act(sales, seller, quote, "accept")

    async def promote_now(customer_id: uuid.UUID) -> uuid.UUID:
        return await sales.publish(
            CustomerPromotedToTraditional(
                customer_id=customer_id, name="x", owner_id=seller.id, promoted_at=datetime.now(UTC)
            )
        )

    results = await asyncio.gather(*(accept(q) for q in quotes), *(promote_now(c) for c in customers))
    for event_id in results[len(quotes) :]:
        assert isinstance(event_id, uuid.UUID)
        await sales.handled(event_id)
    for customer_id, quote in zip(customers, quotes, strict=True):
        orders = await orders_of(sales, seller, customer_id)
        assert [o["quote_id"] for o in orders] == [quote["id"]]
        assert len(await sales.emitted("sales.order.placed.v1", quote_id=quote["id"])) == 1


async def test_a_burst_of_promotions_handled_together_has_the_effect_of_one_by_one(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    """Promotions arriving together are handled set-based (`open_customers`): the same
    customer promoted twice in one burst keeps the newest owner whatever the order, each
    waiting quote gets one order, and each order is caused by its own promotion."""
    waiting = await prospect(sales, seller)
    quote = await approved_quote(sales, seller, manager, waiting, lines(catalogue, 1, 1))
    await act(sales, seller, await act(sales, seller, quote, "send"), "accept")
    twice = await prospect(sales, seller)
    others = [uuid.uuid4() for _ in range(40)]
    now = datetime.now(UTC)

    def promotion(customer_id: uuid.UUID, owner: Actor, at: datetime) -> CustomerPromotedToTraditional:
        return CustomerPromotedToTraditional(
            customer_id=customer_id, name=f"KH {customer_id.hex[:6]}", owner_id=owner.id, promoted_at=at
        )

    burst = [promotion(c, seller, now) for c in others[:20]]
    # The newer promotion first, the older one (another owner) after it, in the same burst.
    burst += [promotion(twice, manager, now + timedelta(seconds=1)), promotion(twice, seller, now)]
    burst += [promotion(waiting, seller, now)] + [promotion(c, seller, now) for c in others[20:]]
    event_ids = await asyncio.gather(*(sales.publish(event) for event in burst))
    for event_id in event_ids:
        await sales.handled(event_id)

    opened = await sales.scalar(
        "SELECT count(*) FROM sales_customers WHERE id = ANY(:ids) AND lifecycle_stage = 'traditional'",
        ids=[*others, twice, waiting],
    )
    assert opened == len(others) + 2
    assert await sales.scalar("SELECT owner_id FROM sales_customers WHERE id = :id", id=twice) == manager.id
    orders = await orders_of(sales, seller, waiting)
    assert [o["quote_id"] for o in orders] == [quote["id"]]
    [placed] = await sales.emitted("sales.order.placed.v1", quote_id=quote["id"])
    assert placed["causation_id"] == str(event_ids[burst.index(promotion(waiting, seller, now))])
    # More than one promotion went through a transaction: the burst was handled in batches.
    assert await sales.scalar(
        "SELECT count(DISTINCT received_at) FROM inbox WHERE event_id = ANY(:ids)", ids=event_ids
    ) < len(event_ids)


async def test_a_burst_of_registrations_handled_together_has_the_effect_of_one_by_one(
    sales: Sales, seller: Actor, manager: Actor
) -> None:
    """Registrations arriving together (an import sends thousands) are handled set-based
    (`register_customers`): each prospect is quotable and counted gained once for its owner,
    a traditional one is open for ordering and not counted as a prospect, and one registered
    twice in the burst (a redelivery with a new id) is one customer, one fact."""
    prospects = [uuid.uuid4() for _ in range(30)]
    traditional, twice = uuid.uuid4(), uuid.uuid4()

    def registration(customer_id: uuid.UUID, stage: str = "prospect") -> CustomerRegistered:
        return CustomerRegistered(
            customer_id=customer_id,
            name=f"Nhập khẩu {customer_id.hex[:6]}",
            lifecycle_stage=stage,
            owner_id=seller.id,
            region_code="79",
        )

    burst = [registration(c) for c in prospects[:15]] + [registration(twice), registration(twice)]
    burst += [registration(traditional, "traditional")] + [registration(c) for c in prospects[15:]]
    event_ids = await asyncio.gather(*(sales.publish(event) for event in burst))
    for event_id in event_ids:
        await sales.handled(event_id)

    stages = dict(
        await sales.rows(
            "SELECT id, lifecycle_stage FROM sales_customers WHERE id = ANY(:ids)",
            ids=[*prospects, twice, traditional],
        )
    )
    assert stages == {**{c: "prospect" for c in [*prospects, twice]}, traditional: "traditional"}
    assert (
        await sales.scalar(
            "SELECT count(*) FROM sales_customers WHERE id = :id AND opened_at IS NOT NULL", id=traditional
        )
        == 1
    )
    gained = await sales.rows(
        "SELECT subject_id, owner_id FROM performance_facts WHERE kind = 'prospect_gained'"
        " AND subject_id = ANY(:ids)",
        ids=[*prospects, twice, traditional],
    )
    assert sorted(subject for subject, _ in gained) == sorted([*prospects, twice])
    assert {owner for _, owner in gained} == {seller.id}
    # More than one registration went through a transaction: the burst was handled in batches.
    assert await sales.scalar(
        "SELECT count(DISTINCT received_at) FROM inbox WHERE event_id = ANY(:ids)", ids=event_ids
    ) < len(event_ids)
