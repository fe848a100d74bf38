"""The 34 provinces, as pages show them: a `region_code` becomes the province's name
(Vietnamese, or its ASCII form in English), and selects group them by macro-region.

The list is marketing's `GET /api/regions`, asked for as the user like any other call,
and kept in this process for a few minutes: it is reference data that changes with a
law, not with a click, so a page need not fetch 34 provinces each time. When the call
fails, the last list still serves; with none at all, pages show the codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import core

#: How long a fetched list is used before it is asked for again.
TTL_S = 600.0
#: Seconds from some fixed moment (a test moves it on).
clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class _Fetched:
    groups: list[dict[str, Any]]
    at: float


_fetched: _Fetched | None = None


def forget() -> None:
    """Drop the cached list (tests; a new region table would ship with a restart anyway)."""
    global _fetched
    _fetched = None


async def _macro_groups(ui: core.Ui) -> list[dict[str, Any]]:
    """Marketing's provinces grouped by macro-region, from the cache while it is fresh."""
    global _fetched
    now = clock()
    if _fetched is not None and now - _fetched.at < TTL_S:
        return _fetched.groups
    groups = await ui.api.items("/api/regions", grouping="macro_region")
    if groups:
        _fetched = _Fetched(groups, now)
        return groups
    # Not remembered as empty: the next page asks again; meanwhile the old list serves.
    return _fetched.groups if _fetched is not None else []


def _name(region: dict[str, Any], lang: str) -> str:
    """`Hà Nội` in Vietnamese; `Ha Noi` in English (the API's ASCII form is lower case)."""
    if lang == "vi" or not region.get("name_ascii"):
        return str(region["name"])
    return " ".join(word.capitalize() for word in str(region["name_ascii"]).split())


async def groups(ui: core.Ui) -> list[dict[str, Any]]:
    """The provinces grouped by macro-region, every name in the page's language (what
    `_regions.html` builds its selects and boxes from); empty if marketing is unreachable."""
    return [
        {
            "code": g["code"],
            "name": g["name"] if ui.lang == "vi" else g.get("name_en") or g["name"],
            "regions": [{**r, "name": _name(r, ui.lang)} for r in g["regions"]],
        }
        for g in await _macro_groups(ui)
    ]


def names_in(grouped: list[dict[str, Any]]) -> dict[str, str]:
    """Province name by code, from `groups()`' answer."""
    return {r["code"]: r["name"] for g in grouped for r in g["regions"]}


async def names(ui: core.Ui) -> dict[str, str]:
    """Province name by code in the page's language; a page shows `names.get(code, code)`."""
    return names_in(await groups(ui))
