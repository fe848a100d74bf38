"""Bare FastAPI routes: what the gateway's reads are compared against.

- `/api/customers/{id}` serves the customer's JSON as a constant: the HTTP stack alone.
- `/read/customers/{id}` does the same read as the system, by hand: one asyncpg query of
  the customers database (`BARE_DATABASE_URL`), the row as JSON. No token, no proxy,
  no ORM: the floor under the system's read on this machine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ.get("BARE_DATABASE_URL")
    app.state.pool = await asyncpg.create_pool(url, min_size=4, max_size=10) if url else None
    yield
    if app.state.pool is not None:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/customers/{customer_id}")
async def customer(customer_id: str) -> dict[str, str]:
    return {"id": customer_id, "name": "Đọc thử", "lifecycle_stage": "prospect"}


@app.get("/read/customers/{customer_id}")
async def read_customer(customer_id: uuid.UUID) -> dict[str, Any]:
    row = await app.state.pool.fetchrow("SELECT * FROM customers WHERE id = $1", customer_id)
    if row is None:
        raise HTTPException(404, "customer not found")
    return dict(row)
