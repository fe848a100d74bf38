"""Credit limits (accounting): the accounts with each one's grade, limit and where it came
from (the policy, or set by hand), an account's page to set its limit with a reason and
read its history, and the credit policy's editor (a limit per grade and channel kind, cash
only, the fallback) with the button that applies it to the accounts that follow it.

Accountants and admins change; sales managers read (the API says so too; this only hides
the forms)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, history, marketing
from .core import UiDep

router = APIRouter(prefix="/credit-limits")

BOOKKEEPERS = (Role.ACCOUNTANT, Role.ADMIN)
PAGE = 50
#: Blank rules the editor offers below the policy's own.
BLANK_RULES = 3
RULE_FIELDS = ("grade", "channel_kind", "credit_limit", "cash_only")


def _rules_values(rules: list[dict[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, rule in enumerate(rules):
        values[f"rules.{i}.grade"] = rule.get("grade") or ""
        values[f"rules.{i}.channel_kind"] = rule.get("channel_kind") or ""
        values[f"rules.{i}.credit_limit"] = "" if rule.get("cash_only") else str(rule.get("credit_limit", ""))
        values[f"rules.{i}.cash_only"] = "1" if rule.get("cash_only") else ""
    return values


async def _page(
    ui: core.Ui,
    offset: int = 0,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
    applied: int | None = None,
) -> Response:
    accounts, policy = await core.gather(
        ui.api.get("/api/accounts", limit=PAGE, offset=offset), ui.api.get("/api/credit-policy")
    )
    if not accounts.ok and accounts.status == 403:
        return ui.render("error.html", status_code=403, message=ui.t("errors.forbidden"))
    page = accounts.data if accounts.ok else {"items": [], "total": 0}
    rules = policy.data["rules"] if policy.ok else []
    rows = len(rules) + BLANK_RULES
    if values is not None:
        rows = max(
            rows, 1 + max((int(m) for m in re.findall(r"rules\.(\d+)\.", " ".join(values))), default=-1)
        )
    return ui.render(
        "accounting/credit_limits.html",
        status_code=status_code,
        accounts=page["items"],
        total=page["total"],
        offset=offset,
        policy=policy.data if policy.ok else None,
        rows=rows,
        kinds=marketing.CHANNEL_KINDS,
        values=values if values is not None else _rules_values(rules),
        may_change=ui.is_(*BOOKKEEPERS),
        problems=problems or core.Problems(),
        applied=applied,
    )


@router.get("")
async def credit_limits(ui: UiDep, offset: int = 0, applied: int | None = None) -> Response:
    return await _page(ui, max(offset, 0), applied=applied)


@router.post("/policy")
async def save_policy(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    indexes = sorted({int(m) for m in re.findall(r"rules\.(\d+)\.", " ".join(values))})
    body_rules: list[dict[str, Any]] = []
    #: The form's row of each rule sent (blank rows are left out), to put errors back on it.
    row_of: list[int] = []
    for i in indexes:
        grade = values.get(f"rules.{i}.grade", "").strip()
        kind = values.get(f"rules.{i}.channel_kind", "")
        limit = core.typed_dong(values.get(f"rules.{i}.credit_limit", ""))
        cash_only = values.get(f"rules.{i}.cash_only") == "1"
        if not (grade or kind or limit or cash_only):
            continue
        rule: dict[str, Any] = {"grade": grade or None, "channel_kind": kind or None, "cash_only": cash_only}
        if limit:
            rule["credit_limit"] = int(limit) if limit.isdigit() else limit
        body_rules.append(rule)
        row_of.append(i)
    result = await ui.api.call("PUT", "/api/credit-policy", json_body={"rules": body_rules})
    if result.ok:
        return ui.redirect("/credit-limits#policy", flash="flash.saved")
    problems = core.problems_of(ui, result, ("rules",))
    fields: dict[str, str] = {}
    for name, message in problems.fields.items():
        parts = name.split(".")
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(row_of):
            parts[1] = str(row_of[int(parts[1])])
            # A rule's own problem (no limit, a duplicate scope) is shown at its grade.
            fields.setdefault(".".join(parts) if len(parts) > 2 else f"rules.{parts[1]}.grade", message)
        else:
            problems.general.append(message)
    problems.fields = fields
    return await _page(ui, values=values, problems=problems, status_code=result.status)


@router.post("/apply")
async def apply_policy(ui: UiDep) -> Response:
    result = await ui.api.post("/api/credit-policy/apply")
    if result.ok:
        return ui.redirect(f"/credit-limits?applied={int(result.data['changed'])}")
    return await _page(ui, problems=core.problems_of(ui, result), status_code=result.status)


# -- one account ---------------------------------------------------------------------------


async def _account_page(
    ui: core.Ui,
    customer_id: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    found, trail, names = await core.gather(
        ui.api.get(f"/api/accounts/{customer_id}"),
        history.trail(ui, f"/api/accounts/{customer_id}/audit"),
        core.staff_names(ui),
    )
    if not found.ok:
        status = found.status if found.status in (403, 404) else 404
        return ui.render("error.html", status_code=status, message=ui.t("errors.not_found"))
    account = found.data
    return ui.render(
        "accounting/credit_limit.html",
        status_code=status_code,
        account=account,
        history_entries=history.describe(ui, trail[0], names) if trail else None,
        history_total=trail[1] if trail else 0,
        may_change=ui.is_(*BOOKKEEPERS),
        values=values or {"credit_limit": str(account["credit_limit"])},
        problems=problems or core.Problems(),
    )


@router.get("/{customer_id}")
async def account_page(customer_id: str, ui: UiDep) -> Response:
    return await _account_page(ui, customer_id)


@router.post("/{customer_id}")
async def set_limit(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = {"reason": values.get("reason", "").strip() or None}
    if values.get("op") != "follow_policy" and body["reason"] is None:
        # The API keeps a limit without a reason; a person changing one by hand says why.
        problems = core.Problems({"reason": ui.t("credit.reason_required")})
        return await _account_page(ui, customer_id, values, problems, status_code=422)
    if values.get("op") == "follow_policy":
        body["follow_policy"] = True
    else:
        limit = core.typed_dong(values.get("credit_limit", ""))
        body["credit_limit"] = int(limit) if limit.isdigit() else (limit or None)
    result = await ui.api.call("PATCH", f"/api/accounts/{customer_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/credit-limits/{customer_id}#history", flash="flash.saved")
    problems = core.problems_of(ui, result, ("credit_limit", "reason"))
    return await _account_page(ui, customer_id, values, problems, status_code=result.status)
