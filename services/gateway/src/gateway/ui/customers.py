"""Customers: the list, the customer 360 (details, grade and its history, the
questionnaire, activities and care, quotes, orders, invoices, the timeline), editing a
customer, and the managers' reassign and deactivate."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, i18n, marketing, regions
from .core import UiDep

router = APIRouter(prefix="/customers")

STAGES = ("prospect", "traditional", "inactive")
ACTIVITY_KINDS = ("call", "visit", "email", "meeting", "demo")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The documents a timeline entry may link to (`QuoteSent`'s `document_path`).
_DOCUMENT_PATH = re.compile(rf"/api/(quotes|orders|invoices)/{_UUID.pattern}/document\.pdf")
#: What an edit may change (`PATCH /api/customers/{id}`).
EDITABLE = (
    "name",
    "contact_name",
    "phone",
    "email",
    "address",
    "region_code",
    "channel_id",
    "tax_code",
    "legal_name",
    "billing_address",
)
SELLERS = (Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = (Role.SALES_MANAGER, Role.ADMIN)


@router.get("")
async def list_customers(
    ui: UiDep,
    q: str | None = None,
    lifecycle_stage: str | None = None,
    grade: str | None = None,
    offset: int = 0,
    cursor: str | None = None,
) -> Response:
    result, names = await core.gather(
        ui.api.get(
            "/api/customers",
            q=q,
            lifecycle_stage=lifecycle_stage,
            grade=grade,
            limit=50,
            offset=max(offset, 0),
            cursor=cursor or None,
        ),
        regions.names(ui),
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "customers/list.html",
        regions=names,
        customers=page["items"],
        total=page["total"],
        next_cursor=page.get("next_cursor"),
        offset=max(offset, 0),
        filters={"q": q or "", "lifecycle_stage": lifecycle_stage or "", "grade": grade or ""},
        stages=STAGES,
        problems=None if result.ok else core.problems_of(ui, result),
    )


def grading_questionnaire(
    questionnaires: list[dict[str, Any]], assessments: list[dict[str, Any]], wanted: str | None
) -> dict[str, Any] | None:
    """The questionnaire the grading form uses: the one the user picked, else the one last
    used for this customer (its version in use now), else the newest."""
    picked = next((q for q in questionnaires if q["id"] == wanted), None)
    if picked is not None or not questionnaires:
        return picked
    if assessments:
        family = assessments[0].get("questionnaire_family_id")
        last = next((q for q in questionnaires if q["family_id"] == family), None)
        if last is not None:
            return last
    return max(questionnaires, key=lambda q: datetime.fromisoformat(q["created_at"]))


async def customer_page_of(
    ui: core.Ui,
    customer_id: str,
    problems: core.Problems | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    questionnaire_id: str | None = None,
) -> Response:
    if not core.is_uuid(customer_id):
        # A mistyped address (/customers/import, /customers/care-overdue): the API has
        # lists under those words, which are not a customer.
        return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
    customer = await ui.api.get(f"/api/customers/{customer_id}")
    if customer.status == 404:
        # Just converted from a lead: customers creates it from the event in a moment.
        return ui.render("customers/pending.html", status_code=404, customer_id=customer_id)
    if not customer.ok:
        return ui.render("error.html", status_code=customer.status, message=str(customer.detail))
    around = await _around(ui, customer_id, customer.data.get("channel_id"))
    wanted = (values or {}).get("questionnaire_id") or questionnaire_id
    return ui.render(
        "customers/detail.html",
        status_code=status_code,
        customer=customer.data,
        questionnaire=grading_questionnaire(around["questionnaires"], around["assessments"], wanted),
        activity_kinds=ACTIVITY_KINDS,
        today=ui.today().isoformat(),
        can_edit=ui.is_(*SELLERS),
        is_manager=ui.is_(*MANAGERS),
        problems=problems or core.Problems(),
        values=values or {},
        **around,
    )


async def _around(ui: core.Ui, customer_id: str, channel_id: str | None) -> dict[str, Any]:
    """What the customer 360 shows around the customer, asked of every service at once."""
    found = await core.gather_named(
        assessments=ui.api.items(f"/api/customers/{customer_id}/assessments", limit=20),
        # The version in use of each questionnaire: the ones a customer may be graded with.
        questionnaires=ui.api.items("/api/questionnaires", limit=200),
        activities=ui.api.items(f"/api/customers/{customer_id}/activities", limit=50),
        opportunities=ui.api.items("/api/opportunities", customer_id=customer_id, limit=20),
        quotes=ui.api.items("/api/quotes", customer_id=customer_id, limit=50),
        orders=ui.api.items("/api/orders", customer_id=customer_id, limit=50),
        invoices=ui.api.items("/api/invoices", customer_id=customer_id, limit=50),
        timeline=ui.api.get(f"/api/customers/{customer_id}/timeline"),
        contacts=ui.api.get(f"/api/customers/{customer_id}/contacts"),
        account=ui.api.get(f"/api/accounts/{customer_id}"),
        names=core.staff_names(ui),
        owners=marketing.salespeople(ui),
        channel=ui.api.get(f"/api/channels/{channel_id}") if channel_id else _nothing(),
        regions=regions.names(ui),
    )
    timeline: core.ApiResult = found.pop("timeline")
    contacts: core.ApiResult = found.pop("contacts")
    account: core.ApiResult = found.pop("account")
    channel: core.ApiResult | None = found.pop("channel")
    return found | {
        "questionnaire_names": {q["family_id"]: q["name"] for q in found["questionnaires"]},
        "timeline": _timeline(ui, timeline, found["regions"], found["names"]),
        "contacts": contacts.data if contacts.ok and isinstance(contacts.data, list) else [],
        "account": account.data if account.ok else None,
        "channel_name": channel.data["name"] if channel and channel.ok else channel_id,
    }


def _timeline(
    ui: core.Ui, timeline: core.ApiResult, region_names: dict[str, str], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The customer's timeline, newest first, each entry's detail described."""
    entries = timeline.data if timeline.ok and isinstance(timeline.data, list) else []
    return [
        {
            **e,
            "text": describe(ui, e.get("detail") or {}, region_names, e.get("kind"), names),
            "document_url": _document_url(e),
        }
        for e in reversed(entries)
    ]


