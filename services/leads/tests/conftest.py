"""The leads service in-process against the real Postgres and RabbitMQ.

One app for the leads tests (`crm_testkit.service.running_service`): a fresh database
and a bus namespace of its own (both removed after), tokens signed with a fresh key pair.
Each test makes its own members of staff, so their leads are theirs alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from crm_kit.auth import Role, User
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, Staff, running_service
from leads.app import create_app
from leads.settings import Settings


class LeadsService(ServiceUnderTest[Settings]):
    async def staff(
        self, role: Role, *, username: str | None = None, active: bool = True, in_directory: bool = True
    ) -> Staff:
        """A member of staff with a token, in the service's directory from `UserRegistered`;
        `active=False`: deactivated since, `in_directory=False`: not heard of (yet)."""
        if not in_directory:
            user = User(
                id=uuid.uuid4(), username=username or f"{role.value[:5]}.{uuid.uuid4().hex[:8]}", role=role
            )
            return Staff(user, self.headers_for(user))
        member = await super().staff(role, username=username)
        if not active:
            await self.deactivate(member)
        return member


@pytest.fixture(scope="session")
async def leads(infra: Infra) -> AsyncIterator[LeadsService]:
    async with running_service(
        infra,
        "leads",
        create_app,
        Settings,
        kind=LeadsService,
        # Nothing consumes leads' events in this namespace; the outbox rows are what we check.
        relay_enabled=False,
        retry_delay_s=0.5,
    ) as running:
        yield running
