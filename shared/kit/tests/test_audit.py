"""The audit trail's pure parts: only what changed is kept, as JSON."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from crm_kit import audit

pytestmark = pytest.mark.unit


def test_only_the_fields_that_changed_are_kept_as_json() -> None:
    who = uuid.uuid4()
    before, after = audit.changed(
        {"name": "A", "active": True, "owner": who, "codes": ["01"]},
        {"name": "B", "active": True, "owner": who, "codes": ["01", "79"], "since": date(2026, 1, 2)},
    )
    assert before == {"name": "A", "codes": ["01"]}
    assert after == {"name": "B", "codes": ["01", "79"], "since": "2026-01-02"}


def test_nothing_changed_is_nothing() -> None:
    assert audit.changed({"a": 1, "b": None}, {"a": 1}) == ({}, {})


def test_a_set_is_kept_sorted() -> None:
    assert audit.jsonable({"codes": {"79", "01"}}) == {"codes": ["01", "79"]}
