"""What customers owe and whom nobody has called: receivables aging (per customer, by
days overdue, with the totals) and the care-overdue list (the customer, its owner, the
care cadence it missed, how many days overdue)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from . import core
from .core import UiDep
from .orders import back_office_tabs

router = APIRouter()

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


@router.get("/receivables")
async def aging(ui: UiDep, as_of: str | None = None, offset: int = 0) -> Response:
    offset = max(offset, 0)
    result = await ui.api.get("/api/receivables/aging", as_of=as_of, limit=50, offset=offset)
    report = result.data if result.ok else {"items": [], "total": 0, "totals": None, "as_of": as_of}
    return ui.render(
        "invoices/aging.html",
        status_code=200 if result.ok else result.status,
        report=report,
        buckets=BUCKETS,
        offset=offset,
        as_of=as_of or "",
        problems=core.Problems() if result.ok else core.problems_of(ui, result),
        tabs=back_office_tabs(ui),
    )


@router.get("/care-overdue")
async def care_overdue(ui: UiDep, offset: int = 0) -> Response:
    offset = max(offset, 0)
    result, names = await core.gather(
        ui.api.get("/api/customers/care-overdue", limit=50, offset=offset), core.staff_names(ui)
    )
    page: dict[str, Any] = result.data if result.ok else {"items": [], "total": 0}
    today = ui.today()
    rows = [{**c, "days_overdue": _days_after(c["care_due_on"], today)} for c in page["items"]]
    return ui.render(
        "invoices/care_overdue.html",
        status_code=200 if result.ok else result.status,
        rows=rows,
        names=names,
        total=page["total"],
        offset=offset,
        problems=core.Problems() if result.ok else core.problems_of(ui, result),
        tabs=back_office_tabs(ui),
    )


def _days_after(day: str, today: date) -> int:
    """Days overdue: the care was due on `day`, so overdue from the day after."""
    return (today - date.fromisoformat(day)).days
