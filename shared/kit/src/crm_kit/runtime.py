"""What a running service holds, and the FastAPI dependencies that reach it.

Routes take `DbDep` (the database) or `RuntimeDep` (settings, bus, relay, retention too)::

    @router.get("/api/things/{thing_id}")
    async def get_thing(thing_id: uuid.UUID, db: DbDep) -> ThingOut: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from . import outbox
from .bus import EventBus
from .db import Database
from .deadletters import DeadLetterStore
from .replay import Replayer
from .retention import Retention
from .settings import ServiceSettings


@dataclass
class Runtime:
    """What a running service holds; routes reach it through `request.app.state.runtime`."""

    settings: ServiceSettings
    db: Database
    bus: EventBus
    relay: outbox.OutboxRelay
    retention: Retention
    replayer: Replayer
    dead_letters: DeadLetterStore


# Dependencies are `async def` even with nothing to await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop on every request.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_db(request: Request) -> Database:
    runtime: Runtime = request.app.state.runtime
    return runtime.db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DbDep = Annotated[Database, Depends(get_db)]
