"""Events as the outside world sees them: published as a producer's relay publishes
them, and received by the documented outside subscriber (`docs/examples/subscriber.py`)
running as its own process, with whichever Python a test gives it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aio_pika

from crm_contracts import Envelope

from .infra import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "subscriber.py"


async def publish_as_relay(
    exchange: aio_pika.abc.AbstractExchange, envelope: Envelope, routing_key: str | None = None
) -> None:
    """As `crm_kit.outbox` publishes: persistent, `mandatory`, the event id as the message id."""
    await exchange.publish(
        aio_pika.Message(
            envelope.model_dump_json().encode(),
            message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=routing_key or envelope.routing_key,
        mandatory=True,
    )


@dataclass
class Subscriber:
    process: asyncio.subprocess.Process

    async def line(self, timeout: float = 30) -> str:
        """The next line it printed."""
        assert self.process.stdout is not None
        return (await asyncio.wait_for(self.process.stdout.readline(), timeout=timeout)).decode().strip()

    async def exit_code(self, timeout: float = 10) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout=timeout)


@asynccontextmanager
async def example_subscriber(
    python: str | Path, amqp_url: str, namespace: str, *, isolated: bool = False
) -> AsyncIterator[Subscriber]:
    """The example, bound to `<namespace>.events` on a queue of its own (it has said
    "subscribed") and stopping after one event; `isolated` runs it with `python -I`
    (no PYTHONPATH, no user site). Killed if still running, and its queue deleted, after."""
    queue = f"{namespace}.outside-{uuid.uuid4().hex[:6]}"
    flags = ["-I"] if isolated else []
    process = await asyncio.create_subprocess_exec(
        str(python),
        *flags,
        str(EXAMPLE),
        *(amqp_url, queue, "--namespace", namespace, "--max", "1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    subscriber = Subscriber(process)
    try:
        first = await subscriber.line()
        if first != "subscribed":
            if process.returncode is None:
                process.kill()
            assert process.stderr is not None
            raise AssertionError(f"the subscriber said {first!r}: {(await process.stderr.read()).decode()}")
        yield subscriber
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            await (await connection.channel()).queue_delete(queue)
