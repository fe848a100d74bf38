"""Values tests need many distinct, valid instances of."""

from __future__ import annotations

import random

from crm_kit.text import mst_check_digit


def tax_code(unit: int | None = None) -> str:
    """A random valid Vietnamese tax code (MST); with `unit`, that dependent unit's (10-3)."""
    while True:
        first_nine = f"{random.randint(1, 99):02d}{random.randint(1, 9_999_999):07d}"
        check = mst_check_digit(first_nine)
        if check is not None:
            code = f"{first_nine}{check}"
            return code if unit is None else f"{code}-{unit:03d}"
