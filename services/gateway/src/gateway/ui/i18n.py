"""The web UI's words in Vietnamese and English, and how numbers, money and dates read.

The words are data, one file per language (`translations/vi.toml`, `translations/en.toml`,
and the services' refusals in `translations/problems/`, shipped in the package):
`CATALOGUES[lang][key]` is a text, `MESSAGES[key]` its texts in `LANGUAGES`' order. A key
missing from the catalogue shows as itself, so a missing translation is visible rather
than fatal.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crm_kit.settings import ServiceSettings

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
TRANSLATIONS = Path(__file__).with_name("translations")
#: The kit's default business zone, for a caller without settings at hand (a test, a
#: tool); pages pass their settings' zone.
DEFAULT_ZONE = ZoneInfo(ServiceSettings.model_fields["business_timezone"].default)


def _catalogue(lang: str) -> dict[str, str]:
    """The language's words: `<lang>.toml`, and the services' refusals, one file per
    service in `problems/<service>.<lang>.toml` (`problem.<code>` keys, ui/problems.py)."""
    with (TRANSLATIONS / f"{lang}.toml").open("rb") as file:
        words = tomllib.load(file)
    for part in sorted((TRANSLATIONS / "problems").glob(f"*.{lang}.toml")):
        with part.open("rb") as file:
            words.update(tomllib.load(file))
    return words


CATALOGUES: dict[str, dict[str, str]] = {lang: _catalogue(lang) for lang in LANGUAGES}
MESSAGES: dict[str, tuple[str, ...]] = {
    key: tuple(CATALOGUES[lang].get(key, key) for lang in LANGUAGES)
    for key in dict.fromkeys(key for catalogue in CATALOGUES.values() for key in catalogue)
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def language_or_default(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **params: Any) -> str:
    text = CATALOGUES[language_or_default(lang)].get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _grouped(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


def money(lang: str, amount: int | float | None) -> str:
    """`1.234.567 ₫` in Vietnamese, `₫1,234,567` in English; dong have no minor unit."""
    if amount is None:
        return "—"
    whole = round(amount)
    sign = "-" if whole < 0 else ""
    if lang == "en":
        return f"{sign}₫{_grouped(abs(whole), ',')}"
    return f"{sign}{_grouped(abs(whole), '.')} ₫"


#: Short amounts: (size, Vietnamese word, English letter), largest first.
_MAGNITUDES = ((10**9, "tỷ", "B"), (10**6, "tr", "M"), (10**3, "k", "k"))


def compact_money(lang: str, amount: int | float | None) -> str:
    """An amount short enough for a map's tile: `1,2 tỷ ₫` / `₫1.2B`, `30 tr ₫` / `₫30M`."""
    if amount is None:
        return "—"
    size = abs(amount)
    for unit, vi, en in _MAGNITUDES:
        if size >= unit:
            scaled = amount / unit
            digits = 0 if abs(scaled) >= 100 or float(scaled).is_integer() else 1
            text = number(lang, scaled, digits)
            return f"₫{text}{en}" if lang == "en" else f"{text} {vi} ₫"
    return money(lang, amount)


def number(lang: str, value: int | float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if lang == "en":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def percent(lang: str, ratio: float | None, digits: int = 1) -> str:
    """A ratio (0.125) as a percentage: `12,5%` / `12.5%`."""
    if ratio is None:
        return "—"
    return f"{number(lang, ratio * 100, digits)}%"


def _as_date(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value)
    try:
        if len(text) <= 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_date(lang: str, value: date | datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """`26/11/2026` in Vietnamese, `26 Nov 2026` in English; a moment on `zone`'s calendar."""
    parsed = _as_date(value)
    if parsed is None:
        return "—" if value is None else str(value)
    if isinstance(parsed, datetime):
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(zone).date()
    if lang == "en":
        return f"{parsed.day} {_MONTHS_EN[parsed.month - 1]} {parsed.year}"
    return f"{parsed.day:02d}/{parsed.month:02d}/{parsed.year}"


def format_datetime(lang: str, value: datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """A moment at `zone`'s wall-clock time: `27/11/2026 03:30`, `27 Nov 2026, 03:30`."""
    parsed = _as_date(value)
    if not isinstance(parsed, datetime):
        return format_date(lang, value, zone)
    local = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(zone)
    day = format_date(lang, local.date())
    return f"{day}, {local:%H:%M}" if lang == "en" else f"{day} {local:%H:%M}"
