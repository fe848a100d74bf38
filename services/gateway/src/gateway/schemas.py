from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_kit.auth import Role

from . import domain


class UserCreate(BaseModel):
    """A new user. `active` and the id are not settable here (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str
    full_name: str = Field(min_length=1, max_length=200)
    role: Role

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return domain.normalise_username(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return domain.check_password(value)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("full_name must not be blank")
        return value.strip()


class UserOut(BaseModel):
    """A user as the API shows it: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
