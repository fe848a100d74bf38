from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from .domain import Stage

RegionCode = Field(default=None, pattern=r"^[0-9A-Z]{1,10}$", description="province code")


class CustomerCreate(BaseModel):
    """A new prospect. Owner, stage and grade are not settable here (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+ ().-]{6,40}$")
    email: EmailStr | None = None
    region_code: str | None = RegionCode
    channel_id: uuid.UUID | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    region_code: str | None
    channel_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    lifecycle_stage: Stage
    grade: str | None
    promoted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    detail: dict[str, Any]
