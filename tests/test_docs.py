"""The committed documentation read from the code (events, AsyncAPI, HTTP API) is what the code says."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from crm_contracts import published_contracts

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_documents_match_the_code(generator: ModuleType) -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generator.documents().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale, run `.venv/bin/python docs/generate.py`: {stale}"


def test_every_event_has_a_producer_and_a_consumer(generator: ModuleType) -> None:
    """An event no queue is bound to is returned to its publisher, whose outbox then retries it."""
    consumed = generator.consumers_by_key()
    orphans = [c.routing_key for c in published_contracts() if not consumed.get(c.routing_key)]
    assert orphans == []


def test_each_asyncapi_document_lists_what_the_service_sends_and_receives() -> None:
    accounting = json.loads((ROOT / "docs" / "asyncapi" / "accounting.json").read_text())
    assert accounting["asyncapi"].startswith("3.")
    actions = {name: op["action"] for name, op in accounting["operations"].items()}
    assert actions["sendCreditChecked"] == "send"
    assert actions["receiveOrderPlaced"] == "receive"
    assert actions["receiveQuoteSubmittedForApproval"] == "receive"
    channel = accounting["channels"]["sales.order.placed.v1"]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "crm.events"


def test_the_api_document_has_every_route_of_every_service_under_its_owner(generator: ModuleType) -> None:
    """Read from each app's OpenAPI, not from the renderer: a route the renderer skipped
    would be missing however fresh the file is."""
    document = (ROOT / "docs" / "api.md").read_text()
    sections = {
        title: body for title, body in re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", document, re.M | re.S)
    }
    # In the section of routes served directly: each heading, then "Served by a, b, c."
    direct = {
        (route, service)
        for route, served in re.findall(
            r"^#### `(.+?)`\n\nServed by (.+?)\.$", sections["Served by each service directly"], re.M
        )
        for service in served.split(", ")
    }
    missing = []
    for service in generator.SERVICES:
        for path, operations in generator.build_app(service).openapi()["paths"].items():
            for method in operations:
                route = f"{method.upper()} {path}"
                if f"#### `{route}`\n" not in sections[service] and (route, service) not in direct:
                    missing.append(f"{service}: {route}")
    assert missing == []


def test_the_api_document_sends_each_forwarded_path_to_the_service_that_serves_it(
    generator: ModuleType,
) -> None:
    from gateway.domain import owning_service

    document = (ROOT / "docs" / "api.md").read_text()
    for service in (s for s in generator.SERVICES if s != "gateway"):
        paths = generator.build_app(service).openapi()["paths"]
        forwarded = [p for p in paths if owning_service(p) is not None]
        assert forwarded, service
        assert all(owning_service(p) == service for p in forwarded), service
        for path in forwarded:
            assert f"| `/api/{path.split('/')[2]}/...` | {service} |" in document
