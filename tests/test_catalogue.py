"""The committed event catalogue is what the contracts say."""

from pathlib import Path

import pytest

from crm_contracts.catalogue import render

pytestmark = pytest.mark.unit

CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def test_committed_catalogue_matches_the_contracts():
    assert CATALOGUE.read_text() == render(), (
        "docs/events.md is stale: run `.venv/bin/python -m crm_contracts.catalogue > docs/events.md`"
    )


def test_catalogue_names_every_routing_key():
    from crm_contracts import published_contracts

    text = CATALOGUE.read_text()
    for contract in published_contracts():
        assert f"`{contract.routing_key}`" in text
