"""Whether today's contracts are compatible with a recorded baseline of their schemas.

The rule, for an event already published under a version (`....v1`): its payload may
only gain *optional* fields. Old consumers ignore a field they do not know, and new
consumers still read old messages, which lack it. Everything else breaks one of them
and is a new version (`....v2`) published beside the old one:

- removing or renaming a field (old consumers miss it),
- changing a field's type, format or allowed values, widening to null included
  (old consumers refuse the new value, new consumers the old one),
- making an optional field required, adding a required field (old messages lack it),
  or making a required field optional (a producer may then leave it out),
- removing an event (its consumers lose it); new events and new versions are additions.

The baseline maps each routing key to the payload's JSON schema as it is serialised
(`wire_schema`). The CRM keeps its own in `shared/contracts/baseline.json`; a
subscriber may keep one of the contracts it was written against, too:

    python -m crm_contracts.compatibility check baseline.json
    python -m crm_contracts.compatibility write baseline.json  # record additions
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .envelope import Event, published_contracts

Schema = dict[str, Any]

#: Keywords that describe a value without constraining it: changing them breaks no one.
ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated", "$comment"})


def wire_schema(contract: type[Event], ref_template: str = "#/$defs/{model}") -> Schema:
    """The JSON schema of the event's payload as it is serialised into an envelope's `data`."""
    return contract.model_json_schema(ref_template=ref_template, mode="serialization")


def schemas(contracts: Iterable[type[Event]] | None = None) -> dict[str, Schema]:
    """Each contract's wire schema by routing key (the CRM's own by default)."""
    chosen = published_contracts() if contracts is None else contracts
    return {c.routing_key: wire_schema(c) for c in sorted(chosen, key=lambda c: c.routing_key)}


def incompatibilities(baseline: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[str]:
    """What in `current` breaks a consumer of `baseline`, one line each; [] when compatible."""
    problems: list[str] = []
    for key, old in sorted(baseline.items()):
        if key not in current:
            problems.append(f"{key}: the event was removed")
            continue
        problems += _Comparison(old, current[key]).compare(key, old, current[key])
    return problems


def additions(baseline: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[str]:
    """Events, and fields of existing events, in `current` that `baseline` does not record."""
    found = [f"{key}: a new event" for key in sorted(set(current) - set(baseline))]
    for key in sorted(set(current) & set(baseline)):
        if _inline(current[key], current[key]) != _inline(baseline[key], baseline[key]):
            found.append(f"{key}: changed since the baseline")
    return found


class _Comparison:
    """Walks an old and a new schema side by side, each resolving its own `$ref`s."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root

    def compare(self, where: str, old: Schema, new: Schema) -> list[str]:
        old, new = _resolve(old, self.old_root), _resolve(new, self.new_root)
        if "properties" in old and "properties" in new:
            return self._objects(where, old, new)
        for keyword in ("anyOf", "oneOf"):
            if keyword in old and keyword in new:
                return self._alternatives(where, keyword, old, new)
        if old.get("type") == new.get("type") == "array" and "items" in old and "items" in new:
            rest = self._rest(where, old, new, skip={"items"})
            return rest or self.compare(f"{where}[]", old["items"], new["items"])
        return self._rest(where, old, new, skip=set())

    def _objects(self, where: str, old: Schema, new: Schema) -> list[str]:
        problems = self._rest(where, old, new, skip={"properties", "required"})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, schema in old["properties"].items():
            field = f"{where}.{name}"
            if name not in new["properties"]:
                problems.append(f"{field}: removed (or renamed)")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{field}: optional before, required now")
            if name in old_required and name not in new_required:
                problems.append(f"{field}: required before, optional now")
            problems += self.compare(field, schema, new["properties"][name])
        for name in new["properties"].keys() - old["properties"].keys():
            if name in new_required:
                problems.append(f"{where}.{name}: a new field that is required")
        return problems

    def _alternatives(self, where: str, keyword: str, old: Schema, new: Schema) -> list[str]:
        olds, news = old[keyword], new[keyword]
        if sorted(map(self._old_text, olds)) == sorted(map(self._new_text, news)):
            return self._rest(where, old, new, skip={keyword})
        if len(olds) != len(news):
            return [f"{where}: type changed from {self._old_text(old)} to {self._new_text(new)}"]
        problems = self._rest(where, old, new, skip={keyword})
        for old_one, new_one in zip(olds, news, strict=True):
            problems += self.compare(where, old_one, new_one)
        return problems

    def _rest(self, where: str, old: Schema, new: Schema, skip: set[str]) -> list[str]:
        """The keywords other than `skip` must be the same, their references inlined."""
        old_rest = {k: v for k, v in old.items() if k not in skip}
        new_rest = {k: v for k, v in new.items() if k not in skip}
        if _inline(old_rest, self.old_root) == _inline(new_rest, self.new_root):
            return []
        return [f"{where}: type changed from {self._old_text(old_rest)} to {self._new_text(new_rest)}"]

    def _old_text(self, schema: Schema) -> str:
        return json.dumps(_inline(schema, self.old_root), sort_keys=True)

    def _new_text(self, schema: Schema) -> str:
        return json.dumps(_inline(schema, self.new_root), sort_keys=True)


def _resolve(schema: Schema, root: Schema) -> Schema:
    """Follow a local `$ref` (`#/$defs/Name`); siblings of the reference are kept."""
    seen = 0
    while "$ref" in schema and seen < 32:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        seen += 1
    return schema


def _inline(value: Any, root: Schema, depth: int = 0) -> Any:
    """`value` with its references inlined and its annotations dropped, for comparing."""
    if depth > 32:
        return value
    if isinstance(value, list):
        return [_inline(v, root, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    schema = _resolve(value, root)
    out: dict[str, Any] = {}
    for key, item in schema.items():
        if key in ANNOTATIONS or key == "$defs":
            continue
        if key == "properties":  # its keys are field names, not keywords
            out[key] = {name: _inline(sub, root, depth + 1) for name, sub in item.items()}
        else:
            out[key] = _inline(item, root, depth + 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["check", "write"])
    parser.add_argument("baseline", type=Path)
    parser.add_argument(
        "--accept-breaking",
        action="store_true",
        help="write even what is incompatible (retiring a version no one consumes any more)",
    )
    args = parser.parse_args(argv)
    current = schemas()
    recorded = json.loads(args.baseline.read_text()) if args.baseline.exists() else {}
    problems = incompatibilities(recorded, current)
    for problem in problems:
        print(f"incompatible: {problem}", file=sys.stderr)
    if args.action == "check":
        for addition in additions(recorded, current):
            print(f"not in the baseline yet: {addition}")
        return 1 if problems else 0
    if problems and not args.accept_breaking:
        print("nothing written: publish a new version instead (see the rule above)", file=sys.stderr)
        return 1
    args.baseline.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(current)} event schemas to {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
