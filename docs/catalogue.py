"""Renders the event catalogue (`docs/events.md`) from the contracts themselves.

`docs/generate.py` writes it, with which service consumes each event (read from the
services' handler registries); a test fails when the committed file and the code differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_contracts import Event, published_contracts
from crm_contracts.compatibility import wire_schema

HEADER = """# Event catalogue

Generated from the code by `python docs/generate.py`; do not edit by hand. Each
service's AsyncAPI document is in [asyncapi/](asyncapi/).

Every event is published to the durable topic exchange `crm.events` with the routing
key below, as a persistent JSON message whose AMQP `message_id` is the envelope's
`event_id` and whose `correlation_id` is the envelope's. Subscribe by binding your own
queue to the routing keys you need (see `deploy/README.md` for users and permissions).
Install the `crm-contracts` package (pydantic only; see its
[README](../shared/contracts/README.md) for how) to decode them:
`crm_contracts.decode(body).payload(Contract)`.

## Versions and compatibility

A published version (`....v1`) changes only compatibly, so a consumer written against
it keeps working and still reads the messages published before a change:

- compatible: adding an *optional* field (with a default; old consumers ignore it, old
  messages lack it), adding an event, adding a new version of an event;
- not compatible: removing or renaming a field; changing its type, format or allowed
  values (making it nullable too); making an optional field required or adding a
  required one; making a required field optional; removing an event.

A breaking change is a new version, `....v2`, published beside `v1` (a new contract
class with its own routing key) until no consumer binds `v1` any more. The wire
schema of every event is recorded in `shared/contracts/baseline.json`; a unit test
(`shared/contracts/tests/test_compatibility.py`) fails on an incompatible change to a
recorded version, and on an addition not yet recorded. After a compatible change run
`make contracts-baseline` to record it; it refuses to record a breaking change (only
to retire a version that nothing consumes: `.venv/bin/python -m
crm_contracts.compatibility write shared/contracts/baseline.json --accept-breaking`).
The same check is in the package for subscribers:
`python -m crm_contracts.compatibility check <their baseline>`.

## Envelope

| field | type | meaning |
|---|---|---|
| `event_id` | UUID | unique per event; also the AMQP `message_id`; consumers de-duplicate on it |
| `event_type` | string | the routing key without its version |
| `version` | int | the contract's major version |
| `occurred_at` | timestamp (UTC) | when the change was committed |
| `source` | string | the publishing service |
| `correlation_id` | string | one business flow, minted at the gateway |
| `causation_id` | UUID or null | the event that caused this one |
| `actor` | UUID or null | the user who caused it |
| `data` | object | the payload below |
"""


def render(consumers: Mapping[str, Sequence[str]] | None = None) -> str:
    """The catalogue; `consumers` maps a routing key to the services that consume it."""
    parts = [HEADER]
    by_source: dict[str, list[type[Event]]] = {}
    for contract in published_contracts():
        by_source.setdefault(contract.source_service(), []).append(contract)
    for source in sorted(by_source):
        parts.append(f"\n## Published by {source}\n")
        for contract in sorted(by_source[source], key=lambda c: c.routing_key):
            parts.append(_render_one(contract, (consumers or {}).get(contract.routing_key)))
    parts.append(EXAMPLE)
    return "".join(parts)


def _render_one(contract: type[Event], consumers: Sequence[str] | None) -> str:
    schema = wire_schema(contract)
    required = set(schema.get("required", []))
    doc = " ".join((contract.__doc__ or "").split())
    consumed = ", ".join(consumers) if consumers else "no CRM service yet"
    lines = [
        f"\n### {contract.__name__}\n",
        f"\nRouting key `{contract.routing_key}`. Producer: {contract.source_service()}. "
        f"Consumers: {consumed}.\n\n{doc}\n",
        "\n| field | type | required |\n|---|---|---|\n",
    ]
    for name, prop in schema.get("properties", {}).items():
        lines.append(f"| `{name}` | {_type(prop)} | {'yes' if name in required else 'no'} |\n")
    return "".join(lines)


def _type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = str(prop.get("type", "object"))
    fmt = prop.get("format")
    return f"{kind} ({fmt})" if fmt else kind


EXAMPLE = """
## Subscribing from another system

A system outside the CRM binds a queue of its own to the routing keys it needs and
decodes with the contracts package alone, installed with its `amqp` extra (aio-pika),
as [its README](../shared/contracts/README.md) says. `docs/examples/subscriber.py`
(run by the test suite in a fresh virtual environment holding only the built wheel,
and against a running system):

```python
async def main(amqp_url: str, queue_name: str) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=50)
        exchange = await channel.declare_exchange("crm.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, routing_key=CustomerPromotedToTraditional.routing_key)
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process(requeue=True):  # ack after handling
                    event = decode(message.body).payload(CustomerPromotedToTraditional)
                    print(f"{event.customer_id} {event.name} is now a traditional customer")
```

Keep the `event_id` of what you handled: a message may come twice (at-least-once).

## Replaying past events to a new subscriber

A queue bound today gets what is published from now on. What was published before is
still in the producer's outbox for `OUTBOX_RETENTION_S` (7 days), and a replay
re-publishes it to *your queue alone*:

1. bind your queue, as above, to the live routing keys (so nothing published from now
   on is missed), and also to the direct exchange `crm.replay` with your queue's own
   name as the routing key (nobody else binds that key, so no other subscriber gets a
   copy);
2. an admin asks the service that publishes the events, through the gateway:
   `POST /api/admin/<service>/events/replay` with
   `{"routing_keys": ["customers.customer.promoted_to_traditional.v1"], "since":
   "2026-12-01T00:00:00Z", "queue": "my-system.promotions", "rate_per_s": 100}`, or an
   operator runs `python -m crm_kit.replay --types <keys> --since <iso time> --queue
   <name> [--rate N]` with that service's environment.

The answer (202) says how many events it replays: the sent ones of those keys written
since that time, in the order they were written, each with its original envelope and
`event_id` (also the AMQP `message_id`; the header `x-replayed` is set), at most
`rate_per_s` a second (1000 at most, 100 by default). A queue that does not exist is
refused (404), so are one not bound to `crm.replay` with its name, and a key the service
does not publish (422). An event published live after you bound your queue may also
come by replay: de-duplicating on `event_id`, as above, makes each count once.
"""
