"""What a file of customers holds, and the rules of one of its rows: its columns, the
limits of one import, and `check_row`. No I/O: the file is read by `crm_kit.spreadsheet`
(see `imports.read_table`), owners and duplicates are checked by `imports`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from crm_kit.text import fold, normalize_email, normalize_vn_phone

from .domain import Stage, canonical_grade

COLUMNS = (
    "name",
    "contact_name",
    "phone",
    "email",
    "address",
    "region_code",
    "stage",
    "grade",
    "owner",
)
#: What one import takes at most (the defaults of `Settings.import_max_bytes` and `import_max_rows`).
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
#: Longest text any cell may hold; anything longer is refused as a row error.
MAX_CELL = 500
_LIMITS = {"name": 200, "contact_name": 200, "address": 500, "owner": 50}
_REGION = re.compile(r"^[0-9A-Z]{1,10}$")


@dataclass(frozen=True)
class CleanRow:
    row: int
    name: str
    name_folded: str
    contact_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    region_code: str | None
    stage: Stage
    grade: str | None
    #: The username in the `owner` column (lower-case), or None for the uploader.
    owner: str | None


@dataclass(frozen=True)
class Problem:
    """One problem of a row: its column, a stable code and its params (what a client
    says in its own words), and the English ("column: message" in `errors`)."""

    column: str
    code: str
    params: dict[str, Any]
    message: str

    def text(self) -> str:
        return f"{self.column}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"column": self.column, "code": self.code, "params": self.params, "message": self.message}


#: The grades a cell may name (`canonical_grade`), as the file says them.
GRADE_NAMES = ("A", "B", "C", "D", "VIP", "Tier I", "Tier II", "Tier III")


def check_row(row: int, values: dict[str, str]) -> CleanRow | list[str]:
    """The row ready to import, or every problem with it as "column: what is wrong"."""
    checked = check_row_problems(row, values)
    return checked if isinstance(checked, CleanRow) else [p.text() for p in checked]


def check_row_problems(row: int, values: dict[str, str]) -> CleanRow | list[Problem]:
    """The row ready to import, or every problem with it (`Problem`)."""
    problems: list[Problem] = []
    cells = _within_limits(values, problems)
    name = " ".join(cells["name"].split())
    if not name and not any(p.column == "name" for p in problems):
        problems.append(Problem("name", "missing", {}, "required"))
    phone = _phone(cells["phone"], problems)
    email = _email(cells["email"], problems)
    region = _region(cells["region_code"], problems)
    stage = _stage(cells["stage"], problems)
    grade = _grade(cells["grade"], problems)
    if problems:
        return problems
    return CleanRow(
        row=row,
        name=name,
        name_folded=fold(name),
        contact_name=cells["contact_name"] or None,
        phone=phone,
        email=email,
        address=cells["address"] or None,
        region_code=region,
        stage=stage,
        grade=grade,
        owner=cells["owner"].lower() or None,
    )


# Each check below reads one cell (stripped, "" when blank) and adds what is wrong
# with it to `problems`.


def _within_limits(values: dict[str, str], problems: list[Problem]) -> dict[str, str]:
    """Every column's cell; one longer than its column takes is blanked (and a problem)."""
    cells = {k: (values.get(k) or "").strip() for k in COLUMNS}
    for column, text in cells.items():
        limit = _LIMITS.get(column, MAX_CELL)
        if len(text) > limit:
            problems.append(
                Problem(column, "cell.too_long", {"max_length": limit}, f"longer than {limit} characters")
            )
            cells[column] = ""
    return cells


def _phone(text: str, problems: list[Problem]) -> str | None:
    if not text:
        return None
    phone = normalize_vn_phone(text)
    if phone is None:
        problems.append(
            Problem("phone", "phone.invalid", {"value": text}, f"{text!r} is not a Vietnamese phone number")
        )
    return phone


def _email(text: str, problems: list[Problem]) -> str | None:
    if not text:
        return None
    try:
        return normalize_email(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        problems.append(Problem("email", "email.invalid", {"value": text}, str(exc)))
        return None


def _region(text: str, problems: list[Problem]) -> str | None:
    region = text.upper() or None
    if region is not None and not _REGION.match(region):
        problems.append(
            Problem("region_code", "region.invalid", {"value": text}, f"{text!r} is not a province code")
        )
    return region


def _stage(text: str, problems: list[Problem]) -> Stage:
    if not text:
        return Stage.PROSPECT
    try:
        return Stage(text.lower())
    except ValueError:
        allowed = [str(s) for s in Stage]
        problems.append(
            Problem(
                "stage",
                "stage.invalid",
                {"value": text, "stages": allowed},
                f"{text!r} is not one of {', '.join(Stage)}",
            )
        )
        return Stage.PROSPECT


def _grade(text: str, problems: list[Problem]) -> str | None:
    if not text:
        return None
    grade = canonical_grade(text)
    if grade is None:
        problems.append(
            Problem(
                "grade",
                "grade.unknown",
                {"grade": text, "grades": list(GRADE_NAMES)},
                f"{text!r} is not one of {', '.join(GRADE_NAMES)}",
            )
        )
    return grade
