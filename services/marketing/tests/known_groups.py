"""Product groups for marketing's tests. Volumes, targets and proposals name only a group
of sales' list (`marketing.product_groups.check`), which reaches marketing as
`ProductGroupChanged`: a test puts the groups it names into marketing's copy through the
handler the consumer runs, as if sales had announced them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from crm_contracts import ProductGroupChanged
from crm_testkit.service import ServiceUnderTest
from marketing import product_groups


async def known(
    service: ServiceUnderTest[Any],
    *codes: str,
    active: bool = True,
    name: str | None = None,
    at: datetime | None = None,
) -> None:
    """`codes` in marketing's copy as of `at` (now), active or retired; `name` is each
    one's name (its code if none)."""
    changed_at = at or datetime.now(UTC)
    async with service.db.transaction() as session:
        for code in codes:
            event = ProductGroupChanged(code=code, name=name or code, active=active, changed_at=changed_at)
            await product_groups.changed(session, event)


async def new_group(service: ServiceUnderTest[Any], prefix: str, *, name: str | None = None) -> str:
    """A group of its own for one test (`prefix-1a2b3c`), known to marketing."""
    code = f"{prefix}-{uuid.uuid4().hex[:6]}"
    await known(service, code, name=name)
    return code
