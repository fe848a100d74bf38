"""Normalising what people type, so duplicates are found however they were written."""

from __future__ import annotations

import re
import unicodedata

_NOT_DIGIT = re.compile(r"[\s.\-()/]")


def normalize_vn_phone(raw: str | None) -> str | None:
    """A Vietnamese phone number in one form (`0` + national number), or None if it is not one.

    Accepts `+84 912 345 678`, `84912345678`, `0912.345.678`, `(024) 3825 1234` ...:
    spaces, dots, dashes, slashes and brackets are dropped; `+84`/`84` becomes `0`.
    """
    if raw is None:
        return None
    digits = _NOT_DIGIT.sub("", raw.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isdigit() or not digits.startswith("0") or not 10 <= len(digits) <= 11:
        return None
    return digits


def fold(text: str | None) -> str:
    """Lower-case ASCII form for matching and search: `Công ty Hòa Phát` -> `cong ty hoa phat`."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(ascii_only.lower().split())


def normalize_email(raw: str | None) -> str | None:
    return raw.strip().lower() if raw and raw.strip() else None
