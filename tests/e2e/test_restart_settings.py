"""The local runner restarts a service with another RETRY_DELAY_S and DELIVERY_LIMIT: it
starts, is ready, and RabbitMQ applies the new values to the queues it already has (they
are policies, set from the service's settings at each start; as queue arguments they
made the second start fail with PRECONDITION_FAILED). One service of a stack of its own;
the kit's tests (shared/kit/tests/test_policies.py) show the delay and the limit at work."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, delete_namespace, fresh_database, unique_namespace

from ..harness import ROOT, SERVICES, Stack, free_port_block

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs this machine's RabbitMQ"),
]

SERVICE = "accounting"


def rabbitmqctl_json(*args: str) -> list[dict[str, Any]]:
    import stack as local_stack  # deploy/local, on sys.path through tests/harness.py

    listed: list[dict[str, Any]] = local_stack.rabbitmqctl_json(*args)
    return listed


def effective_policies(namespace: str) -> dict[str, dict[str, Any]]:
    """The definition of the policy RabbitMQ applies to each of the namespace's queues,
    by queue name; and no queue carries an argument but its type."""
    definitions = {p["name"]: json.loads(p["definition"]) for p in rabbitmqctl_json("list_policies")}
    applied = {}
    for queue in rabbitmqctl_json("list_queues", "name", "policy", "arguments"):
        if queue["name"].startswith(f"{namespace}."):
            # [[key, type, value], ...]
            assert [(a[0], a[2]) for a in queue["arguments"]] == [("x-queue-type", "quorum")], queue
            applied[queue["name"]] = definitions.get(queue["policy"]) or {}
    return applied


async def test_a_service_restarted_with_new_retry_settings_is_ready_and_its_queues_take_them(
    infra: Infra, tmp_path: Path
) -> None:
    namespace = unique_namespace("rs")
    prefix = f"crm_{namespace}_"
    await fresh_database(infra, f"{prefix}{SERVICE}")
    stack = Stack(
        amqp_url=infra.amqp_url,
        database_server_url=infra.database_url,
        port_base=free_port_block(len(SERVICES)),
        namespace=namespace,
        database_prefix=prefix,
        state_dir=tmp_path,
        log_dir=ROOT / ".local" / "test-logs" / namespace,
        env_overrides={SERVICE: {"RETRY_DELAY_S": "1.5", "DELIVERY_LIMIT": "7"}},
    )
    queue, retry = f"{namespace}.{SERVICE}", f"{namespace}.{SERVICE}.retry"
    try:
        await asyncio.to_thread(stack.migrate, SERVICE)
        stack.start(SERVICE)
        await asyncio.to_thread(stack.wait_ready, (SERVICE,), 60)
        before = effective_policies(namespace)
        assert before[queue]["delivery-limit"] == 7
        assert before[retry]["message-ttl"] == 1500
        stack.stop(SERVICE)

        stack.env_overrides[SERVICE] = {"RETRY_DELAY_S": "4", "DELIVERY_LIMIT": "3"}
        stack.start(SERVICE)
        await asyncio.to_thread(stack.wait_ready, (SERVICE,), 60)  # raises if it exited
        after = effective_policies(namespace)
    finally:
        stack.stop_all()
        stack.remove_policies()
        await delete_namespace(infra.amqp_url, namespace, [SERVICE])
        await drop_database(infra.database(f"{prefix}{SERVICE}"))
    assert after[queue] == {**before[queue], "delivery-limit": 3}
    assert after[retry] == {**before[retry], "message-ttl": 4000}
    assert after[queue]["dead-letter-exchange"] == f"{namespace}.dlx"
    assert after[retry]["dead-letter-routing-key"] == "back"
    assert not effective_policies(namespace), "the queues are left behind"
    assert not [p for p in rabbitmqctl_json("list_policies") if p["name"].startswith(namespace)]
