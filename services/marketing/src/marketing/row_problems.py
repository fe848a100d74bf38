"""The problems a row of an import file (market volumes, targets) may have, each with its
column, code and params as every import reports them (`crm_kit.spreadsheet.RowProblem`),
so the web UI says them in the user's words; the English is the message."""

from __future__ import annotations

from crm_kit import errors
from crm_kit.spreadsheet import RowProblem


def missing(column: str) -> RowProblem:
    return RowProblem(column=column, code="missing", message="missing")


def too_long(column: str, limit: int) -> RowProblem:
    return RowProblem(
        column=column,
        code="string_too_long",
        params={"max_length": limit},
        message=f"longer than {limit} characters",
    )


def region(text: str) -> RowProblem:
    """No province is `text` (by any of its codes or names); `missing` when blank."""
    if not text:
        return missing("region_code")
    message = f"no province matches {text!r}"
    return RowProblem(column="region_code", code="region.no_match", params={"region": text}, message=message)


def amount(text: str) -> RowProblem:
    """`text` is not a whole number of dong (`volumes.parse_amount`); `missing` when blank."""
    if not text:
        return missing("amount")
    message = f"{text!r} is not a whole number of dong >= 0"
    return RowProblem(column="amount", code="import.amount_invalid", params={"value": text}, message=message)


def refused(column: str, refusal: errors.DomainError) -> RowProblem:
    """A refusal the API would answer (an `InvalidPeriod`, say) as the column's problem."""
    return RowProblem(column=column, code=refusal.code, params=refusal.params, message=refusal.message)


def at_field(refusal: errors.At) -> RowProblem:
    """A refusal at a field as the problem of the column of that name (the file names a
    salesperson in `salesperson`, the API in `salesperson_id`)."""
    field = str(refusal.loc[-1])
    column = "salesperson" if field == "salesperson_id" else field
    return RowProblem(column=column, code=refusal.code, params=dict(refusal.params), message=refusal.message)
