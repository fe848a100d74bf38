"""The Credit limits pages and the History sections, as a browser gets them: accounting and
marketing played by a stand-in, so what is checked is what the page sends to the API and
what it makes of the answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import money, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

CUSTOMER = str(uuid.uuid4())
CHANNEL = str(uuid.uuid4())


def account(**overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": CUSTOMER,
        "customer_name": "Công ty Hòa Bình",
        "owner_id": None,
        "currency": "VND",
        "credit_limit": 500_000_000,
        "credit_limit_source": "policy",
        "cash_only": False,
        "grade": "A",
        "balance": 12_000_000,
        "opened_at": "2026-12-01T02:00:00Z",
        "updated_at": "2026-12-01T02:00:00Z",
        "open_receivables": 12_000_000,
        **overrides,
    }


POLICY = {
    "rules": [
        {"grade": "A", "channel_kind": None, "credit_limit": 500_000_000, "cash_only": False},
        {"grade": None, "channel_kind": "online", "credit_limit": 0, "cash_only": True},
        {"grade": None, "channel_kind": None, "credit_limit": 20_000_000, "cash_only": False},
    ],
    "default_credit_limit": 50_000_000,
    "updated_at": None,
    "updated_by": None,
}


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    pages.upstream.answer(
        "GET",
        "/api/accounts",
        page(
            [
                account(),
                account(
                    customer_id=str(uuid.uuid4()),
                    customer_name="Cửa hàng Online",
                    cash_only=True,
                    credit_limit=0,
                    grade=None,
                ),
            ]
        ),
    )
    pages.upstream.answer("GET", "/api/credit-policy", POLICY)
    return pages


async def test_the_list_shows_each_accounts_limit_and_source_and_the_policy(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    answer = await accountant.get("/credit-limits")
    assert answer.status_code == 200, answer.text
    html = Html(answer.text)
    [row] = html.all("tr", data_customer_id=CUSTOMER)
    assert "Công ty Hòa Bình" in row.text and money("en", 500_000_000) in row.text
    assert translate("en", "credit.source.policy") in row.text
    assert translate("en", "credit.cash_only") in html.by_id("h-accounts").text or any(
        translate("en", "credit.cash_only") in r.text for r in html.all("tr", data_customer_id="")
    )
    assert html.by_id("rules-0-grade")["value"] == "A"
    assert html.by_id("rules-1-cash_only").get("checked") is not None
    nav = [a.text for a in html.all("a") if a.get("href") == "/credit-limits"]
    assert translate("en", "nav.credit_limits") in nav


async def test_a_policy_is_sent_without_blank_rows_and_a_refusal_shown_at_its_row(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="vi")
    stand_in.upstream.answer(
        "PUT",
        "/api/credit-policy",
        {
            "detail": [
                {
                    "loc": ["body", "rules", 1],
                    "msg": "rule 1 has the scope of rule 0",
                    "type": "credit_policy.scope_repeated",
                    "ctx": {"rule": 1, "other_rule": 0, "grade": "B", "channel_kind": ""},
                }
            ]
        },
        status=422,
    )
    form = {
        "rules.0.grade": "B",
        "rules.0.channel_kind": "",
        "rules.0.credit_limit": "30.000.000",
        "rules.1.grade": "",
        "rules.1.channel_kind": "",
        "rules.1.credit_limit": "",
        "rules.2.grade": "B",
        "rules.2.channel_kind": "",
        "rules.2.credit_limit": "1",
    }
    answer = await accountant.post("/credit-limits/policy", form)
    assert answer.status_code == 422
    body = stand_in.upstream.last("PUT", "/api/credit-policy").body
    assert body == {
        "rules": [
            {"grade": "B", "channel_kind": None, "cash_only": False, "credit_limit": 30_000_000},
            {"grade": "B", "channel_kind": None, "cash_only": False, "credit_limit": 1},
        ]
    }
    html = Html(answer.text)
    # The second rule sent is the form's third row.
    assert translate("vi", "problem.credit_policy.scope_repeated") in html.by_id("rules-2-error").text
    assert html.by_id("rules-2-grade")["value"] == "B"


async def test_applying_the_policy_says_how_many_changed(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    stand_in.upstream.answer("POST", "/api/credit-policy/apply", {"changed": 7})
    answer = await accountant.post("/credit-limits/apply", {})
    assert answer.status_code == 303
    shown = await accountant.get(answer.headers["location"].split("?")[0], applied="7")
    assert (
        translate("en", "credit.applied", count=7)
        in Html(shown.text).all(data_testid="policy-applied")[0].text
    )


async def test_a_limit_set_by_hand_needs_a_reason_and_the_history_says_who_and_what(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    stand_in.upstream.answer("GET", f"/api/accounts/{CUSTOMER}", account())
    stand_in.upstream.answer(
        "GET",
        f"/api/accounts/{CUSTOMER}/audit",
        page(
            [
                {
                    "id": 2,
                    "entity": "account",
                    "entity_id": CUSTOMER,
                    "action": "manual",
                    "actor_id": str(uuid.uuid4()),
                    "actor_name": "Nguyễn Thị Kế Toán",
                    "at": "2026-12-03T02:30:00Z",
                    "before": {"credit_limit": 20_000_000, "credit_limit_source": "policy"},
                    "after": {"credit_limit": 75_000_000, "credit_limit_source": "manual"},
                    "reason": "bank guarantee",
                }
            ]
        ),
    )
    refused = await accountant.post(f"/credit-limits/{CUSTOMER}", {"op": "set", "credit_limit": "75.000.000"})
    assert refused.status_code == 422
    assert not stand_in.upstream.calls("PATCH", f"/api/accounts/{CUSTOMER}")
    assert translate("en", "credit.reason_required") in Html(refused.text).by_id("reason-error").text

    stand_in.upstream.answer("PATCH", f"/api/accounts/{CUSTOMER}", account(credit_limit_source="manual"))
    saved = await accountant.post(
        f"/credit-limits/{CUSTOMER}", {"op": "set", "credit_limit": "75.000.000", "reason": "bank guarantee"}
    )
    assert saved.status_code == 303
    assert stand_in.upstream.last("PATCH", f"/api/accounts/{CUSTOMER}").body == {
        "reason": "bank guarantee",
        "credit_limit": 75_000_000,
    }

    html = Html((await accountant.get(f"/credit-limits/{CUSTOMER}")).text)
    [entry] = html.all("table", data_testid="credit-limit-history")[0:1]
    text = entry.text
    assert "Nguyễn Thị Kế Toán" in text
    assert translate("en", "audit.action.manual") in text
    assert f"{money('en', 20_000_000)} → {money('en', 75_000_000)}" in text
    assert f"{translate('en', 'audit.value.policy')} → {translate('en', 'audit.value.manual')}" in text
    assert "bank guarantee" in text
    # 02:30 UTC is 09:30 in Vietnam.
    assert "09:30" in text


async def test_a_sales_manager_reads_but_gets_no_forms(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", f"/api/accounts/{CUSTOMER}", account())
    stand_in.upstream.answer("GET", f"/api/accounts/{CUSTOMER}/audit", page([]))
    html = Html((await manager.get(f"/credit-limits/{CUSTOMER}")).text)
    assert not html.has_id("set-limit")
    assert not Html((await manager.get("/credit-limits")).text).has_id("rules-0-grade")


async def test_a_channels_history_names_the_provinces_and_salespeople(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="vi")
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer(
        "GET",
        f"/api/channels/{CHANNEL}",
        {
            "id": CHANNEL,
            "name": "Đại lý Hà Đông",
            "kind": "dealer",
            "parent_id": None,
            "active": True,
            "region_codes": ["01"],
            "assignments": [],
            "created_at": "2026-12-01T02:00:00Z",
            "updated_at": "2026-12-01T02:00:00Z",
        },
    )
    stand_in.upstream.answer("GET", "/api/channels", page([]))
    stand_in.upstream.answer(
        "GET",
        f"/api/channels/{CHANNEL}/audit",
        page(
            [
                {
                    "id": 3,
                    "entity": "channel",
                    "entity_id": CHANNEL,
                    "action": "assignments_set",
                    "actor_id": None,
                    "actor_name": "Trần Quản Lý",
                    "at": "2026-12-03T02:30:00Z",
                    "before": {"assignments": {}},
                    "after": {"assignments": {"01": [seller.id]}},
                    "reason": None,
                },
                {
                    "id": 2,
                    "entity": "channel",
                    "entity_id": CHANNEL,
                    "action": "coverage_set",
                    "actor_id": None,
                    "actor_name": "Trần Quản Lý",
                    "at": "2026-12-03T02:00:00Z",
                    "before": {"region_codes": []},
                    "after": {"region_codes": ["01"]},
                    "reason": None,
                },
            ]
        ),
    )
    answer = await manager.get(f"/marketing/channels/{CHANNEL}")
    assert answer.status_code == 200, answer.text
    rows = Html(answer.text).all("table", data_testid="history")[0].text
    assert translate("vi", "audit.action.coverage_set") in rows
    assert translate("vi", "audit.action.assignments_set") in rows
    assert "Hà Nội" in rows  # the province named, not its code
    assert f"Người {seller.user['username']}" in rows  # the salesperson named, not their id
    assert seller.id not in rows
