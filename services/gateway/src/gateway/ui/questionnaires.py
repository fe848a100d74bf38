"""Grading questionnaires: the list (each questionnaire's current version, or every
version), one version with its criteria, answer options, weights and grade thresholds,
and the form that defines a new questionnaire or the next version of one.

The form grows and shrinks (criteria, answer options, custom grades) by plain form posts:
each "add"/"remove" button posts the whole form back with an `op`, and the page comes
back with the row added or removed and everything typed kept. No script is needed."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep

router = APIRouter(prefix="/settings/questionnaires")

SCHEME_KINDS = ("abcd", "vip", "custom")
#: The grades the form offers for the fixed schemes, best first (the customers API checks them).
SCHEME_GRADES = {"abcd": ("A", "B", "C", "D"), "vip": ("VIP", "Tier I", "Tier II", "Tier III")}
#: Thresholds, review intervals and care cadences a fresh form starts with, best grade first.
DEFAULT_BANDS = (("80", "90", "30"), ("60", "180", "60"), ("40", "270", "90"), ("0", "365", "180"))
CRITERION_TYPES = ("options", "range")

_GRADE = re.compile(r"^scheme\.grades\.(\d+)\.(name|min_score|review_interval_days|care_cadence_days)$")
_CRITERION = re.compile(
    r"^criteria\.(\d+)\.(key|question|weight|type|range\.min|range\.max|range\.descending)$"
)
_OPTION = re.compile(r"^criteria\.(\d+)\.options\.(\d+)\.(value|label|points)$")
_OP = re.compile(
    r"^(save|kind|add_grade|add_criterion|remove_grade|remove_criterion|add_option|remove_option)"
    r"(?::(\d+))?(?::(\d+))?$"
)


# -- the form's rows ------------------------------------------------------------------------


def _blank_option() -> dict[str, str]:
    return {"value": "", "label": "", "points": ""}


def _blank_criterion() -> dict[str, Any]:
    return {
        "key": "",
        "question": "",
        "weight": "1",
        "type": "options",
        "options": [_blank_option(), _blank_option()],
        "range.min": "",
        "range.max": "",
        "range.descending": "",
    }


def _grade(name: str, band: tuple[str, str, str]) -> dict[str, str]:
    return {"name": name, "min_score": band[0], "review_interval_days": band[1], "care_cadence_days": band[2]}


def _fresh_draft() -> dict[str, Any]:
    return {
        "name": "",
        "kind": "abcd",
        "grades": [_grade(n, b) for n, b in zip(SCHEME_GRADES["abcd"], DEFAULT_BANDS, strict=True)],
        "criteria": [_blank_criterion()],
    }


def _plain(value: Any) -> str:
    """A number as a form shows it: `75.0` is `75`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _draft_of(questionnaire: dict[str, Any]) -> dict[str, Any]:
    """An existing version as the form's starting point for the next one."""
    criteria = []
    for c in questionnaire["criteria"]:
        span = c.get("range") or {}
        criteria.append(
            {
                "key": c["key"],
                "question": c["question"],
                "weight": _plain(c["weight"]),
                "type": "range" if c.get("range") else "options",
                "options": [
                    {"value": o["value"], "label": o["label"], "points": _plain(o["points"])}
                    for o in c.get("options") or []
                ]
                or [_blank_option()],
                "range.min": _plain(span.get("min")),
                "range.max": _plain(span.get("max")),
                "range.descending": "1" if span.get("descending") else "",
            }
        )
    return {
        "name": questionnaire["name"],
        "kind": questionnaire["scheme"]["kind"],
        "grades": [
            {
                name: _plain(g[name])
                for name in ("name", "min_score", "review_interval_days", "care_cadence_days")
            }
            for g in questionnaire["scheme"]["grades"]
        ],
        "criteria": criteria,
    }


def _draft_from(values: dict[str, str]) -> dict[str, Any]:
    """The posted form as rows, in the order they were on the page."""
    grades: dict[int, dict[str, str]] = {}
    criteria: dict[int, dict[str, Any]] = {}
    options: dict[int, dict[int, dict[str, str]]] = {}
    for name, value in values.items():
        if match := _GRADE.match(name):
            grades.setdefault(int(match[1]), {})[match[2]] = value
        elif match := _CRITERION.match(name):
            criteria.setdefault(int(match[1]), {})[match[2]] = value
        elif match := _OPTION.match(name):
            options.setdefault(int(match[1]), {}).setdefault(int(match[2]), {})[match[3]] = value
    rows = []
    for i in sorted(set(criteria) | set(options)):
        row = {**_blank_criterion(), "weight": "", "range.descending": "", **criteria.get(i, {})}
        row["options"] = [{**_blank_option(), **o} for _, o in sorted(options.get(i, {}).items())]
        rows.append(row)
    return {
        "name": values.get("name", ""),
        "kind": values.get("scheme.kind", "abcd"),
        "grades": [
            {"name": "", "min_score": "", "review_interval_days": "", "care_cadence_days": "", **g}
            for _, g in sorted(grades.items())
        ],
        "criteria": rows,
    }


