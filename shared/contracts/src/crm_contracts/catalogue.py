"""Writes the event catalogue (`docs/events.md`) from the contracts themselves.

    python -m crm_contracts.catalogue > docs/events.md

A test fails when the committed catalogue and the code differ.
"""

from __future__ import annotations

from typing import Any

from . import Event, published_contracts

HEADER = """# Event catalogue

Generated from `shared/contracts` by `python -m crm_contracts.catalogue`; do not edit by hand.

Every event is published to the durable topic exchange `crm.events` with the routing
key below, as a persistent JSON message whose AMQP `message_id` is the envelope's
`event_id` and whose `correlation_id` is the envelope's. Subscribe by binding your own
queue to the routing keys you need (see `deploy/README.md` for users and permissions).
Within a version, fields are only ever added and are optional; a breaking change is
published as a new `.vN+1` beside the old one. Install the `crm-contracts` package
(pydantic only) to decode them: `crm_contracts.decode(body).payload(Contract)`.

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


def render() -> str:
    parts = [HEADER]
    by_source: dict[str, list[type[Event]]] = {}
    for contract in published_contracts():
        by_source.setdefault(contract.source_service(), []).append(contract)
    for source in sorted(by_source):
        parts.append(f"\n## Published by {source}\n")
        for contract in sorted(by_source[source], key=lambda c: c.routing_key):
            parts.append(_render_one(contract))
    return "".join(parts)


def _render_one(contract: type[Event]) -> str:
    schema = contract.model_json_schema()
    required = set(schema.get("required", []))
    doc = " ".join((contract.__doc__ or "").split())
    lines = [
        f"\n### {contract.__name__}\n",
        f"\nRouting key `{contract.routing_key}`. {doc}\n",
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


if __name__ == "__main__":
    print(render(), end="")
