"""Each service connects to RabbitMQ as its own user, who may publish only its own
events and read only its own queue."""

from __future__ import annotations

import json
from pathlib import Path

import aio_pika
import aiormq
import pytest

from ..harness import ROOT, SERVICES, report_line

pytestmark = [pytest.mark.e2e, pytest.mark.security]


def broker_definitions():
    import stack as local_stack  # deploy/local, on sys.path through tests/harness.py

    return local_stack.broker_definitions


def test_the_local_runs_users_have_exactly_the_deployments_rights():
    """`make run` and the tests make users with the rights compose imports."""
    made = broker_definitions()("crm", {s: (s, s) for s in SERVICES})
    deployed = json.loads(Path(ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    assert made["permissions"] == [p for p in deployed["permissions"] if p["user"] in SERVICES]
    assert made["topic_permissions"] == deployed["topic_permissions"]


async def connect_as(stack, infra, service: str) -> aio_pika.abc.AbstractRobustConnection:
    user, password = stack.broker_credentials[service]
    from stack import with_credentials

    return await aio_pika.connect(with_credentials(infra.amqp_url, user, password))


async def test_each_service_is_connected_as_its_own_user(stack):
    if not stack.broker_credentials:
        pytest.skip("RabbitMQ is not this machine's: the stack runs with the shared user")
    for service in SERVICES:
        env = stack.env(service)
        assert f"//{stack.broker_credentials[service][0]}:" in env["AMQP_URL"], service


async def test_the_sales_user_cannot_publish_an_accounting_event_or_read_accountings_queue(stack, infra):
    if not stack.broker_credentials:
        pytest.skip("RabbitMQ is not this machine's: the stack runs with the shared user")
    events = f"{stack.namespace}.events"
    connection = await connect_as(stack, infra, "sales")
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(events, ensure=False)
        # Its own events: confirmed (nothing is bound to this key, so nothing receives it).
        await exchange.publish(aio_pika.Message(b"{}"), routing_key="sales.probe.allowed.v1")

        with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as published:
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="accounting.credit.checked.v1")
        report_line(f"[broker] sales publishing an accounting event: {published.value}")

        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as read:
            queue = await channel.get_queue(f"{stack.namespace}.accounting", ensure=False)
            await queue.get(fail=False)
        report_line(f"[broker] sales reading accounting's queue: {read.value}")

        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await channel.declare_queue(f"{stack.namespace}.accounting.evil", durable=True)
    assert "ACCESS_REFUSED" in str(published.value) and "ACCESS_REFUSED" in str(read.value)
