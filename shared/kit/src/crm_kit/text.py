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


#: The weights of a Vietnamese tax code's (MST's) check digit over its first nine digits.
_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_MST_SEPARATORS = re.compile(r"[\s.]")


def mst_check_digit(first_nine: str) -> int | None:
    """The tenth digit of the MST whose first nine digits are `first_nine`: 10 - (weighted sum
    mod 11); None when that is 10 (sum mod 11 = 0), which no issued code has."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, _MST_WEIGHTS, strict=True)) % 11
    check = 10 - remainder
    return None if check == 10 else check


def parse_vn_tax_code(raw: str) -> str:
    """A Vietnamese tax code (mã số thuế) in one form: `0100233488`, or `0314409058-002` for
    a dependent unit (a branch). Spaces and dots are dropped; a unit's 13 digits may come
    without the dash. Raises ValueError saying what is wrong: not 10 or 10-3 digits,
    province `00`, sequence `0000000`, unit `000`, or a wrong check digit."""
    value = _MST_SEPARATORS.sub("", raw.strip())
    # ASCII digits only: `\d` would take other scripts' digits too.
    if re.fullmatch(r"[0-9]{13}", value):
        value = f"{value[:10]}-{value[10:]}"
    if not re.fullmatch(r"[0-9]{10}(-[0-9]{3})?", value):
        raise ValueError("a tax code is 10 digits, or 10 digits, '-' and 3 for a dependent unit")
    head, _, unit = value.partition("-")
    if head[:2] == "00" or head[2:9] == "0000000" or unit == "000":
        raise ValueError(f"{value} cannot be issued: province 00, sequence 0000000 or unit 000")
    if mst_check_digit(head[:9]) != int(head[9]):
        raise ValueError(f"{value} has a wrong check digit")
    return value


def normalize_vn_tax_code(raw: str | None) -> str | None:
    """`parse_vn_tax_code`'s form, or None when `raw` is not a tax code (for search)."""
    try:
        return parse_vn_tax_code(raw) if raw else None
    except ValueError:
        return None
