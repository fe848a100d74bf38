"""Renders the HTTP contract through the gateway (`docs/api.md`) from the services' OpenAPI.

Each route is documented as a client of the gateway sees it: the gateway serves
`/api/auth/...`, `/api/users/...` and `/api/notifications/...` itself and forwards every
other `/api/<segment>/...` to the service that owns `<segment>` (`gateway.domain.ROUTES`).
Who may call a route is read from its `crm_kit.auth.require_roles` dependency; the
rules a use case checks itself (a salesperson's own records) are in its summary.

`docs/generate.py` writes it; a test fails when the committed file and the code differ.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from crm_kit import auth
from crm_kit.http import MAX_BODY_BYTES, MAX_PAGE_SIZE
from crm_kit.queries import COUNT_CAP

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Answers every route may give; described once in the introduction, not per route.
GENERIC_ANSWERS = {"Successful Response", "Validation Error"}
STATUS_MEANINGS = {
    200: "done",
    201: "created",
    202: "accepted, done later",
    204: "done, no body",
    401: "no valid token",
    403: "role not allowed",
    404: "not found",
    409: "conflict",
    413: "too large",
    422: "invalid input",
    429: "too many attempts",
}


@dataclass(frozen=True)
class Operation:
    """One method on one path of one service, with what its route object says."""

    service: str
    method: str
    path: str
    spec: dict[str, Any]
    #: The roles `require_roles` admits; None when the route checks none before it runs.
    roles: tuple[str, ...] | None
    needs_token: bool
    #: Reached through the gateway, which asks for a token before it forwards.
    forwarded: bool = False

    @property
    def tag(self) -> str:
        tags: list[str] = self.spec.get("tags") or ["other"]
        return tags[0]

    @property
    def title(self) -> str:
        return f"`{self.method} {self.path}`"

    @property
    def anchor(self) -> str:
        return _slug(f"{self.method} {self.path}")

    def sort_key(self) -> tuple[str, int]:
        return self.path, METHODS.index(self.method)


def operations(service: str, app: FastAPI) -> list[Operation]:
    """Every documented route of the service's app, with its OpenAPI operation."""
    spec = app.openapi()
    found = []
    # As FastAPI's own OpenAPI does: each route with the prefix, tags and dependencies
    # of the routers that include it.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = list(_dependency_calls(route.dependant))
        path: str = route.path_format or ""
        for method in sorted(route.methods or (), key=METHODS.index):
            found.append(
                Operation(
                    service=service,
                    method=method,
                    path=path,
                    spec=spec["paths"][path][method.lower()],
                    roles=_roles(calls),
                    needs_token=auth.current_user in calls,
                )
            )
    return sorted(found, key=Operation.sort_key)


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _roles(calls: list[Callable[..., Any]]) -> tuple[str, ...] | None:
    """The roles every `require_roles` check among `calls` admits, in `Role` order."""
    admitted: set[auth.Role] | None = None
    for call in calls:
        if (
            call.__module__ == auth.__name__
            and call.__qualname__ == f"{auth.require_roles.__name__}.<locals>.check"
        ):
            roles = set(inspect.getclosurevars(call).nonlocals["roles"])
            admitted = roles if admitted is None else admitted & roles
    return None if admitted is None else tuple(r.value for r in auth.Role if r in admitted)


#: Whether a schema describes what a client sends or what it is answered.
SENT, ANSWERED = "sent", "answered"


