"""Object-level and function-level authorization, through the gateway and on each
service directly: a salesperson gets 403 or 404 on another's records (by GET, PATCH and
actions) and their lists never show them; a manager sees them; only the roles a rule
names may approve, set credit limits or offboard."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from ..harness import report_line
from .conftest import World

pytestmark = [pytest.mark.e2e, pytest.mark.security]

REFUSED = (403, 404)


def requests_on_a_records(w: World) -> list[tuple[str, str, str, dict | None]]:
    """(service, method, path, body) for everything B might try on A's records; bodies
    are valid, so only authorization can refuse them."""
    due = (date.today() + timedelta(days=3)).isoformat()
    return [
        ("leads", "GET", f"/api/leads/{w.lead_id}", None),
        ("leads", "GET", f"/api/leads/{w.lead_id}/history", None),
        ("leads", "PATCH", f"/api/leads/{w.lead_id}", {"company": "Công ty của B"}),
        ("leads", "POST", f"/api/leads/{w.lead_id}/contact", {}),
        ("leads", "POST", f"/api/leads/{w.lead_id}/convert", {}),
        ("customers", "GET", f"/api/customers/{w.customer_id}", None),
        ("customers", "GET", f"/api/customers/{w.customer_id}/timeline", None),
        ("customers", "PATCH", f"/api/customers/{w.customer_id}", {"contact_name": "B đã sửa"}),
        ("customers", "POST", f"/api/customers/{w.customer_id}/promote", None),
        ("customers", "POST", f"/api/customers/{w.customer_id}/activities", {"kind": "call", "due_on": due}),
        ("customers", "GET", f"/api/customers/{w.customer_id}/activities", None),
        ("customers", "GET", f"/api/customers/{w.customer_id}/contacts", None),
        ("customers", "POST", f"/api/customers/{w.customer_id}/contacts", {"name": "Người của B"}),
        ("sales", "GET", f"/api/quotes/{w.draft_quote_id}", None),
        ("sales", "GET", f"/api/quotes/{w.draft_quote_id}/history", None),
        ("sales", "PATCH", f"/api/quotes/{w.draft_quote_id}", {"note": "B đã sửa"}),
        ("sales", "POST", f"/api/quotes/{w.draft_quote_id}/submit", None),
        ("sales", "POST", f"/api/quotes/{w.draft_quote_id}/copy", None),
        ("sales", "POST", f"/api/quotes/{w.draft_quote_id}/decline", None),
        ("sales", "GET", f"/api/quotes/{w.quote_id}", None),
        ("sales", "GET", f"/api/orders/{w.order_id}", None),
        (
            "sales",
            "POST",
            f"/api/orders/{w.order_id}/contract",
            {"starts_on": date.today().isoformat(), "ends_on": due, "terms": "B's terms"},
        ),
        ("sales", "GET", f"/api/sales/customers/{w.ordering_customer_id}", None),
        ("accounting", "GET", f"/api/accounts/{w.ordering_customer_id}", None),
        ("accounting", "GET", f"/api/invoices/{w.invoice_id}", None),
    ]


async def snapshot(w: World) -> list[object]:
    """A's records as A sees them."""
    paths = [
        f"/api/leads/{w.lead_id}",
        f"/api/customers/{w.customer_id}",
        f"/api/customers/{w.customer_id}/contacts",
        f"/api/quotes/{w.draft_quote_id}",
        f"/api/orders/{w.order_id}",
        f"/api/accounts/{w.ordering_customer_id}",
        f"/api/invoices/{w.invoice_id}",
    ]
    found = []
    for path in paths:
        response = await w.a.client.get(path)
        assert response.status_code == 200, (path, response.text)
        found.append(response.json())
    return found


