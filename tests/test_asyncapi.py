"""The AsyncAPI documents (docs/asyncapi/*.json) are valid AsyncAPI 3.0 and describe the wire.

Valid: checked offline against the official AsyncAPI 3.0.0 JSON schema
(tests/schemas/asyncapi-3.0.0.json, see tests/schemas/README.md) and, where `node` is
on PATH, by the official parser (`@asyncapi/parser`, installed once into
`.local/node/`). The wire: a message's payload schema accepts the bodies the outbox
publishes (`Envelope.wrap(event).model_dump_json()`) and refuses a body that is not one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from crm_contracts import CustomerPromotedToTraditional, Envelope, Event, OrderLine, OrderPlaced

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "docs" / "asyncapi").glob("*.json"))
SCHEMA_FILE = ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json"
PARSE_SCRIPT = ROOT / "tests" / "asyncapi_parse.cjs"
#: Where the parser is installed for the tests (ignored by git, like all of `.local/`).
NODE_PREFIX = ROOT / ".local" / "node"
PARSER = "@asyncapi/parser@3.6.6"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@pytest.mark.unit
def test_there_is_a_document_per_service() -> None:
    services = ["accounting", "customers", "gateway", "leads", "marketing", "sales"]
    assert [p.stem for p in DOCUMENTS] == services


@pytest.mark.unit
@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_each_document_is_valid_against_the_asyncapi_3_schema(path: Path) -> None:
    schema = _load(SCHEMA_FILE)
    # The schema declares draft-07 ("http://json-schema.org/draft-07/schema").
    validator = jsonschema.Draft7Validator(schema)
    errors = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {_deepest(error).message}"
        for error in validator.iter_errors(_load(path))
    ]
    assert errors == []


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific of the alternatives an `anyOf`/`oneOf` error stands for."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def promotion() -> CustomerPromotedToTraditional:
    return CustomerPromotedToTraditional(
        customer_id=uuid.uuid4(),
        name="Công ty TNHH Thiết bị Hòa Bình",
        region_code="01",
        promoted_at=datetime.now(UTC),
    )


def order() -> OrderPlaced:
    line = OrderLine(
        product_code="MAY-01",
        product_name="Máy khoan",
        product_group="tools",
        quantity=2,
        unit_price=1_500_000,
        discount_pct=5.0,
        vat_rate_pct=10.0,
        net_amount=2_850_000,
        vat_amount=285_000,
    )
    return OrderPlaced(
        order_id=uuid.uuid4(),
        order_number="SO-2026-0001",
        quote_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        lines=[line],
        net_total=2_850_000,
        vat_total=285_000,
        total=3_135_000,
        placed_at=datetime.now(UTC),
        order_date=date(2026, 12, 3),
    )


def _wire(event: Event) -> Any:
    """The body as the outbox publishes it (crm_kit.outbox), parsed back."""
    envelope = Envelope.wrap(event, correlation_id="c-1", causation_id=uuid.uuid4())
    return json.loads(envelope.model_dump_json())


def _payload_validator(document: dict[str, Any], message: str) -> jsonschema.Validator:
    """A validator of one message's payload, its `#/components/...` references resolved
    in the document (AsyncAPI schemas are JSON Schema draft-07 supersets)."""
    root = {"$ref": f"#/components/messages/{message}/payload", "components": document["components"]}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())


@pytest.mark.unit
@pytest.mark.parametrize(
    ("service", "event"), [("customers", promotion()), ("sales", order()), ("accounting", order())]
)
def test_a_message_payload_is_the_envelope_as_published(service: str, event: Event) -> None:
    document = _load(ROOT / "docs" / "asyncapi" / f"{service}.json")
    validator = _payload_validator(document, type(event).__name__)
    body = _wire(event)
    assert [e.message for e in validator.iter_errors(body)] == []

    assert not validator.is_valid({k: v for k, v in body.items() if k != "event_id"})
    assert not validator.is_valid(body["data"]), "the payload is the envelope, not the bare event"
    assert not validator.is_valid({**body, "event_type": "sales.quote.approved"})
    assert not validator.is_valid({**body, "version": 2})
    for wrong in ("not-a-uuid", 12345):
        assert not validator.is_valid({**body, "data": {**body["data"], "customer_id": wrong}})
    missing = {**body, "data": {k: v for k, v in body["data"].items() if k != "name" and k != "lines"}}
    assert not validator.is_valid(missing)


@pytest.mark.unit
def test_publishing_and_consuming_bindings_are_on_operations() -> None:
    """AMQP 0.3.0 bindings: `deliveryMode` and `mandatory` describe a publish, `ack` a
    consume; a message binding carries only `messageType`."""
    document = _load(ROOT / "docs" / "asyncapi" / "accounting.json")
    sending = document["operations"]["sendCreditChecked"]["bindings"]["amqp"]
    receiving = document["operations"]["receiveOrderPlaced"]["bindings"]["amqp"]
    assert sending == {"deliveryMode": 2, "mandatory": True, "bindingVersion": "0.3.0"}
    assert receiving == {"ack": True, "bindingVersion": "0.3.0"}
    message = document["components"]["messages"]["OrderPlaced"]["bindings"]["amqp"]
    assert message == {"messageType": "sales.order.placed.v1", "bindingVersion": "0.3.0"}


def _node_parser() -> Path:
    """`node_modules` holding the official parser, installed with npm on first use."""
    modules = NODE_PREFIX / "node_modules"
    if not (modules / "@asyncapi" / "parser" / "package.json").exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund", "--silent", PARSER],
            check=True,
            timeout=240,
        )
    return modules


@pytest.mark.integration
def test_the_official_asyncapi_parser_accepts_every_document() -> None:
    """Needs `node` and `npm` (and the npm registry the first time): integration level."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not on PATH: the official AsyncAPI parser cannot run here")
    modules = _node_parser()
    run = subprocess.run(
        ["node", str(PARSE_SCRIPT), *map(str, DOCUMENTS)],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    reports = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["file"] for r in reports] == [str(p) for p in DOCUMENTS], run.stderr
    assert {Path(r["file"]).stem: r["errors"] for r in reports if r["errors"]} == {}
    assert run.returncode == 0, run.stderr
