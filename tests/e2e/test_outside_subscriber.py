"""The documented example subscriber (docs/examples/subscriber.py) receives a promotion."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest

from crm_kit.auth import Role

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "subscriber.py"


async def test_the_documented_subscriber_sees_a_promotion(stack, new_user, infra):
    queue = f"{stack.namespace}.outside-{uuid.uuid4().hex[:6]}"
    subscriber = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        infra.amqp_url,
        queue,
        "--namespace",
        stack.namespace,
        "--max",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert subscriber.stdout is not None
        first = await asyncio.wait_for(subscriber.stdout.readline(), timeout=30)
        assert first.decode().strip() == "subscribed"

        seller = await new_user(Role.SALESPERSON)
        made = await seller.client.post(
            "/api/customers", json={"confirm_duplicate": True, "name": "Công ty Bên Ngoài"}
        )
        cid = made.json()["id"]
        await seller.client.post(f"/api/customers/{cid}/promote")

        line = await asyncio.wait_for(subscriber.stdout.readline(), timeout=30)
        assert line.decode().strip() == f"{cid} Công ty Bên Ngoài is now a traditional customer"
        assert await asyncio.wait_for(subscriber.wait(), timeout=10) == 0
    finally:
        if subscriber.returncode is None:
            subscriber.kill()
        import aio_pika

        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            await (await connection.channel()).queue_delete(queue)
