from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: uuid.UUID
    customer_name: str
    owner_id: uuid.UUID | None
    currency: str
    credit_limit: int
    balance: int
    opened_at: datetime
    updated_at: datetime


class AccountUpdate(BaseModel):
    """What an accountant may change on an account; the balance moves only by invoices and payments."""

    model_config = ConfigDict(extra="forbid")

    credit_limit: int = Field(ge=0, le=10**15, description="integer dong")
