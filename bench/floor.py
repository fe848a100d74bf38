"""The floor under one event's CPU: what each client layer costs per message and per statement.

`bench/profile.py` says where a promotion's CPU goes; this says how low each part can go
on this machine, so that a target can be checked against arithmetic before code:

    .venv/bin/python bench/floor.py            # both parts
    .venv/bin/python bench/floor.py consume    # per message: aiormq, aio-pika, FastStream
    .venv/bin/python bench/floor.py statements # per statement: the ORM session, Core, the driver

`consume`: a child process publishes persistent, confirmed messages into a quorum queue at
`FLOOR_RATE` a second (200) for `FLOOR_SECONDS` (6); this process consumes and acks each, the
way the kit's consumer does, through each layer in turn, and prints its own CPU
(`time.process_time`, user + kernel) per message. `statements`: inside one open transaction
on a database migrated like leads', the kit's inbox claim and `customer_copy.record` through
the ORM session, through Core and by hand on asyncpg, and the frame around them (a session's
BEGIN ... COMMIT against the driver's). Needs `AMQP_URL` and `DATABASE_URL`; the queues and
the database it makes are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
import uvloop

RATE = int(os.environ.get("FLOOR_RATE", "200"))
SECONDS = float(os.environ.get("FLOOR_SECONDS", "6"))
REPEAT = 1500
LAYERS = ("aiormq", "aio-pika", "faststream")
BODY = b'{"event": "customer.promoted_to_traditional"}' * 12


def amqp_url() -> str:
    return os.environ["AMQP_URL"]


async def publish(queue: str, count: int) -> None:
    """The child process: `count` messages at `RATE` a second, each confirmed."""
    connection = await aio_pika.connect(amqp_url())
    channel = await connection.channel(publisher_confirms=True)
    await asyncio.sleep(1.0)  # the consumer is ready
    start = time.perf_counter()
    for i in range(count):
        message = aio_pika.Message(BODY, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=str(i))
        await channel.default_exchange.publish(message, routing_key=queue)
        delay = start + (i + 1) / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await connection.close()


async def consume(layer: str) -> float:
    """CPU microseconds per message consumed and acked through `layer`."""
    queue, count = f"bench_floor_{layer}", int(RATE * SECONDS)
    connection = await aio_pika.connect(amqp_url())
    channel = await connection.channel()
    await channel.queue_delete(queue)
    await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    done, seen = asyncio.Event(), 0

    def one() -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    stop: Callable[[], Awaitable[Any]]
    if layer == "aiormq":
        raw = await aiormq.connect(amqp_url())
        raw_channel = await raw.channel()
        await raw_channel.basic_qos(prefetch_count=64)

        async def on_raw(message: aiormq.abc.DeliveredMessage) -> None:
            await raw_channel.basic_ack(message.delivery_tag)  # type: ignore[arg-type]
            one()

        await raw_channel.basic_consume(queue, on_raw)
        stop = raw.close
    elif layer == "aio-pika":
        robust = await aio_pika.connect_robust(amqp_url())
        robust_channel = await robust.channel()
        await robust_channel.set_qos(prefetch_count=64)

        async def on_pika(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.channel.basic_ack(delivery_tag=message.delivery_tag, wait=False)  # type: ignore[arg-type]
            one()

        await (await robust_channel.get_queue(queue)).consume(on_pika)
        stop = robust.close
    else:
        from faststream import AckPolicy
        from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

        # Configured as `crm_kit.bus.EventBus` configures it: no dependency injection,
        # the message undecoded, acked by hand.
        broker = RabbitBroker(
            amqp_url(),
            default_channel=Channel(prefetch_count=64),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            apply_types=False,
            log_level=logging.DEBUG,
        )

        async def undecoded(message: Any) -> Any:
            return message

        async def on_stream(message: Any) -> None:
            raw_message = message.raw_message
            raw_message.lock()
            await raw_message.channel.basic_ack(delivery_tag=raw_message.delivery_tag, wait=False)
            one()

        subscriber = broker.subscriber(RabbitQueue(queue, durable=True, arguments={"x-queue-type": "quorum"}))
        subscriber(on_stream, decoder=undecoded)
        await broker.start()
        stop = broker.stop

    publisher = subprocess.Popen([sys.executable, __file__, "publish", queue, str(count)])
    await asyncio.sleep(0.5)
    cpu = time.process_time()
    await done.wait()
    per_message = (time.process_time() - cpu) / count * 1e6
    publisher.wait()
    await stop()
    await channel.queue_delete(queue)
    await connection.close()
    return per_message


async def statements() -> dict[str, float]:
    """CPU microseconds per statement (and per transaction frame), three ways."""
    from crm_contracts import CustomerPromotedToTraditional
    from crm_kit import customer_copy, inbox
    from crm_kit.customer_copy import Fact
    from crm_kit.db import Database
    from crm_kit.migrations import connect_to_server
    from crm_testkit.infra import Infra, migrated_database

    infra = Infra(amqp_url(), os.environ["DATABASE_URL"], "environment")
    url = await migrated_database(infra, "leads", "bench_floor_leads")
    db = Database(url)
    claim_by_hand = """INSERT INTO inbox (consumer, event_id, routing_key)
        SELECT $1, e, r FROM unnest($2::uuid[], $3::text[]) AS t(e, r) ORDER BY e
        ON CONFLICT DO NOTHING RETURNING event_id"""

    def promotion() -> Fact:
        return Fact.of_promotion(
            CustomerPromotedToTraditional(
                customer_id=uuid.uuid4(),
                owner_id=uuid.uuid4(),
                name="Công ty Thiết bị Hà Nội",
                region_code="HN",
                channel_id=None,
                tax_code=None,
                legal_name=None,
                billing_address=None,
                promoted_at=datetime.now(UTC),
            )
        )

    async def orm_claim(session: Any, conn: Any, driver: Any) -> None:
        await inbox.claim_many(session, "leads", [(uuid.uuid4(), "k")])

    async def core_claim(session: Any, conn: Any, driver: Any) -> None:
        row = {"consumer": "leads", "event_id": uuid.uuid4(), "routing_key": "k"}
        await conn.execute(inbox._CLAIM, [row])

    async def driver_claim(session: Any, conn: Any, driver: Any) -> None:
        await driver.fetch(claim_by_hand, "leads", [uuid.uuid4()], ["k"])

    async def orm_record(session: Any, conn: Any, driver: Any) -> None:
        await customer_copy.record(session, [promotion()])

    async def core_record(session: Any, conn: Any, driver: Any) -> None:
        fact = promotion()
        await conn.execute(customer_copy._statement(*fact.shape), [fact.row()])

    async def driver_select(session: Any, conn: Any, driver: Any) -> None:
        await driver.fetchval("SELECT 1")

    results: dict[str, float] = {}
    for name, step in [
        ("inbox claim, ORM session", orm_claim),
        ("inbox claim, Core", core_claim),
        ("inbox claim, asyncpg", driver_claim),
        ("customer_copy.record, ORM session", orm_record),
        ("customer_copy.record, Core", core_record),
        ("SELECT 1, asyncpg", driver_select),
    ]:
        async with db.transaction() as session:
            conn = await session.connection()
            driver = (await conn.get_raw_connection()).driver_connection
            await step(session, conn, driver)  # prepared, cached
            cpu = time.process_time()
            for _ in range(REPEAT):
                await step(session, conn, driver)
            results[name] = (time.process_time() - cpu) / REPEAT * 1e6

    async def session_frame() -> None:
        async with db.transaction() as session:
            await (await session.connection()).exec_driver_sql("SELECT 1")

    async def driver_frame() -> None:
        async with db.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            async with driver.transaction():
                await driver.fetchval("SELECT 1")

    for name, frame in [
        ("BEGIN, SELECT 1, COMMIT: ORM session", session_frame),
        ("BEGIN, SELECT 1, COMMIT: asyncpg", driver_frame),
    ]:
        await frame()
        cpu = time.process_time()
        for _ in range(REPEAT):
            await frame()
        results[name] = (time.process_time() - cpu) / REPEAT * 1e6
    await db.dispose()
    server, name = await connect_to_server(url)
    await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await server.close()
    return results


async def main(parts: list[str]) -> None:
    if "consume" in parts:
        print(f"per message consumed and acked, {RATE}/s for {SECONDS:.0f} s, CPU of the consumer:")
        for layer in LAYERS:
            print(f"  {layer:12s} {await consume(layer):6.0f} us")
    if "statements" in parts:
        print(f"per statement inside a transaction ({REPEAT} each), CPU of the client:")
        for name, us in (await statements()).items():
            print(f"  {name:40s} {us:6.0f} us")


if __name__ == "__main__":
    if sys.argv[1:2] == ["publish"]:
        uvloop.run(publish(sys.argv[2], int(sys.argv[3])))
    else:
        uvloop.run(main(sys.argv[1:] or ["consume", "statements"]))
