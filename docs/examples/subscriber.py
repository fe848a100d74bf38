"""An outside system subscribing to the CRM's events with the contracts package alone.

    pip install "./shared/contracts[amqp]"   # crm-contracts and aio-pika; see its README
    python docs/examples/subscriber.py amqp://user:pass@host:5672/ my-system.promotions

It binds a queue of its own to `crm.events` for CustomerPromotedToTraditional and
prints each promoted customer. `--namespace` is for test runs (default `crm`);
`--max` stops after that many events.
"""

from __future__ import annotations

import argparse
import asyncio

import aio_pika

from crm_contracts import CustomerPromotedToTraditional, decode


async def main(amqp_url: str, queue_name: str, namespace: str = "crm", max_events: int | None = None) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=50)
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, routing_key=CustomerPromotedToTraditional.routing_key)
        print("subscribed", flush=True)
        seen = 0
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process(requeue=True):  # ack after handling
                    event = decode(message.body).payload(CustomerPromotedToTraditional)
                    print(f"{event.customer_id} {event.name} is now a traditional customer", flush=True)
                seen += 1
                if max_events is not None and seen >= max_events:
                    return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print the CRM's customer promotions.")
    parser.add_argument("amqp_url")
    parser.add_argument("queue")
    parser.add_argument("--namespace", default="crm")
    parser.add_argument("--max", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.amqp_url, args.queue, args.namespace, args.max))
