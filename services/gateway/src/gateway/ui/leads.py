"""Leads: the list with filters, the kanban board, capture (with the duplicate warning),
the lead's page with its actions, editing a lead, and the CSV import with its report."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from crm_kit.auth import Role

from . import core, i18n, regions
from .core import UiDep
from .problems import row_note

router = APIRouter(prefix="/leads")

STATUSES = ("new", "contacting", "evaluated", "converted", "closed")
#: The newest cards a kanban column shows (its count is the column's whole).
BOARD_CARDS = 50
SOURCES = ("internet", "press", "partner_referral", "trade_fair", "walk_in", "campaign", "other")
PLANNED_CHANNELS = ("call", "visit", "email", "meeting", "message")
OPEN_STATUSES = ("new", "contacting", "evaluated")
PLAN_KEYS = ("planned_contact_on", "planned_channel", "note")
#: What an edit may change (`PATCH /api/leads/{id}`), besides the approach plan.
EDITABLE = ("full_name", "company", "phone", "email", "region_code", "channel_id", "campaign_id")
EDIT_FIELDS = (*EDITABLE, *(f"approach_plan.{k}" for k in PLAN_KEYS))
CAPTURE_FIELDS = (
    "full_name",
    "company",
    "phone",
    "email",
    "source",
    "region_code",
    "campaign_id",
    "approach_plan.planned_contact_on",
    "approach_plan.planned_channel",
    "approach_plan.note",
)


@router.get("")
async def list_leads(
    ui: UiDep,
    status: list[str] = Query(default=[]),  # noqa: B008
    source: str | None = None,
    q: str | None = None,
    offset: int = 0,
    cursor: str | None = None,
) -> Response:
    params: list[tuple[str, Any]] = [("limit", 50), ("offset", max(offset, 0))]
    if cursor:  # the next page by keyset (`next_cursor` of the page before)
        params.append(("cursor", cursor))
    params += [("status", s) for s in status if s]
    if source:
        params.append(("source", source))
    if q:
        params.append(("q", q))
    result, people, names = await core.gather(
        ui.api.call("GET", "/api/leads", params=params), core.staff_names(ui), regions.names(ui)
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "leads/list.html",
        regions=names,
        leads=page["items"],
        total=page["total"],
        total_capped=page.get("total_capped", False),
        next_cursor=page.get("next_cursor"),
        offset=max(offset, 0),
        filters={"status": status, "source": source or "", "q": q or ""},
        statuses=STATUSES,
        sources=SOURCES,
        people=people,
        problems=None if result.ok else core.problems_of(ui, result),
    )


@router.get("/board")
async def board(ui: UiDep, refused: str | None = None, to: str | None = None) -> Response:
    """The kanban: each column's newest cards and its true count; a card offers only the
    moves its lead may make (the API's `next_statuses`). `refused`/`to`: a move without
    JavaScript that the API refused, said on the board in the user's words."""
    columns = await _columns(ui)
    message = await _refusal(ui, refused, to) if refused else None
    labels = {status: ui.t(f"status.{status}") for status in STATUSES}
    return ui.render("leads/board.html", columns=columns, board_error=message, status_labels=labels)


async def _columns(ui: core.Ui) -> list[dict[str, Any]]:
    pages = await core.gather(*(ui.api.get("/api/leads", status=s, limit=BOARD_CARDS) for s in STATUSES))
    return [
        {
            "status": status,
            "leads": page.data["items"] if page.ok else [],
            "total": page.data["total"] if page.ok else 0,
            "capped": bool(page.ok and page.data.get("total_capped")),
        }
        for status, page in zip(STATUSES, pages, strict=True)
    ]


async def _refusal(
    ui: core.Ui, lead_id: str, target: str | None, result: core.ApiResult | None = None
) -> str:
    """Why a lead cannot go to `target`, and where it can, in the user's language: a
    refusal that says on its own where to go instead by its code, else the board's own
    sentence, which names the lead and offers only the moves the board makes."""
    if result is not None and _code(result) in MOVE_REFUSALS:
        return core.problem_text(ui, result) or ui.t("errors.unavailable")
    lead = await ui.api.get(f"/api/leads/{lead_id}")
    if not lead.ok:
        return ui.t("errors.not_found")
    moves = lead.data.get("next_statuses", [])
    if result is not None and target in moves:
        problems = core.problems_of(ui, result)
        return "; ".join([*problems.general, *problems.fields.values()]) or ui.t("errors.unavailable")
    allowed = [ui.t(f"status.{s}") for s in moves]
    return ui.t(
        "lead.move_refused",
        name=lead.data["full_name"],
        to=ui.t(f"status.{target}") if target in STATUSES else str(target),
        allowed=", ".join(allowed) or ui.t("lead.no_moves"),
    )


#: The codes of a refused move that say on their own what to do instead. Not
#: `lead.move_not_allowed`: its `allowed` lists moves made elsewhere (merging), and the
#: board's sentence names the lead.
MOVE_REFUSALS = frozenset({"lead.move_not_promising"})


def _code(result: core.ApiResult) -> str | None:
    return result.data.get("code") if isinstance(result.data, dict) else None


#: A move on the board is the API action that leads there (closing needs a reason: the lead's page).
MOVES = {"contacting": ("contact", {}), "evaluated": ("evaluate", {"promising": True})}


@router.post("/{lead_id}/move")
async def move(lead_id: str, ui: UiDep) -> Response:
    form = await ui.request.form()
    target = str(form.get("to") or "")
    wants_json = "application/json" in ui.request.headers.get("accept", "")
    if target == "converted":
        result = await ui.api.post(f"/api/leads/{lead_id}/convert")
    elif target in MOVES:
        action, body = MOVES[target]
        result = await ui.api.post(f"/api/leads/{lead_id}/{action}", body)
    elif target == "closed":
        message = ui.t("lead.closed_needs_reason")
        if wants_json:
            return JSONResponse({"ok": False, "message": message, "redirect": f"/leads/{lead_id}#disqualify"})
        return ui.redirect(f"/leads/{lead_id}#disqualify")
    else:
        result = core.ApiResult(
            409,
            {
                "detail": f"cannot move a lead to {target!r}",
                "code": "lead.move_unknown_target",
                "params": {"to": target},
            },
        )
    if result.ok:
        if wants_json:
            moved = result.data if isinstance(result.data, dict) else {}
            answer = {"ok": True, "message": ui.t("lead.moved"), "status": target}
            return JSONResponse({**answer, "next": moved.get("next_statuses", [])})
        return ui.redirect("/leads/board", flash="flash.done")
    if wants_json:
        message = await _refusal(ui, lead_id, target, result)
        return JSONResponse({"ok": False, "message": message}, status_code=result.status)
    # Without JavaScript: back to the board (not this POST's URL), which says why.
    return ui.redirect(f"/leads/board?refused={quote(lead_id, safe='')}&to={quote(target, safe='')}")


# -- capture ---------------------------------------------------------------------------


async def _capture_page(
    ui: core.Ui,
    values: dict[str, str],
    problems: core.Problems | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    campaigns, groups = await core.gather(ui.api.get("/api/leads/campaigns"), regions.groups(ui))
    return ui.render(
        "leads/new.html",
        status_code=status_code,
        groups=groups,
        values=values,
        problems=problems or core.Problems(),
        duplicates=duplicates,
        sources=SOURCES,
        planned_channels=PLANNED_CHANNELS,
        campaigns=campaigns.data if campaigns.ok and isinstance(campaigns.data, list) else [],
    )


@router.get("/new")
async def capture_form(ui: UiDep) -> Response:
    return await _capture_page(ui, {"source": "trade_fair"})


@router.post("/new")
async def capture(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = core.blank_to_none(
        values, "full_name", "company", "phone", "email", "source", "region_code", "campaign_id"
    )
    body.setdefault("full_name", values.get("full_name", ""))
    plan = {
        key: values[f"approach_plan.{key}"]
        for key in ("planned_contact_on", "planned_channel", "note")
        if values.get(f"approach_plan.{key}")
    }
    if plan:
        body["approach_plan"] = plan
    if values.get("confirm_duplicate") == "1":
        body["confirm_duplicate"] = True
    result = await ui.api.post("/api/leads", body)
    if result.ok:
        return ui.redirect(f"/leads/{result.data['id']}", flash="flash.lead_created")
    detail = result.detail
    if result.status == 409 and isinstance(detail, dict) and "duplicates" in detail:
        return await _capture_page(ui, values, duplicates=detail["duplicates"], status_code=409)
    return await _capture_page(
        ui, values, core.problems_of(ui, result, CAPTURE_FIELDS), status_code=result.status
    )


# -- import ----------------------------------------------------------------------------


@router.get("/import")
async def import_form(ui: UiDep) -> Response:
    return ui.render("leads/import.html", report=None, problems=core.Problems())


@router.post("/import")
async def import_file(ui: UiDep) -> Response:
    form = await ui.request.form()
    part = await core.upload_part(form, "file")
    if part is None:
        problems = core.Problems(fields={"file": ui.t("err.missing")})
        return ui.render("leads/import.html", status_code=422, report=None, problems=problems)
    result = await ui.api.call("POST", "/api/leads/import", files={"file": part})
    if not result.ok:
        return ui.render(
            "leads/import.html",
            status_code=result.status,
            report=None,
            problems=core.problems_of(ui, result, ("file",)),
        )
    report = result.data
    for row in report.get("rejected", []):
        row["note"] = row_note(ui.lang, row)
    return ui.render("leads/import.html", report=report, problems=core.Problems())


# -- one lead --------------------------------------------------------------------------


async def _lead_page(
    ui: core.Ui,
    lead_id: str,
    problems: core.Problems | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if not core.is_uuid(lead_id):  # a mistyped address (/leads/campaigns is an API list)
        return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
    lead, history, reasons, names = await core.gather(
        ui.api.get(f"/api/leads/{lead_id}"),
        ui.api.items(f"/api/leads/{lead_id}/history", limit=100),
        ui.api.items("/api/leads/disqualify-reasons", active="true", limit=100),
        regions.names(ui),
    )
    if not lead.ok:
        return ui.render("error.html", status_code=lead.status, message=ui.t("errors.not_found"))
    channel_id, campaign_id = lead.data.get("channel_id"), lead.data.get("campaign_id")
    channel, campaign, existing = await core.gather(
        ui.api.get(f"/api/channels/{channel_id}") if channel_id else _nothing(),
        ui.api.get(f"/api/campaigns/{campaign_id}") if campaign_id else _nothing(),
        _existing_customers(ui, lead.data) if lead.data["status"] == "evaluated" else _none_found(),
    )
    people = await core.staff_names(ui)
    return ui.render(
        "leads/detail.html",
        status_code=status_code,
        lead=lead.data,
        channel_name=channel.data["name"] if channel and channel.ok else channel_id,
        campaign_name=campaign.data["name"] if campaign and campaign.ok else campaign_id,
        regions=names,
        history=[{**h, "text": describe_changes(ui, h.get("changes") or {}, names, people)} for h in history],
        reasons=reasons,
        existing_customers=existing,
        people=people,
        can_work=ui.is_(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN),
        problems=problems or core.Problems(),
        values=values or {},
    )


async def _nothing() -> None:
    return None


async def _none_found() -> list[dict[str, Any]]:
    return []


async def _existing_customers(ui: core.Ui, lead: dict[str, Any]) -> list[dict[str, Any]]:
    """Customers the lead may turn out to be (by its company, phone or name), to convert
    onto instead of making a second record of them."""
    terms = [t for t in (lead.get("phone"), lead.get("company"), lead.get("full_name")) if t]
    found = await core.gather(*(ui.api.items("/api/customers", q=term, limit=5) for term in terms))
    unique: dict[str, dict[str, Any]] = {}
    for page in found:
        for customer in page:
            if customer.get("lifecycle_stage") != "inactive":
                unique.setdefault(customer["id"], customer)
    return list(unique.values())[:10]


#: A history entry's fields, by the words the lead's page uses for them.
FIELD_LABELS = {
    "full_name": "lead.full_name",
    "company": "lead.company",
    "phone": "lead.phone",
    "email": "lead.email",
    "source": "lead.source",
    "region_code": "region",
    "status": "status",
    "planned_contact_on": "lead.planned_contact_on",
    "planned_channel": "lead.planned_channel",
    "plan_note": "lead.plan",
    "contact_note": "note",
    "evaluation_note": "note",
    "promising": "lead.promising",
    "disqualify_reason": "reason",
    "disqualify_note": "note",
}
#: Fields whose values are codes with words of their own.
VALUE_KEYS = {"status": "status.", "source": "source.", "planned_channel": "pchannel."}


def describe_changes(
    ui: core.Ui,
    changes: dict[str, Any],
    region_names: dict[str, str] | None = None,
    people: dict[str, str] | None = None,
) -> str:
    """`{field: [old, new]}` for a person: the field's label, values in words (provinces
    by name, owners by name), no ids."""
    parts = []
    for name, change in changes.items():
        if name == "owner_id" and people is not None:
            pair = change if isinstance(change, list) and len(change) == 2 else [None, change]
            moved = ["—" if v is None else people.get(str(v), ui.t("channel.someone")) for v in pair]
            parts.append(f"{ui.t('tfield.owner')}: {moved[0]} → {moved[1]}")
            continue
        if name not in FIELD_LABELS:
            continue  # ids (owner, channel, customer…) mean nothing on screen
        pair = change if isinstance(change, list) and len(change) == 2 else [None, change]
        if name == "region_code" and region_names:
            pair = [region_names.get(v, v) if isinstance(v, str) else v for v in pair]
        shown = [_value(ui, name, v) for v in pair]
        parts.append(f"{ui.t(FIELD_LABELS[name])}: {shown[0]} → {shown[1]}")
    return "; ".join(parts)


def _value(ui: core.Ui, name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return ui.t("yes") if value else ui.t("no")
    if name in VALUE_KEYS:
        return ui.t(f"{VALUE_KEYS[name]}{value}")
    if name == "planned_contact_on":
        return i18n.format_date(ui.lang, str(value))
    return str(value)


@router.get("/{lead_id}")
async def lead_page(lead_id: str, ui: UiDep) -> Response:
    return await _lead_page(ui, lead_id)


# -- editing a lead --------------------------------------------------------------------


def _lead_values(lead: dict[str, Any]) -> dict[str, str]:
    """The lead as the edit form's fields."""
    plan = lead.get("approach_plan") or {}
    return {name: str(lead.get(name) or "") for name in EDITABLE} | {
        f"approach_plan.{key}": str(plan.get(key) or "") for key in PLAN_KEYS
    }


async def _edit_page(
    ui: core.Ui,
    lead: dict[str, Any],
    values: dict[str, str],
    problems: core.Problems | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    campaigns, channels, groups = await core.gather(
        ui.api.get("/api/leads/campaigns"),
        ui.api.items("/api/channels", limit=200),
        regions.groups(ui),
    )
    return ui.render(
        "leads/edit.html",
        status_code=status_code,
        lead=lead,
        values=values,
        problems=problems or core.Problems(),
        duplicates=duplicates,
        planned_channels=PLANNED_CHANNELS,
        campaigns=campaigns.data if campaigns.ok and isinstance(campaigns.data, list) else [],
        channels=channels,
        groups=groups,
    )


@router.get("/{lead_id}/edit")
async def edit_form(lead_id: str, ui: UiDep) -> Response:
    lead = await ui.api.get(f"/api/leads/{lead_id}")
    if not lead.ok:
        return ui.render("error.html", status_code=lead.status, message=ui.t("errors.not_found"))
    return await _edit_page(ui, lead.data, _lead_values(lead.data))


@router.post("/{lead_id}/edit")
async def edit(lead_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    # Every field is sent: one left empty is cleared (the name is refused, not cleared).
    body: dict[str, Any] = {name: values.get(name) or None for name in EDITABLE}
    body["full_name"] = values.get("full_name", "")
    plan = {key: values.get(f"approach_plan.{key}") or None for key in PLAN_KEYS}
    body["approach_plan"] = plan if any(plan.values()) else None
    if values.get("confirm_duplicate") == "1":
        body["confirm_duplicate"] = True
    result = await ui.api.call("PATCH", f"/api/leads/{lead_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/leads/{lead_id}", flash="flash.saved")
    lead = await ui.api.get(f"/api/leads/{lead_id}")
    if not lead.ok:
        return ui.render("error.html", status_code=lead.status, message=ui.t("errors.not_found"))
    detail = result.detail
    if result.status == 409 and isinstance(detail, dict) and "duplicates" in detail:
        return await _edit_page(ui, lead.data, values, duplicates=detail["duplicates"], status_code=409)
    problems = core.problems_of(ui, result, EDIT_FIELDS)
    return await _edit_page(ui, lead.data, values, problems, status_code=result.status)


@router.post("/{lead_id}/{action}")
async def lead_action(lead_id: str, action: str, ui: UiDep) -> Response:
    # Each action's form names its fields `<action>.<field>`, so errors land at the right form.
    values = {k.removeprefix(f"{action}."): v for k, v in core.form_values(await ui.request.form()).items()}
    body: dict[str, Any]
    if action == "contact":
        body = core.blank_to_none(values, "note")
    elif action == "evaluate":
        body = {"promising": values.get("promising") == "yes", **core.blank_to_none(values, "note")}
    elif action == "disqualify":
        body = core.blank_to_none(values, "reason", "note")
    elif action == "convert":
        body = core.blank_to_none(values, "customer_id")
        if values.get("opportunity.name") or values.get("opportunity.expected_amount"):
            body["opportunity"] = {
                "name": values.get("opportunity.name", ""),
                "expected_amount": values.get("opportunity.expected_amount", "")
                .replace(".", "")
                .replace(",", "")
                or "0",
            }
    else:
        return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
    result = await ui.api.post(f"/api/leads/{lead_id}/{action}", body)
    if result.ok:
        if action == "convert":
            return ui.redirect(f"/customers/{result.data['customer_id']}", flash="flash.done")
        return ui.redirect(f"/leads/{lead_id}", flash="flash.done")
    problems = core.problems_of(ui, result)
    # Field errors of an action form are keyed by the action, so they show at its own form.
    problems.fields = {f"{action}.{k}": v for k, v in problems.fields.items()}
    return await _lead_page(
        ui, lead_id, problems, {f"{action}.{k}": v for k, v in values.items()}, status_code=result.status
    )