@dataclass
class Section:
    """One part of the document; it lists the objects its routes take and answer."""

    name: str
    schemas: Mapping[str, Any]
    #: Objects linked to so far, and whether they were sent, answered or both.
    used: dict[str, set[str]] = field(default_factory=dict)

    def anchor(self, schema: str) -> str:
        return _slug(f"{self.name} {schema}")

    def type_of(self, schema: Mapping[str, Any], mode: str) -> str:
        """A person's reading of a JSON schema: `list of uuid`, `date or null`, a link."""
        if "$ref" in schema:
            return self._referenced(schema["$ref"].rsplit("/", 1)[-1], mode)
        for combined in ("anyOf", "oneOf"):
            if combined in schema:
                parts = [self.type_of(s, mode) for s in schema[combined] if s.get("type") != "null"]
                if len(parts) < len(schema[combined]):
                    parts.append("null")
                return " or ".join(parts)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0], mode)
        if "const" in schema:
            return f"`{json.dumps(schema['const'], ensure_ascii=False)}`"
        if "enum" in schema:
            return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
        return self._plain_type(schema, mode)

    def _plain_type(self, schema: Mapping[str, Any], mode: str) -> str:
        kind = schema.get("type")
        if kind == "array":
            return f"list of {self.type_of(schema['items'], mode)}" if schema.get("items") else "list"
        if kind == "object" or "additionalProperties" in schema:
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                return f"map of string to {self.type_of(values, mode)}"
            return "object"
        if kind == "string":
            if schema.get("format") == "binary" or "contentMediaType" in schema:
                return "file"
            return STRING_FORMATS.get(schema.get("format", ""), "string")
        return kind if isinstance(kind, str) else "any JSON"

    def _referenced(self, name: str, mode: str) -> str:
        target = self.schemas[name]
        if "enum" in target:
            return self.type_of(target, mode)
        if _is_page(target):
            return f"page of {self.type_of(target['properties']['items']['items'], mode)}"
        self.used.setdefault(name, set()).add(mode)
        return f"[{name}](#{self.anchor(name)})"

    def fields(self, schema: Mapping[str, Any], modes: Iterable[str]) -> str:
        """A table of an object's fields; an object that has none says so."""
        modes = sorted(modes)
        schema = self.resolved(schema)
        properties: dict[str, Any] = schema.get("properties", {})
        if not properties:
            return "".join(self.type_of(schema, mode) for mode in modes[-1:]) + "\n"
        required = set(schema.get("required", []))
        # "Required" of what is sent: the call fails without it; of what is answered:
        # it is always there.
        header = "always there" if modes == [ANSWERED] else "required"
        rows = [f"| field | type | {header} | notes |\n", "|---|---|---|---|\n"]
        for name, prop in properties.items():
            kind = [self.type_of(prop, mode) for mode in modes][-1]
            notes = _notes(prop, optional=name not in required)
            rows.append(
                f"| `{name}` | {_cell(kind)} | {'yes' if name in required else 'no'} | {_cell(notes)} |\n"
            )
        if SENT in modes and schema.get("additionalProperties") is False:
            rows.append("\nAny other field is refused (422).\n")
        return "".join(rows)

    def resolved(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        if "$ref" in schema:
            resolved: Mapping[str, Any] = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
            return resolved
        return schema

    def objects(self) -> str:
        """Every object this section's routes linked to, and the ones those link to."""
        tables: dict[str, tuple[frozenset[str], str]] = {}
        # Describing an object may link to more objects, or use one in a new way.
        while pending := [
            n for n in sorted(self.used) if tables.get(n, (None,))[0] != frozenset(self.used[n])
        ]:
            for name in pending:
                modes = frozenset(self.used[name])
                tables[name] = (modes, self.fields(self.schemas[name], modes))
        if not tables:
            return ""
        out = [f"\n### Objects ({self.name})\n"]
        for name, (_, table) in sorted(tables.items()):
            out.append(f'\n<a id="{self.anchor(name)}"></a>\n\n#### {name}\n\n')
            if doc := _one_line(self.schemas[name].get("description", "")):
                out.append(f"{doc}\n\n")
            out.append(table)
        return "".join(out)


STRING_FORMATS = {"uuid": "uuid", "date": "date", "date-time": "date-time"}


def _is_page(schema: Mapping[str, Any]) -> bool:
    properties = schema.get("properties", {})
    return set(properties) == {"items", "total"} and properties["items"].get("type") == "array"


def _notes(schema: Mapping[str, Any], *, optional: bool) -> str:
    """Constraints, default and description of a field or parameter."""
    branches = [schema, *(s for s in schema.get("anyOf", []) if s.get("type") != "null")]
    notes: list[str] = []
    for s in branches:
        notes.extend(_constraints(s))
    if optional and schema.get("default") is not None:
        notes.append(f"default `{json.dumps(schema['default'], ensure_ascii=False)}`")
    if description := _one_line(schema.get("description", "")):
        notes.append(description)
    return "; ".join(notes)


def _constraints(s: Mapping[str, Any]) -> Iterator[str]:
    yield from _range(s, "minLength", "maxLength", "characters")
    yield from _range(s, "minItems", "maxItems", "items")
    yield from _range(s, "minProperties", "maxProperties", "entries")
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in s:
            yield f"{sign} {_number(s[key])}"
    if "pattern" in s:
        yield f"matches `{s['pattern']}`"


def _range(s: Mapping[str, Any], low: str, high: str, unit: str) -> Iterator[str]:
    if low in s and high in s:
        yield f"{s[low]}-{s[high]} {unit}"
    elif high in s:
        yield f"at most {s[high]} {unit}"
    elif low in s and s[low] > 0:
        yield f"at least {s[low]} {unit}"


def render_operation(op: Operation, section: Section, anchor: str | None = None) -> str:
    """One route: what it does, who may call it, what it takes and answers."""
    spec = op.spec
    out = [f'\n<a id="{anchor or op.anchor}"></a>\n\n#### {op.title}\n\n']
    if text := _description(spec):
        out.append(f"{text}\n\n")
    out.append(f"Who: {_who(op)}.\n\n")
    out.append(_parameters(spec, section))
    out.append(_body(spec, section))
    out.append(_answer(spec, section))
    out.append("Status: " + ", ".join(_statuses(op)) + ".\n")
    return "".join(out)


def _description(spec: Mapping[str, Any]) -> str:
    """The route's docstring, a line per paragraph; without one, FastAPI's summary."""
    docstring: str = spec.get("description") or spec.get("summary", "")
    paragraphs = [_one_line(p) for p in docstring.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _who(op: Operation) -> str:
    if op.roles is not None:
        return "roles " + ", ".join(f"`{r}`" for r in op.roles)
    if op.needs_token or op.forwarded:
        return "any signed-in user"
    return "anyone, no token"


def _parameters(spec: Mapping[str, Any], section: Section) -> str:
    parameters = spec.get("parameters", [])
    names = {p["name"] for p in parameters if p["in"] == "query"}
    paged = {"limit", "offset"} <= names
    rows = [
        _parameter_row(p, section) for p in parameters if not (paged and p["name"] in ("limit", "offset"))
    ]
    out = []
    if rows:
        out.append("| parameter | in | type | required | notes |\n|---|---|---|---|---|\n")
        out.extend(rows)
        out.append("\n")
    if paged:
        out.append("Paged: `?limit=&offset=` or `?cursor=` (see [Lists](#lists)).\n\n")
    return "".join(out)


def _parameter_row(parameter: Mapping[str, Any], section: Section) -> str:
    required = bool(parameter.get("required"))
    schema = parameter["schema"]
    return (
        f"| `{parameter['name']}` | {parameter['in']} | {_cell(section.type_of(schema, SENT))} | "
        f"{'yes' if required else 'no'} | {_cell(_notes(schema, optional=not required))} |\n"
    )


BODY_KINDS = {
    "application/json": "JSON body",
    "multipart/form-data": "Multipart form (`multipart/form-data`)",
    "application/x-www-form-urlencoded": "Form (`application/x-www-form-urlencoded`)",
}


def _body(spec: Mapping[str, Any], section: Section) -> str:
    body = spec.get("requestBody")
    if body is None:
        return ""
    [(media_type, content)] = body["content"].items()
    schema = content.get("schema", {})
    name = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None
    named = f", `{name}`" if name and media_type == "application/json" else ""
    required = "required" if body.get("required") else "optional"
    return (
        f"{BODY_KINDS.get(media_type, media_type)}{named}, {required}:\n\n{section.fields(schema, [SENT])}\n"
    )


def _answer(spec: Mapping[str, Any], section: Section) -> str:
    for code, response in sorted(spec.get("responses", {}).items()):
        if not code.startswith("2"):
            continue
        content = response.get("content", {})
        if not content:
            return f"Answer `{code}`: no body.\n\n"
        schema = content.get("application/json", {}).get("schema")
        kind = section.type_of(schema, ANSWERED) if schema is not None else next(iter(content))
        return f"Answer `{code}`: {kind}.\n\n" if schema != {} else f"Answer `{code}`: see above.\n\n"
    return ""


def _statuses(op: Operation) -> list[str]:
    described: dict[int, str] = {}
    for code, response in op.spec.get("responses", {}).items():
        if code.isdigit():
            text = response.get("description", "")
            described[int(code)] = text if text not in GENERIC_ANSWERS else STATUS_MEANINGS.get(int(code), "")
    if op.needs_token or op.forwarded:
        described.setdefault(401, STATUS_MEANINGS[401])
    if op.roles is not None:
        described.setdefault(403, STATUS_MEANINGS[403])
    return [f"`{code}` ({text})" if text else f"`{code}`" for code, text in sorted(described.items())]


def render(
    apps: Mapping[str, FastAPI],
    owner_of: Callable[[str], str | None],
    gateway_limits: GatewayLimits,
    problem_codes: str = "",
) -> str:
    """The whole document. `owner_of(path)` is the service the gateway forwards a path to;
    `problem_codes` the list of refusal codes (docs/problem_codes.py), at the end."""
    routed: dict[str, list[Operation]] = {}
    direct: list[Operation] = []
    for service, app in apps.items():
        for op in operations(service, app):
            if owner_of(op.path) == service:
                routed.setdefault(service, []).append(replace(op, forwarded=True))
            elif service == "gateway" and _gateways_own(op.path, owner_of):
                routed.setdefault(service, []).append(op)
            else:
                direct.append(op)
    # `/api/admin/<service>/...` goes by its second segment: the gateway's own is `/api/admin/gateway`.
    own = sorted(
        {
            "/".join(op.path.split("/")[: 4 if op.path.startswith("/api/admin/") else 3])
            for op in routed.get("gateway", [])
        }
    )
    parts = [intro(gateway_limits, own), _contents(routed)]
    for service in apps:
        if service in routed:
            parts.append(_service_section(service, apps[service], routed[service]))
    parts.append(_direct_section(apps, direct))
    parts.append(problem_codes)
    return "".join(parts)


def _gateways_own(path: str, owner_of: Callable[[str], str | None]) -> bool:
    return path.startswith("/api/") and owner_of(path) is None


@dataclass(frozen=True)
class GatewayLimits:
    """The gateway's settings a client meets (defaults; a deployment may change them)."""

    token_ttl_s: int
    max_body_bytes: int
    upstream_timeout_s: float
    login_max_failures: int
    login_max_failures_per_address: int
    login_window_s: float
    routes: Mapping[str, str]


def _contents(routed: Mapping[str, list[Operation]]) -> str:
    out = ["\n## Routes\n\n| route | service | who | what |\n|---|---|---|---|\n"]
    for service, ops in routed.items():
        for op in ops:
            summary = _description(op.spec).split("\n\n")[0]
            out.append(
                f"| [{op.title}](#{op.anchor}) | {service} | {_cell(_who(op))} "
                f"| {_cell(_first_sentence(summary))} |\n"
            )
    out.append(
        "\nServed by each service itself, not through the gateway: "
        "[health, metrics and portfolio counts](#served-by-each-service-directly).\n"
    )
    return "".join(out)


def _service_section(service: str, app: FastAPI, ops: list[Operation]) -> str:
    section = Section(service, app.openapi().get("components", {}).get("schemas", {}))
    out = [f"\n## {service}\n"]
    for tag in sorted({op.tag for op in ops}):
        out.append(f"\n### {tag}\n")
        for op in ops:
            if op.tag == tag:
                out.append(render_operation(op, section))
    out.append(section.objects())
    return "".join(out)


def _direct_section(apps: Mapping[str, FastAPI], direct: list[Operation]) -> str:
    """Routes each service serves to the platform (probes, Prometheus, the gateway's
    portfolio count); a route written the same way in several services is shown once."""
    schemas: dict[str, Any] = {}
    for app in apps.values():
        schemas.update(app.openapi().get("components", {}).get("schemas", {}))
    section = Section("direct", schemas)
    entries: dict[str, list[Operation]] = {}
    for op in sorted(direct, key=Operation.sort_key):
        entries.setdefault(render_operation(op, section), []).append(op)
    out = [DIRECT_INTRO]
    for text, ops in entries.items():
        first = ops[0]
        text = render_operation(first, section, anchor=_slug(f"{first.anchor} {first.service}"))
        served = ", ".join(s for s in apps if s in {op.service for op in ops})
        after_heading = text.index("\n\n", text.index("#### ")) + 2
        out.append(f"{text[:after_heading]}Served by {served}.\n\n{text[after_heading:]}")
    out.append(section.objects())
    for name in section.used:
        # One name, several services: the object shown must be what each of them answers.
        assert all(
            app.openapi()["components"]["schemas"].get(name, schemas[name]) == schemas[name]
            for app in apps.values()
        ), name
    return "".join(out)


DIRECT_INTRO = """
<a id="served-by-each-service-directly"></a>

## Served by each service directly

Not forwarded by the gateway: each service (the gateway too) answers these on its own
port, for probes, Prometheus and the gateway's `GET /api/users/{user_id}/portfolio`.
`GET /readyz` answers 503 instead of 200 while the database, the broker or the
service's consumer is not there, with `{"status", "service", "checks"}`; `GET /metrics`
answers Prometheus' text format, on the service's own port, or, with `METRICS_PORT`
set (as in deploy/k8s), on that port only (the own port answers 404 for it).
"""


def intro(limits: GatewayLimits, own_prefixes: list[str]) -> str:
    """Conventions every route follows, with the gateway's limits and routing table."""
    own = ", ".join(f"`{prefix}/...`" for prefix in own_prefixes)
    prefixes = "\n".join(
        f"| `/api/{segment}/...` | {service} |" for segment, service in sorted(limits.routes.items())
    )
    hours = limits.token_ttl_s / 3600
    gateway_mib, service_mib = limits.max_body_bytes / 2**20, MAX_BODY_BYTES / 2**20
    return INTRO.format(
        own=own,
        prefixes=prefixes,
        hours=hours,
        gateway_mib=gateway_mib,
        service_mib=service_mib,
        limits=limits,
        MAX_PAGE_SIZE=MAX_PAGE_SIZE,
        COUNT_CAP=COUNT_CAP,
    )


#: The conventions, filled in by `intro` from the code's limits (`{...}` are its fields).
INTRO = """# HTTP API

Generated from the services' OpenAPI by `make docs` (`docs/generate.py`); do not edit
by hand: a test fails when this file and the code differ. Each service's own OpenAPI
is also served at `http://127.0.0.1:800N/docs` in a local run.

Clients talk to the gateway (`http://127.0.0.1:8000` in a local run, `make run`).
Everything under `/api/` is JSON unless a route says otherwise. The gateway also
serves the web UI's pages (HTML, not part of this contract).

## Signing in

`POST /api/auth/token` with the form fields `username` and `password` answers
`{{"access_token": "...", "token_type": "bearer"}}`; a wrong username or password
gets one answer for both (401), and the right password of a deactivated account gets 403
saying so. Send the token on every other
call as `Authorization: Bearer <token>`. It is an Ed25519-signed JWT carrying the
user's id, username and role, valid for {hours:g} hours by default; the gateway checks it
before forwarding, and the service checks it again itself. A deactivated user's token
is refused (401) from then on, and so is a token its holder logged out with
(`POST /api/auth/logout`). {limits.login_max_failures} failed logins for one username from one
address within {limits.login_window_s:g} seconds, or {limits.login_max_failures_per_address} from one address
whatever the usernames, get 429 with `Retry-After`. Each token names its signing key in its `kid`
header; the keys are published at `/.well-known/jwks.json`.

Roles: `admin`, `sales_manager`, `salesperson`, `marketing`, `accountant`. "Who" under a
route names the roles checked before the route runs (others get 403); many routes also
apply object-level rules: a salesperson sees and changes only the records they own
(another's is usually 404, as if it did not exist), managers see everyone's. The
route's text says where.

## Errors

A refusal answers an RFC 9457 problem document (`application/problem+json`) with a 4xx or
5xx status:

```json
{{"type": "urn:crm:problem:quote.not_editable", "title": "Conflict", "status": 409,
 "code": "quote.not_editable", "params": {{"status": "approved"}},
 "detail": "the quote is approved; ..."}}
```

- `code` is stable: a client decides on it, and says it in its user's language with
  `params` (ids, names, numbers, states). The [codes](#problem-codes) are listed below;
  the web UI has Vietnamese and English words for every one of them.
- `detail` is an English sentence for a person reading logs, or, for invalid input (422),
  the list of field problems: `[{{"loc": ["body", "lines", 0, "quantity"], "msg": "...",
  "type": "greater_than", "ctx": {{"gt": 0}}}}]`. Each item's `type` is a code too (pydantic's
  error type, such as `missing`, `greater_than_equal`, `uuid_parsing`, or one of the codes
  below), and `ctx` its params. FastAPI's own validation answers `code` `validation_failed`.
- A code the client does not know yet is said by its status. A 409 for a concurrent
  write is `changed_concurrently`, a 422 for a value the database cannot store
  `value_not_storable`, a 503 for a busy database `try_again`; a rule's own refusal has
  its own code.

Besides the statuses listed per route, any call may get:

| status | when | code |
|---|---|---|
| 401 | no token, an invalid or expired one, or the account was deactivated | `token_refused` |
| 404 | an id in the path not there or not the caller's; an `/api/` path no service owns | `not_found` |
| 409 | the record's state does not allow the change now, or a concurrent request won | the rule's own |
| 413 | a body over {gateway_mib:g} MiB ({service_mib:g} MiB at a service called directly) | `too_large` |
| 422 | invalid input: a field's type or limits, or a rule such as an unknown product | `validation_failed` |
| 502 | the owning service is unavailable | `service_unavailable` (`params.service`) |
| 503 | busy, the database lost, or an event on its way; nothing changed (`Retry-After`) | `not_yet` |
| 504 | the owning service gave no answer within {limits.upstream_timeout_s:g} s | `service_timeout` |

A refused request changes nothing: its transaction was rolled back.

<a id="lists"></a>

## Lists

Lists take `?limit=&offset=` (`limit` 1-{MAX_PAGE_SIZE}, default 50; `offset` from 0) and
answer a page, `{{"items": [...], "total": N, "total_capped": false, "next_cursor": "..."}}`.

- `total` counts the matches up to {COUNT_CAP:,}; past that it is {COUNT_CAP:,} and
  `total_capped` is `true` ("more than {COUNT_CAP:,}"), so that no page counts a million
  rows. Below the cap it is exact.
- `next_cursor`, on a full page of a list ordered by its columns, names the page after
  this one: send it back as `?cursor=` (with the same filters and `limit`) for the next
  page. A cursor page is found by an index however deep it is (keyset paging: the rows
  after the last one of the page before), where `offset` reads and skips every row before
  it; `offset` is for the first pages and is ignored with a cursor. No `next_cursor`: the
  last page (or a list that pages by offset only). A cursor that is not one of the list is
  a 422 naming `cursor`. Rows added meanwhile before the cursor are not shown again, nor
  skipped after it.

## Ids, money, dates

- Ids are UUID strings, minted where the thing is born and kept by every service that
  copies it (a lead's conversion mints the customer's and the opportunity's ids).
  Products are addressed by their `code`, regions by their `code`, disqualification
  reasons by their `code`.
- Money is an integer number of dong (VND has no minor unit), with `currency` where
  an answer carries one.
- Percentages such as `discount_pct` are decimals, sent as a number or a string
  (`12.5`, `"12.5"`) and answered as a string (`"12.5"`); a market share is a fraction
  (`0.25` is a quarter of the market).
- Dates (`YYYY-MM-DD`) follow the business's calendar (Asia/Ho_Chi_Minh by default);
  timestamps are ISO 8601 in UTC.
- Each call may carry `X-Correlation-Id`; the answer returns it (or the one the gateway
  minted), and every event the call causes carries it.

In the tables, "required" of a field that is sent means the call fails without it;
"always there" of a field that is answered means it is always present (it may still
be `null` where its type says so).

## Which service answers

The gateway serves {own}
itself and forwards any other `/api/` path by its first segment, with the caller's
token, to the service that owns it:

| path | service |
|---|---|
{prefixes}

`/api/admin/<service>/...` holds each service's dead letters and event replays, for an
admin.
"""


def _number(value: float) -> str:
    """`1000000.0` as `1,000,000`: limits are whole numbers more often than not."""
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
