"""A record's History section: its audit trail (`GET /api/<collection>/{id}/audit`, every
service's `crm_kit.audit` shape) as a person reads it: who by name, when in local time,
what changed as "field: before -> after" with ids and codes named, in the user's language.
The section itself is `_history.html`'s `history_section`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import core, i18n

#: Entries a page shows (the newest).
SHOWN = 50
#: Fields whose numbers are money (dong).
MONEY_FIELDS = frozenset({"credit_limit", "amount", "unit_price", "items"})


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    at: str
    who: str
    action: str
    changes: list[Change]
    reason: str | None


async def trail(ui: core.Ui, path: str) -> tuple[list[dict[str, Any]], int] | None:
    """The newest entries of `path` and how many there are; None if it could not be read."""
    result = await ui.api.get(path, limit=SHOWN)
    if not result.ok or not isinstance(result.data, dict):
        return None
    return list(result.data.get("items") or []), int(result.data.get("total", 0))


def describe(ui: core.Ui, entries: list[dict[str, Any]], labels: dict[str, str] | None = None) -> list[Entry]:
    """Entries as the section shows them; `labels` names ids and codes (staff, provinces, channels)."""
    named = labels or {}
    shown = []
    for entry in entries:
        before: dict[str, Any] = entry.get("before") or {}
        after: dict[str, Any] = entry.get("after") or {}
        changes = [
            Change(
                field=_label(ui, "audit.field." + name, name),
                before=_value(ui, name, before.get(name), named) if name in before else "—",
                after=_value(ui, name, after.get(name), named) if name in after else "—",
            )
            for name in dict.fromkeys([*before, *after])
        ]
        shown.append(
            Entry(
                at=i18n.format_datetime(ui.lang, entry.get("at"), ui.zone),
                who=entry.get("actor_name")
                or (named.get(str(entry["actor_id"])) if entry.get("actor_id") else None)
                or (ui.t("channel.someone") if entry.get("actor_id") else ui.t("quote.by_system")),
                action=_label(ui, "audit.action." + str(entry.get("action")), str(entry.get("action"))),
                changes=changes,
                reason=entry.get("reason"),
            )
        )
    return shown


def _label(ui: core.Ui, key: str, fallback: str) -> str:
    return ui.t(key) if key in i18n.MESSAGES else fallback


def _value(ui: core.Ui, name: str, value: Any, named: dict[str, str]) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return ui.t("yes") if value else ui.t("no")
    if isinstance(value, int | float):
        return i18n.money(ui.lang, value) if name in MONEY_FIELDS else i18n.number(ui.lang, value)
    if isinstance(value, list):
        return ", ".join(_value(ui, name, v, named) for v in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{named.get(str(k), str(k))}: {_value(ui, name, v, named)}" for k, v in value.items()
        )
    text = str(value)
    if name in {"status", "channel_kind", "kind", "credit_limit_source"}:
        for prefix in ("audit.value.", "ckind."):
            if prefix + text in i18n.MESSAGES:
                return ui.t(prefix + text)
    return named.get(text, text)
