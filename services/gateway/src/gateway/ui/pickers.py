"""Searching a long list from a form: a customer among a million, a product among
thousands. A form's `<select>` holds the first page of choices, and the search box
beside it (`_picker.html`, `ui.js`) asks `/pick/<list>?q=` as the user types and puts
the matches in the select; without JavaScript the select still offers the first page.

Each answer is `[{"value": ..., "text": ..., "data": {...}}]`, searched by the owning
service's own `q` (whatever the case and the diacritics), as the user may see them;
`data` is what the form needs of a choice besides its value, set on its `<option>` as
`data-*` (a product's price and VAT rate, for the quote builder's live totals).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from . import core, i18n
from .core import UiDep

router = APIRouter(prefix="/pick")

#: Matches offered at once: a search narrows, it does not page.
MATCHES = 20


def _customer(ui: core.Ui, c: dict[str, Any]) -> dict[str, str]:
    return {"value": c["id"], "text": f"{c['name']} ({ui.t('stage.' + c['lifecycle_stage'])})"}


def _product(ui: core.Ui, p: dict[str, Any]) -> dict[str, Any]:
    """As the quote line's select shows a product, with what its live total needs."""
    return {
        "value": p["code"],
        "text": f"{p['code']} · {p['name']} · {i18n.money(ui.lang, p['unit_price'])}",
        "data": {"price": p["unit_price"], "vat": p["vat_rate_pct"]},
    }


@router.get("/customers")
async def customers(ui: UiDep, q: str = "") -> Response:
    """Customers sales knows (prospects, traditional, inactive) that the user may see."""
    found = await ui.api.items("/api/sales/customers", q=q.strip() or None, limit=MATCHES)
    return JSONResponse([_customer(ui, c) for c in found])


@router.get("/products")
async def products(ui: UiDep, q: str = "") -> Response:
    """Products on sale."""
    found = await ui.api.items("/api/products", q=q.strip() or None, active="true", limit=MATCHES)
    return JSONResponse([_product(ui, p) for p in found])
