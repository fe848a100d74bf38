"""The compatibility rule of a published version, and the committed baseline it guards.

`shared/contracts/baseline.json` records every event's wire schema; a change to an
existing version must stay compatible with it (`make contracts-baseline` records
additions). The comparison itself is tested on small pydantic models first.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, create_model

from crm_contracts import compatibility
from crm_contracts.compatibility import additions, incompatibilities

pytestmark = pytest.mark.unit

BASELINE = Path(__file__).resolve().parents[1] / "baseline.json"
KEY = "shop.order.placed.v1"


def schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


class Line(BaseModel):
    sku: str
    quantity: int


#: The fields of the synthetic event, as `create_model` takes them: (type, default).
FIELDS: dict[str, Any] = {
    "order_id": (uuid.UUID, ...),
    "title": (str, ...),
    "status": (Literal["open", "paid"], ...),
    "note": (str | None, None),
    "lines": (list[Line], ...),
}


def placed(line: type[BaseModel] = Line, **changes: Any) -> dict[str, Any]:
    """The event's schema with `changes` to its fields (None removes one)."""
    fields = {**FIELDS, "lines": (list[line], ...), **changes}  # type: ignore[valid-type]
    kept = {name: spec for name, spec in fields.items() if spec is not None}
    return schema(create_model("Placed", **kept))


BEFORE = {KEY: placed()}


def verdict(line: type[BaseModel] = Line, **changes: Any) -> list[str]:
    return incompatibilities(BEFORE, {KEY: placed(line, **changes)})


# -- compatible ---------------------------------------------------------------


def test_the_same_schema_is_compatible_and_adds_nothing() -> None:
    assert verdict() == []
    assert additions(BEFORE, {KEY: placed()}) == []


def test_adding_an_optional_field_is_compatible() -> None:
    assert verdict(channel=(str | None, None)) == []
    assert additions(BEFORE, {KEY: placed(channel=(str | None, None))}) == [
        f"{KEY}: changed since the baseline"
    ]


def test_an_optional_field_in_a_nested_object_a_new_doc_or_reordered_types_are_compatible() -> None:
    class Line(BaseModel):
        """Now documented."""

        sku: str
        quantity: int
        colour: str | None = None

    assert verdict(Line, note=(None | str, None)) == []  # None first: the reordering is the point


def test_a_new_event_or_version_is_compatible() -> None:
    after = {**BEFORE, "shop.order.placed.v2": schema(Line)}
    assert incompatibilities(BEFORE, after) == []
    assert additions(BEFORE, after) == ["shop.order.placed.v2: a new event"]


# -- incompatible ---------------------------------------------------------------


def test_removing_or_renaming_a_field_is_incompatible() -> None:
    assert verdict(note=None) == [f"{KEY}.note: removed (or renamed)"]
    # `title` is a field here, not the JSON-schema annotation of the same name.
    assert verdict(title=None, heading=(str, ...)) == [
        f"{KEY}.title: removed (or renamed)",
        f"{KEY}.heading: a new field that is required",
    ]


def test_changing_a_fields_type_is_incompatible() -> None:
    problems = verdict(order_id=(str, ...), note=(int | None, None))
    assert len(problems) == 2
    assert problems[0].startswith(f"{KEY}.order_id: type changed from")
    assert problems[1].startswith(f"{KEY}.note: type changed from")


def test_widening_to_null_or_adding_an_allowed_value_is_incompatible() -> None:
    problems = verdict(title=(str | None, ...), status=(Literal["open", "paid", "refunded"], ...))
    assert [p.split(":")[0] for p in problems] == [f"{KEY}.title", f"{KEY}.status"]


def test_making_an_optional_field_required_is_incompatible() -> None:
    assert verdict(note=(str | None, ...)) == [f"{KEY}.note: optional before, required now"]


def test_adding_a_required_field_is_incompatible() -> None:
    assert verdict(channel=(str, ...)) == [f"{KEY}.channel: a new field that is required"]


def test_making_a_required_field_optional_is_incompatible() -> None:
    assert verdict(title=(str, "")) == [f"{KEY}.title: required before, optional now"]


def test_a_change_inside_a_nested_object_is_found_with_its_path() -> None:
    class Line(BaseModel):
        sku: str
        quantity: float

    problems = verdict(Line)
    assert len(problems) == 1
    assert problems[0].startswith(f"{KEY}.lines[].quantity: type changed from")


def test_removing_an_event_is_incompatible() -> None:
    assert incompatibilities(BEFORE, {}) == [f"{KEY}: the event was removed"]


# -- the CRM's own contracts ------------------------------------------------------


def test_every_published_version_is_compatible_with_the_baseline() -> None:
    baseline = json.loads(BASELINE.read_text())
    problems = incompatibilities(baseline, compatibility.schemas())
    assert problems == [], "a breaking change to a published version: publish a `.vN+1` beside it"


def test_the_baseline_records_every_event_and_field() -> None:
    """So a field added now is guarded against removal later."""
    baseline = json.loads(BASELINE.read_text())
    assert additions(baseline, compatibility.schemas()) == [], "record them: `make contracts-baseline`"


def test_the_command_writes_additions_and_refuses_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "baseline.json"
    assert compatibility.main(["write", str(path)]) == 0
    assert compatibility.main(["check", str(path)]) == 0

    recorded = json.loads(path.read_text())
    key = "sales.order.placed.v1"
    recorded[key]["properties"]["retired"] = {"type": "string"}
    recorded[key]["required"].append("retired")
    path.write_text(json.dumps(recorded))
    capsys.readouterr()

    assert compatibility.main(["check", str(path)]) == 1
    assert f"incompatible: {key}.retired: removed (or renamed)" in capsys.readouterr().err
    assert compatibility.main(["write", str(path)]) == 1
    assert json.loads(path.read_text()) == recorded, "refused, nothing written"
    assert compatibility.main(["write", str(path), "--accept-breaking"]) == 0
    assert json.loads(path.read_text()) == compatibility.schemas()