def _document_url(entry: dict[str, Any]) -> str | None:
    """The UI's route of a document an entry attaches (a sent quote's PDF): its API path
    without `/api`, which `ui/documents.py` serves as the user; anything else, none."""
    path = (entry.get("detail") or {}).get("document")
    if isinstance(path, str) and _DOCUMENT_PATH.fullmatch(path):
        return path.removeprefix("/api")
    return None


async def _nothing() -> None:
    return None


#: What an entry's `from` and `to` are, by its kind: a stage, or a member of staff.
_MOVES = {"stage_changed": "stage", "owner_changed": "owner", "activity_reassigned": "owner"}
#: Fields whose value is a word of the catalogue: `<prefix><value>`.
_WORDS = {"kind": "kind.", "via": "via.", "stage": "stage.", "lifecycle_stage": "stage.", "source": "source."}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def describe(
    ui: core.Ui,
    detail: dict[str, Any],
    region_names: dict[str, str] | None = None,
    kind: str | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """A timeline entry's detail as a sentence in the user's language: fields by their
    label, stages and activity kinds by name, people by name, days and money as the
    language writes them, no ids; a move (stage, owner) as "from → to"."""
    people = names or {}
    parts = []
    detail = dict(detail)
    if kind in _MOVES and ("from" in detail or "to" in detail):
        what = _MOVES[kind]
        moved = [
            _moved(ui, what, detail.pop("from", None), people),
            _moved(ui, what, detail.pop("to", None), people),
        ]
        parts.append(f"{ui.t('tfield.' + what)}: {' → '.join(moved)}")
    for key, value in detail.items():
        if value is None or key in ("id", "document"):
            continue
        if key.endswith(("_id", "_ids")) or _UUID.fullmatch(str(value)):
            if str(value) not in people:
                continue
            value = people[str(value)]
        if key == "region_code" and region_names:
            value = _province(value, region_names)
        parts.append(f"{_field(ui, key)}: {_shown(ui, key, value)}")
    return "; ".join(parts)


def _moved(ui: core.Ui, what: str, value: Any, people: dict[str, str]) -> str:
    if value is None:
        return "—"
    if what == "stage":
        return _word(ui, "stage.", str(value))
    return people.get(str(value), ui.t("channel.someone"))


def _field(ui: core.Ui, key: str) -> str:
    label = f"tfield.{key}"
    return ui.t(label) if label in i18n.MESSAGES else key.replace("_", " ")


def _word(ui: core.Ui, prefix: str, value: str) -> str:
    return ui.t(prefix + value) if prefix + value in i18n.MESSAGES else value.replace("_", " ")


def _shown(ui: core.Ui, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return ui.t("yes") if value else ui.t("no")
    if isinstance(value, int) and (key.endswith("total") or key.endswith("amount")):
        return i18n.money(ui.lang, value)
    if isinstance(value, float):
        return i18n.number(ui.lang, value, 1)
    if isinstance(value, list) and len(value) == 2:
        return " → ".join("—" if v is None else _shown(ui, key, v) for v in value)
    if isinstance(value, str) and key in _WORDS:
        return _word(ui, _WORDS[key], value)
    if isinstance(value, str) and _DAY.fullmatch(value):
        return i18n.format_date(ui.lang, value)
    if isinstance(value, dict):
        return "; ".join(f"{_field(ui, k)}: {_shown(ui, k, v)}" for k, v in value.items() if v is not None)
    return str(value)


def _province(value: Any, names: dict[str, str]) -> Any:
    """A province's code, or an `[old, new]` pair of codes, as names."""
    if isinstance(value, list):
        return [None if v is None else names.get(str(v), v) for v in value]
    return names.get(str(value), value)


@router.get("/{customer_id}")
async def customer_page(customer_id: str, ui: UiDep, questionnaire: str | None = None) -> Response:
    """The customer 360; `questionnaire` picks the one its grading form uses."""
    return await customer_page_of(ui, customer_id, questionnaire_id=questionnaire)


@router.post("/{customer_id}/assess")
async def assess(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    questionnaire_id = values.get("questionnaire_id", "")
    found = await ui.api.get(f"/api/questionnaires/{questionnaire_id}")
    ranges = {
        c["key"] for c in (found.data.get("criteria", []) if found.ok else []) if c.get("range") is not None
    }
    answers: dict[str, Any] = {}
    for name, value in values.items():
        if not name.startswith("answers.") or value == "":
            continue
        key = name.removeprefix("answers.")
        answers[key] = _number(value) if key in ranges else value
    result = await ui.api.post(
        f"/api/customers/{customer_id}/assessments",
        {"questionnaire_id": questionnaire_id, "answers": answers},
    )
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}#grading", flash="flash.saved")
    return await customer_page_of(
        ui, customer_id, core.problems_of(ui, result), values, status_code=result.status
    )


def _number(text: str) -> float | str:
    """A number typed the Vietnamese way (`1.234,5`) or the English way (`1,234.5`)."""
    cleaned = text.replace(" ", "")
    if "," in cleaned and "." in cleaned:
        cleaned = (
            cleaned.replace(".", "").replace(",", ".")
            if cleaned.rfind(",") > cleaned.rfind(".")
            else cleaned.replace(",", "")
        )
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return text  # the API says what is wrong with it


@router.post("/{customer_id}/activities")
async def plan_activity(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = core.blank_to_none(values, "kind", "due_on", "note")
    result = await ui.api.post(f"/api/customers/{customer_id}/activities", body)
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}#activities", flash="flash.saved")
    return await customer_page_of(
        ui, customer_id, core.problems_of(ui, result), values, status_code=result.status
    )


@router.post("/{customer_id}/activities/{activity_id}/complete")
async def complete_activity(customer_id: str, activity_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    result = await ui.api.post(
        f"/api/customers/{customer_id}/activities/{activity_id}/complete",
        core.blank_to_none(values, "outcome"),
    )
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}#activities", flash="flash.saved")
    problems = core.problems_of(ui, result)
    problems.fields = {f"{k}.{activity_id}": v for k, v in problems.fields.items()}
    return await customer_page_of(ui, customer_id, problems, status_code=result.status)


# -- editing, reassigning, deactivating -----------------------------------------------


async def _edit_page(
    ui: core.Ui,
    customer: dict[str, Any],
    values: dict[str, str],
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    channels, groups = await core.gather(ui.api.items("/api/channels", limit=200), regions.groups(ui))
    return ui.render(
        "customers/edit.html",
        status_code=status_code,
        customer=customer,
        values=values,
        channels=channels,
        groups=groups,
        problems=problems or core.Problems(),
    )


@router.get("/{customer_id}/edit")
async def edit_form(customer_id: str, ui: UiDep) -> Response:
    customer = await ui.api.get(f"/api/customers/{customer_id}")
    if not customer.ok:
        return ui.render("error.html", status_code=customer.status, message=ui.t("errors.not_found"))
    values = {name: str(customer.data.get(name) or "") for name in EDITABLE}
    return await _edit_page(ui, customer.data, values)


@router.post("/{customer_id}/edit")
async def edit(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    # Every field is sent: one left empty is cleared (the name is refused, not cleared).
    body: dict[str, Any] = {name: values.get(name) or None for name in EDITABLE}
    body["name"] = values.get("name", "")
    result = await ui.api.call("PATCH", f"/api/customers/{customer_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}", flash="flash.saved")
    customer = await ui.api.get(f"/api/customers/{customer_id}")
    if not customer.ok:
        return ui.render("error.html", status_code=customer.status, message=ui.t("errors.not_found"))
    problems = tax_code_taken(ui, result) or core.problems_of(ui, result, EDITABLE)
    return await _edit_page(ui, customer.data, values, problems, status_code=result.status)


def tax_code_taken(ui: core.Ui, result: core.ApiResult) -> core.Problems | None:
    """A 409 for a tax code another active customer holds, on the tax code's field."""
    detail = result.detail
    if result.status != 409 or not isinstance(detail, dict) or "tax_code" not in detail:
        return None
    other = detail.get("customer") or {}
    message = ui.t("customer.tax_code_taken", name=other.get("name") or ui.t("lead.not_visible"))
    return core.Problems(fields={"tax_code": message})


@router.post("/{customer_id}/assign")
async def assign(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    owner_id = values.get("assign.owner_id", "")
    if not owner_id:
        problems = core.Problems(fields={"assign.owner_id": ui.t("err.missing")})
        return await customer_page_of(ui, customer_id, problems, values, status_code=422)
    result = await ui.api.post(f"/api/customers/{customer_id}/assign", {"owner_id": owner_id})
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}", flash="flash.saved")
    problems = core.problems_of(ui, result)
    problems.fields = {f"assign.{k}": v for k, v in problems.fields.items()}
    return await customer_page_of(ui, customer_id, problems, values, status_code=result.status)


@router.post("/{customer_id}/deactivate")
async def deactivate(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    if values.get("deactivate.confirm") != "1":
        # The box is the "are you sure?": nothing is sent without it.
        problems = core.Problems(fields={"deactivate.confirm": ui.t("customer.confirm_needed")})
        return await customer_page_of(ui, customer_id, problems, values, status_code=422)
    result = await ui.api.post(
        f"/api/customers/{customer_id}/deactivate", {"reason": values.get("deactivate.reason", "")}
    )
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}", flash="flash.done")
    problems = core.problems_of(ui, result)
    problems.fields = {f"deactivate.{k}": v for k, v in problems.fields.items()}
    return await customer_page_of(ui, customer_id, problems, values, status_code=result.status)