def _apply(draft: dict[str, Any], op: str, first: int | None, second: int | None) -> str | None:
    """Change the rows as the button asked; the id of the field to put the cursor in."""
    grades: list[dict[str, str]] = draft["grades"]
    criteria: list[dict[str, Any]] = draft["criteria"]
    if op == "kind":
        fixed = SCHEME_GRADES.get(draft["kind"])
        if fixed is not None:
            padded = grades + [_grade("", b) for b in DEFAULT_BANDS[len(grades) :]]
            draft["grades"] = [{**g, "name": n} for g, n in zip(padded, fixed, strict=False)]
        elif len(grades) < 2:
            draft["grades"] = grades + [_grade("", DEFAULT_BANDS[-1]) for _ in range(2 - len(grades))]
        return "scheme-kind"
    if op == "add_grade":
        grades.append(_grade("", ("", "", "")))
        return f"scheme-grades-{len(grades) - 1}-name"
    if op == "add_criterion":
        criteria.append(_blank_criterion())
        return f"criteria-{len(criteria) - 1}-key"
    if op == "remove_grade" and first is not None and first < len(grades):
        del grades[first]
        return "add-grade"
    if op == "remove_criterion" and first is not None and first < len(criteria):
        del criteria[first]
        return "add-criterion"
    if op == "add_option" and first is not None and first < len(criteria):
        criteria[first]["options"].append(_blank_option())
        return f"criteria-{first}-options-{len(criteria[first]['options']) - 1}-value"
    if op == "remove_option" and first is not None and second is not None and first < len(criteria):
        kept = criteria[first]["options"]
        if second < len(kept):
            del kept[second]
        return f"add-option-{first}"
    return None


def _flat(draft: dict[str, Any]) -> dict[str, str]:
    """The rows as the form's fields, named as the API's error locations name them
    (`criteria.0.options.1.points`), so each error lands next to its field."""
    values = {"name": draft["name"], "scheme.kind": draft["kind"]}
    for i, grade in enumerate(draft["grades"]):
        values |= {f"scheme.grades.{i}.{name}": value for name, value in grade.items()}
    for i, criterion in enumerate(draft["criteria"]):
        values |= {f"criteria.{i}.{name}": value for name, value in criterion.items() if name != "options"}
        for j, option in enumerate(criterion["options"]):
            values |= {f"criteria.{i}.options.{j}.{name}": value for name, value in option.items()}
    return values


# -- what the API is sent -------------------------------------------------------------------


def _number(text: str) -> str:
    """A number typed the Vietnamese way (`2,5`, `1.000.000`) or the English way
    (`2.5`, `1,000,000`), as the API reads numbers; anything else is left for the API
    to refuse."""
    cleaned = text.replace(" ", "")
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        return cleaned.replace(grouping, "").replace(decimal_mark, ".")
    for mark in (",", "."):
        if cleaned.count(mark) > 1:
            return cleaned.replace(mark, "")
    return cleaned.replace(",", ".")


