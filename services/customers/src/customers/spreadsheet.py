"""What a file of customers holds, and the rules of one of its rows: its columns, the
limits of one import, and `check_row`. No I/O: the file is read by `crm_kit.spreadsheet`
(see `imports.read_table`), owners and duplicates are checked by `imports`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def check_row(row: int, values: dict[str, str]) -> CleanRow | list[str]:
    """The row ready to import, or every problem with it as "column: what is wrong"."""
    problems: list[str] = []
    cells = _within_limits(values, problems)
    name = " ".join(cells["name"].split())
    if not name and not any("name:" in p for p in problems):
        problems.append("name: required")
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


def _within_limits(values: dict[str, str], problems: list[str]) -> dict[str, str]:
    """Every column's cell; one longer than its column takes is blanked (and a problem)."""
    cells = {k: (values.get(k) or "").strip() for k in COLUMNS}
    for column, text in cells.items():
        limit = _LIMITS.get(column, MAX_CELL)
        if len(text) > limit:
            problems.append(f"{column}: longer than {limit} characters")
            cells[column] = ""
    return cells


def _phone(text: str, problems: list[str]) -> str | None:
    if not text:
        return None
    phone = normalize_vn_phone(text)
    if phone is None:
        problems.append(f"phone: {text!r} is not a Vietnamese phone number")
    return phone


def _email(text: str, problems: list[str]) -> str | None:
    if not text:
        return None
    try:
        return normalize_email(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        problems.append(f"email: {exc}")
        return None


def _region(text: str, problems: list[str]) -> str | None:
    region = text.upper() or None
    if region is not None and not _REGION.match(region):
        problems.append(f"region_code: {text!r} is not a province code")
    return region


def _stage(text: str, problems: list[str]) -> Stage:
    if not text:
        return Stage.PROSPECT
    try:
        return Stage(text.lower())
    except ValueError:
        problems.append(f"stage: {text!r} is not one of {', '.join(Stage)}")
        return Stage.PROSPECT


def _grade(text: str, problems: list[str]) -> str | None:
    if not text:
        return None
    grade = canonical_grade(text)
    if grade is None:
        problems.append(f"grade: {text!r} is not one of A, B, C, D, VIP, Tier I, Tier II, Tier III")
    return grade
