"""The documented example subscriber (docs/examples/subscriber.py) receives a promotion."""

from __future__ import annotations

import sys

import pytest

from crm_kit.auth import Role
from crm_testkit.subscriber import example_subscriber

pytestmark = pytest.mark.e2e


async def test_the_documented_subscriber_sees_a_promotion(stack, new_user, infra):
    async with example_subscriber(sys.executable, infra.amqp_url, stack.namespace) as subscriber:
        seller = await new_user(Role.SALESPERSON)
        made = await seller.client.post(
            "/api/customers", json={"confirm_duplicate": True, "name": "Công ty Bên Ngoài"}
        )
        cid = made.json()["id"]
        await seller.client.post(f"/api/customers/{cid}/promote")

        assert await subscriber.line() == f"{cid} Công ty Bên Ngoài is now a traditional customer"
        assert await subscriber.exit_code() == 0
