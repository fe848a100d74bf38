"""The committed event documentation is what the code says."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from crm_contracts import published_contracts

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_documents_match_the_code():
    stale = [
        str(path.relative_to(ROOT))
        for path, text in load_generator().documents().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale, run `.venv/bin/python docs/generate.py`: {stale}"


def test_every_event_has_a_producer_and_a_consumer():
    """An event no queue is bound to is returned to its publisher, whose outbox then retries it."""
    consumed = load_generator().consumers_by_key()
    orphans = [c.routing_key for c in published_contracts() if not consumed.get(c.routing_key)]
    assert orphans == []


def test_each_asyncapi_document_lists_what_the_service_sends_and_receives():
    accounting = json.loads((ROOT / "docs" / "asyncapi" / "accounting.json").read_text())
    assert accounting["asyncapi"].startswith("3.")
    actions = {name: op["action"] for name, op in accounting["operations"].items()}
    assert actions["sendCreditChecked"] == "send"
    assert actions["receiveOrderPlaced"] == "receive"
    assert actions["receiveQuoteSubmittedForApproval"] == "receive"
    channel = accounting["channels"]["sales.order.placed.v1"]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "crm.events"
