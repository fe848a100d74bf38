"""Setting many targets at once: importing them from a CSV or .xlsx file (the per-row
report, each problem in the user's words), and proposing them from the market (each
province's market volume times the share the planner aims for: shown first, then
accepted as targets).

Both live under /targets, so `install` adds this router before the targets one, whose
/targets/{target_id} would otherwise take "import" and "proposals" for ids. Marketing
users, sales managers and admins use them (the API says so too; this only hides forms).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from . import core, plan_imports, targets
from .core import UiDep

router = APIRouter(prefix="/targets")

IMPORT_COLUMNS = ("period", "region_code", "amount", "channel_id", "salesperson", "product_group")
PROPOSAL_FIELDS = ("period", "share", "region_codes", "product_group", "channel_id")

# -- importing ------------------------------------------------------------------------------

IMPORT = plan_imports.PlanImport("targets/import.html", "/api/targets/import", IMPORT_COLUMNS, limit_mb=2)


@router.get("/import")
async def import_page(ui: UiDep) -> Response:
    return IMPORT.page(ui, may_plan=targets.may_plan(ui))


@router.post("/import")
async def upload(ui: UiDep) -> Response:
    return await IMPORT.upload(ui, may_plan=targets.may_plan(ui))


# -- proposing ------------------------------------------------------------------------------


def share_of(typed: str) -> str:
    """The share typed as a percentage (`15`, `7,5`), as the API's fraction (`0.15`,
    `0.075`); what is not a number goes as typed, for the API to refuse."""
    text = typed.replace(",", ".").removesuffix("%").strip()
    try:
        return format((Decimal(text) / 100).normalize(), "f")
    except InvalidOperation:
        return typed


def proposal_body(values: dict[str, str], region_codes: list[str], accept: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        **core.blank_to_none(values, "period", "product_group", "channel_id"),
        "share": share_of(values.get("share", "")),
        "accept": accept,
    }
    body.setdefault("period", "")
    if region_codes:
        body["region_codes"] = region_codes
    return body


def proposal_problems(ui: core.Ui, result: core.ApiResult) -> core.Problems:
    """The refusal at the form's fields: the share in percent, the rules of targets."""
    problems = core.problems_of(ui, result, PROPOSAL_FIELDS)
    fields: dict[str, str] = {}
    for name, message in problems.fields.items():
        root = name.split(".")[0]
        if root == "share":
            message = ui.t("proposal.err.share")
        elif root == "region_codes":
            message = ui.t("target.err.region")
        elif root in ("period", "channel_id") and _a_rule(result, name):
            message = ui.t("target.err.period" if root == "period" else "target.err.channel")
        fields.setdefault(root, message)
    problems.fields = fields
    return problems


def _a_rule(result: core.ApiResult, name: str) -> bool:
    """Whether the API refused the field by one of its own rules (not its type)."""
    for item in result.detail if isinstance(result.detail, list) else []:
        loc = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path"))
        kind = str(item.get("type", ""))
        if loc == name and (kind.startswith("period.") or kind in ("target.channel_unknown", "uuid_parsing")):
            return True
    return False


async def _proposals_page(
    ui: core.Ui,
    values: dict[str, str],
    chosen: list[str],
    proposal: dict[str, Any] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    c = await targets.choices(ui)
    rows = []
    for row in (proposal or {}).get("rows", []):
        rows.append({**row, "region_name": c.regions.get(row["region_code"], row["region_name"])})
    return ui.render(
        "targets/proposals.html",
        status_code=status_code,
        values=values,
        chosen=chosen,
        proposal=proposal,
        rows=rows,
        proposed=sum(r["status"] == "proposed" for r in rows),
        c=c,
        may_plan=targets.may_plan(ui),
        problems=problems or core.Problems(),
    )


@router.get("/proposals")
async def proposals_page(ui: UiDep) -> Response:
    return await _proposals_page(ui, {"period": targets.this_year(ui)}, [])


@router.post("/proposals")
async def propose(ui: UiDep) -> Response:
    """`accept` absent: the proposals, shown; `accept=true`: written as targets."""
    form = await ui.request.form()
    values = core.form_values(form)
    chosen = [str(v) for v in form.getlist("region_codes") if v]
    accept = values.get("accept") == "true"
    result = await ui.api.post("/api/targets/proposals", proposal_body(values, chosen, accept))
    if not result.ok:
        problems = proposal_problems(ui, result)
        return await _proposals_page(ui, values, chosen, problems=problems, status_code=result.status)
    return await _proposals_page(ui, values, chosen, proposal=result.data)