@pytest.mark.parametrize("route", ["gateway", "service"])
async def test_a_salesperson_cannot_read_change_or_act_on_anothers_records(stack, world, route):
    before = await snapshot(world)
    answers = {}
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {world.b.token}"}) as client:
        for service, method, path, body in requests_on_a_records(world):
            base = stack.url("gateway" if route == "gateway" else service)
            response = await client.request(method, base + path, json=body)
            answers[f"{method} {path}"] = response.status_code
    refused = {k: v for k, v in answers.items() if v in REFUSED}
    report_line(
        f"[object-level via {route}] {len(refused)}/{len(answers)} of B's tries on A's records refused"
    )
    assert refused == answers, {k: v for k, v in answers.items() if v not in REFUSED}
    assert await snapshot(world) == before, "B's attempts changed A's records"


async def test_lists_show_a_salesperson_only_their_own_and_a_manager_everything(world):
    w = world
    lists = [
        ("/api/leads", {"limit": 200}, w.lead_id),
        ("/api/customers", {"limit": 200}, w.customer_id),
        ("/api/quotes", {"customer_id": w.ordering_customer_id}, w.quote_id),
        ("/api/orders", {"customer_id": w.ordering_customer_id}, w.order_id),
        ("/api/invoices", {"customer_id": w.ordering_customer_id}, w.invoice_id),
        ("/api/accounts", {"limit": 200}, w.ordering_customer_id),
    ]
    for path, params, wanted in lists:
        seen = {}
        for who, api in (("A", w.a), ("B", w.b), ("manager", w.manager)):
            response = await api.client.get(path, params=params)
            assert response.status_code == 200, (who, path, response.text)
            items = response.json()["items"]
            seen[who] = wanted in {str(i.get("id") or i.get("customer_id")) for i in items}
            if who == "B":
                owners = {i.get("owner_id") for i in items} - {None}
                assert owners <= {str(w.b.user_id)}, (path, owners)
        assert seen == {"A": True, "B": False, "manager": True}, (path, seen)


@pytest.mark.parametrize("route", ["gateway", "service"])
async def test_functions_a_salesperson_may_not_call_are_403(stack, world, route):
    w = world
    calls = [
        ("sales", "POST", f"/api/quotes/{w.draft_quote_id}/approve", {}),
        ("sales", "POST", f"/api/quotes/{w.draft_quote_id}/reject", {"reason": "không"}),
        (
            "sales",
            "POST",
            "/api/products",
            {"code": "X-1", "name": "X", "product_group": "x", "unit_price": 1},
        ),
        ("accounting", "PATCH", f"/api/accounts/{w.ordering_customer_id}", {"credit_limit": 1}),
        ("gateway", "POST", f"/api/users/{w.b.user_id}/offboard", {"reassign_to": str(w.a.user_id)}),
        (
            "gateway",
            "POST",
            "/api/users",
            {"username": "x", "password": "y" * 12, "full_name": "x", "role": "admin"},
        ),
        ("customers", "POST", "/api/questionnaires", {"name": "x"}),
        # Merging is for managers, even of two customers of one's own.
        (
            "customers",
            "POST",
            f"/api/customers/{w.customer_id}/merge",
            {"duplicate_id": str(w.ordering_customer_id)},
        ),
    ]
    answers = {}
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {w.a.token}"}) as client:
        for service, method, path, body in calls:
            base = stack.url("gateway" if route == "gateway" else service)
            answers[f"{method} {path}"] = (await client.request(method, base + path, json=body)).status_code
    assert set(answers.values()) == {403}, answers
    account = (await w.a.client.get(f"/api/accounts/{w.ordering_customer_id}")).json()
    assert account["credit_limit"] != 1
    assert (await w.manager.client.get(f"/api/users/{w.b.user_id}")).json()["active"] is True


async def test_roles_that_do_not_sell_cannot_create_customers_or_read_leads(new_user):
    from crm_kit.auth import Role

    accountant = await new_user(Role.ACCOUNTANT)
    assert (
        await accountant.client.post("/api/customers", json={"confirm_duplicate": True, "name": "X"})
    ).status_code == 403
    assert (await accountant.client.get("/api/leads")).status_code == 403
    marketing = await new_user(Role.MARKETING)
    assert (await marketing.client.get("/api/invoices")).status_code == 403
