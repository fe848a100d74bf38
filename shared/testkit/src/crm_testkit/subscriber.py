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

from crm_contracts import Envelope, decode

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


@dataclass
class ReplayQueue:
    """An outside subscriber's new queue, bound to `<namespace>.replay` with its own name
    (as `crm_kit.replay` asks), and what reached it."""

    name: str
    queue: aio_pika.abc.AbstractQueue

    async def receive(self, count: int, *, quiet_s: float = 2.0, timeout: float = 60) -> list[Envelope]:
        """The envelopes received until `count` arrived (or `timeout` passed) and then
        nothing more for `quiet_s`: a second copy would show up in that time."""
        received: list[Envelope] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_until = None
        while loop.time() < deadline:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is not None:
                received.append(decode(message.body))
                quiet_until = None
                continue
            if len(received) >= count:
                quiet_until = quiet_until or loop.time() + quiet_s
                if loop.time() >= quiet_until:
                    break
            await asyncio.sleep(0.1)
        return received


@asynccontextmanager
async def replay_queue(amqp_url: str, namespace: str, *, bound: bool = True) -> AsyncIterator[ReplayQueue]:
    """A queue of an outside system's own, bound (unless `bound` is false) to the replay
    exchange; deleted after."""
    name = f"{namespace}.late-{uuid.uuid4().hex[:6]}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        if bound:
            exchange = await channel.get_exchange(f"{namespace}.replay")
            await queue.bind(exchange, routing_key=name)
        try:
            yield ReplayQueue(name, queue)
        finally:
            await channel.queue_delete(name)
