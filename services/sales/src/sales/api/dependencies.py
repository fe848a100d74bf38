"""What the routes share: who may call them, the settings, the search parameter."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from crm_kit.auth import Role, require_roles
from crm_kit.runtime import RuntimeDep

from ..settings import Settings

SELLERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = require_roles(Role.SALES_MANAGER, Role.ADMIN)

#: The answer when a customer has not reached sales yet (`quotes._arriving_customer`).
NOT_YET: dict[int | str, dict[str, Any]] = {
    503: {"description": "the customer is not known to sales yet: on its way, or no such customer"}
}


async def get_settings(runtime: RuntimeDep) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
Search = Annotated[str | None, Query(max_length=100)]