def _given(row: dict[str, str], names: tuple[str, ...], numbers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields filled in (a blank one is left out, so the API says it is missing)."""
    return {name: _number(row[name]) if name in numbers else row[name] for name in names if row.get(name)}


def _body(draft: dict[str, Any]) -> dict[str, Any]:
    criteria = []
    for c in draft["criteria"]:
        criterion = _given(c, ("key", "question", "weight"), numbers=("weight",))
        if c.get("type") == "range":
            span: dict[str, Any] = {
                name: _number(c[f"range.{name}"]) for name in ("min", "max") if c.get(f"range.{name}")
            }
            criterion["range"] = {**span, "descending": bool(c.get("range.descending"))}
        else:
            criterion["options"] = [
                _given(o, ("value", "label", "points"), numbers=("points",)) for o in c["options"]
            ]
        criteria.append(criterion)
    # A fixed scheme names its own grades: the names shown are not sent, so a scheme chosen
    # without "apply" still saves with its own names.
    named = ("name",) if draft["kind"] not in SCHEME_GRADES else ()
    grade_fields = (*named, "min_score", "review_interval_days", "care_cadence_days")
    return {
        "name": draft["name"],
        "scheme": {
            "kind": draft["kind"],
            "grades": [_given(g, grade_fields, numbers=("min_score",)) for g in draft["grades"]],
        },
        "criteria": criteria,
    }


def _drop_blank_options(draft: dict[str, Any]) -> None:
    """An answer option row left empty is no option (the form always offers a spare row)."""
    for c in draft["criteria"]:
        filled = [o for o in c["options"] if any(o.values())]
        c["options"] = filled or c["options"][:1]


# -- pages ------------------------------------------------------------------------------


@router.get("")
async def list_questionnaires(ui: UiDep, all_versions: bool = False) -> Response:
    result = await ui.api.get("/api/questionnaires", all_versions="true" if all_versions else None, limit=200)
    return ui.render(
        "settings/questionnaires.html",
        questionnaires=result.data["items"] if result.ok else [],
        all_versions=all_versions,
        may_change=ui.is_(Role.SALES_MANAGER, Role.ADMIN),
        problems=None if result.ok else core.problems_of(ui, result),
    )


def _form(
    ui: core.Ui,
    draft: dict[str, Any],
    *,
    based_on: dict[str, Any] | None = None,
    problems: core.Problems | None = None,
    focus: str | None = None,
    status_code: int = 200,
) -> Response:
    return ui.render(
        "settings/questionnaire_form.html",
        status_code=status_code,
        draft=draft,
        values=_flat(draft),
        based_on=based_on,
        action=f"/settings/questionnaires/{based_on['id']}/version"
        if based_on
        else "/settings/questionnaires/new",
        kinds=SCHEME_KINDS,
        fixed=SCHEME_GRADES.get(draft["kind"]) is not None,
        criterion_types=CRITERION_TYPES,
        focus=focus,
        problems=problems or core.Problems(),
    )


@router.get("/new")
async def new_questionnaire(ui: UiDep) -> Response:
    return _form(ui, _fresh_draft())


async def _submit(ui: core.Ui, based_on: dict[str, Any] | None) -> Response:
    values = core.form_values(await ui.request.form())
    draft = _draft_from(values)
    op = _OP.match(values.get("op") or "save")
    if op is None:
        return _form(ui, draft, based_on=based_on)
    if op[1] != "save":
        focus = _apply(draft, op[1], int(op[2]) if op[2] else None, int(op[3]) if op[3] else None)
        return _form(ui, draft, based_on=based_on, focus=focus)
    _drop_blank_options(draft)
    path = f"/api/questionnaires/{based_on['id']}/versions" if based_on else "/api/questionnaires"
    result = await ui.api.post(path, _body(draft))
    if result.ok:
        return ui.redirect(f"/settings/questionnaires/{result.data['id']}", flash="flash.questionnaire_saved")
    return _form(
        ui, draft, based_on=based_on, problems=core.problems_of(ui, result), status_code=result.status
    )


@router.post("/new")
async def create_questionnaire(ui: UiDep) -> Response:
    return await _submit(ui, None)


async def _questionnaire(ui: core.Ui, questionnaire_id: str) -> core.ApiResult:
    return await ui.api.get(f"/api/questionnaires/{questionnaire_id}")


@router.get("/{questionnaire_id}")
async def questionnaire_page(questionnaire_id: str, ui: UiDep) -> Response:
    found, versions = await core.gather(
        _questionnaire(ui, questionnaire_id),
        ui.api.items("/api/questionnaires", all_versions="true", limit=200),
    )
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    questionnaire = found.data
    total_weight = sum(c["weight"] for c in questionnaire["criteria"]) or 1
    return ui.render(
        "settings/questionnaire.html",
        questionnaire=questionnaire,
        total_weight=total_weight,
        versions=sorted(
            (v for v in versions if v["family_id"] == questionnaire["family_id"]),
            key=lambda v: v["version"],
            reverse=True,
        ),
        may_change=ui.is_(Role.SALES_MANAGER, Role.ADMIN),
    )


@router.get("/{questionnaire_id}/version")
async def new_version(questionnaire_id: str, ui: UiDep) -> Response:
    found = await _questionnaire(ui, questionnaire_id)
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    return _form(ui, _draft_of(found.data), based_on=found.data)


@router.post("/{questionnaire_id}/version")
async def create_version(questionnaire_id: str, ui: UiDep) -> Response:
    found = await _questionnaire(ui, questionnaire_id)
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    return await _submit(ui, found.data)
