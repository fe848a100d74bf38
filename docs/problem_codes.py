"""Every refusal code the services can send, read from their source.

The services refuse with a code (`crm_kit.errors`): `code="..."` on a `DomainError`,
`coded("...", ...)` in an `HTTPException`, `At(loc, msg, "...")` at a field,
`PydanticCustomError("...", ...)` in a validator, `default_code="..."` for a rule's
error (`Invalid.of_rule`); a code held in a variable is read from the string literals
assigned to it in the same function or at the top of its module. `walk()` parses the source of every
service and of the kit and finds each of them, the kinds of record a `NotFound` names,
and the refusals written without a code. `docs/api.md` lists the codes from it, and
`services/gateway/tests/test_problem_codes.py` checks that the web UI says each in
Vietnamese and English.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The refusals that must say their code (`NotFound` has its own: not_found + kind).
CODED = {
    "Forbidden",
    "Conflict",
    "Invalid",
    "NotYet",
    "TooLarge",
    "DomainError",
    "FileProblem",
    "TooManyRows",
    "at",
}
#: A problem of an imported row: the kit's `RowProblem(column=, code=, params=, message=)`
#: and customers' `Problem(column, code, params, message)`.
ROW_PROBLEMS = {"RowProblem", "Problem"}
#: What `.at(...)` is a refusal of.
AT = {"Invalid", "FileProblem"}
#: A refusal's HTTP status, by the class raised.
STATUS = {
    "NotFound": 404,
    "Forbidden": 403,
    "Conflict": 409,
    "Invalid": 422,
    "FileProblem": 422,
    "TooManyRows": 422,
    "at": 422,
    "At": 422,
    "PydanticCustomError": 422,
    "NotYet": 503,
    "TooLarge": 413,
}


@dataclass(frozen=True)
class Raised:
    code: str
    #: `path:line` of the raise.
    where: str
    #: The params it gives, when they are written out at the raise; None when computed.
    params: frozenset[str] | None
    status: int | None = None
    #: A problem of an imported row (`RowProblem`), in a 200's report: said by its
    #: `problem.` words or, for a pydantic type (`missing`), by its `err.` words.
    row: bool = False

    @property
    def service(self) -> str:
        parts = self.where.split("/")
        return parts[1] if parts[0] == "services" else "kit"


@dataclass
class Walk:
    raised: list[Raised] = field(default_factory=list)
    #: The kinds of record `NotFound` names (`problem.kind.<kind>`).
    kinds: set[str] = field(default_factory=set)
    #: `path:line` of refusals written without a code.
    uncoded: list[str] = field(default_factory=list)
    #: `path:line` of refusals whose code the walk cannot read (neither a literal nor a
    #: variable assigned literals in its function, e.g. `At(loc, *refusal)`).
    unresolved: list[str] = field(default_factory=list)
    #: `path:line` of validators that raise a bare ValueError (no code reaches the client).
    bare_validators: list[str] = field(default_factory=list)


def sources() -> list[Path]:
    return sorted([*ROOT.glob("services/*/src/**/*.py"), *(ROOT / "shared/kit/src/crm_kit").rglob("*.py")])


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _literals(node: ast.expr | None) -> list[str]:
    """The strings an expression may be: a literal, or either side of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    found = _literal(node)
    return [] if found is None else [found]


Assigned = dict[str, list[str]]


def _assigned(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Assigned:
    """The string literals each plain name is assigned in a function (`code = "..."`); a
    parameter passes on its caller's code (counted at the call), so it holds none."""
    names: Assigned = {arg.arg: [] for arg in [*function.args.args, *function.args.kwonlyargs]}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).extend(_literals(node.value))
    return names


def _constants(tree: ast.Module) -> Assigned:
    """The string constants a module assigns at its top level (`UNKNOWN = "..."`)."""
    names: Assigned = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and (found := _literals(node.value)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).extend(found)
    return names


def _codes(node: ast.expr | None, assigned: Assigned) -> list[str] | None:
    """The codes a `code=` value may be; None when the walk cannot tell. An attribute
    `.code` passes on a refusal's code (`code=exc.code`), counted where it was raised;
    `getattr(exc, "type", "...")` is a rule's code (its `PydanticCustomError`, counted
    there) or the default."""
    if isinstance(node, ast.Name):
        return assigned.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "code":
        return []
    if isinstance(node, ast.Subscript) and _literal(node.slice) == "type":
        return []  # a pydantic error's type (`err["type"]`): its `err.` words are checked
    if isinstance(node, ast.Call) and _name(node.func) == "getattr" and len(node.args) == 3:
        return _literals(node.args[2]) or None
    return _literals(node) or None


def _keys(node: ast.expr | None) -> frozenset[str] | None:
    if node is None:
        return frozenset()
    if isinstance(node, ast.Dict) and all(_literal(k) for k in node.keys):  # no `**spread`
        return frozenset(_literal(k) for k in node.keys)  # type: ignore[misc]
    if isinstance(node, ast.Call) and _name(node.func) == "dict" and not node.args:
        return frozenset(k.arg for k in node.keywords if k.arg)
    return None


def _status(node: ast.Call) -> int | None:
    first = node.args[0] if node.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, int):
        return first.value
    if isinstance(first, ast.Attribute) and (digits := first.attr.split("_")[1:2]) and digits[0].isdigit():
        return int(digits[0])  # status.HTTP_403_FORBIDDEN
    return None


def _call(walk: Walk, node: ast.Call, where: str, parents: dict[int, ast.Call], assigned: Assigned) -> None:
    name = _name(node.func)
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if "default_code" in keywords:
        for default in _codes(keywords["default_code"], assigned) or []:
            walk.raised.append(Raised(default, where, None, 422))
    if name == "NotFound" and node.args:
        if kind := _literal(node.args[0]):
            walk.kinds.add(kind)
        code = _literal(keywords.get("code"))
        walk.raised.append(Raised(code or "not_found", where, frozenset({"kind", "key"}), 404))
    elif name in CODED:
        if name == "at" and not (isinstance(node.func, ast.Attribute) and _name(node.func.value) in AT):
            return
        if "code" not in keywords:
            walk.uncoded.append(where)
        elif (codes := _codes(keywords["code"], assigned)) is None:
            walk.unresolved.append(where)
        else:
            for each in codes:
                walk.raised.append(Raised(each, where, _keys(keywords.get("params")), STATUS.get(name)))
    elif name == "coded" and node.args and (code := _literal(node.args[0])):
        outer = parents.get(id(node))
        status = _status(outer) if outer is not None else None
        walk.raised.append(Raised(code, where, frozenset(k.arg for k in node.keywords if k.arg), status))
    elif name == "At":
        if any(isinstance(arg, ast.Starred) for arg in node.args) or "code" in keywords:
            walk.unresolved.append(where)
        elif len(node.args) >= 3:
            if (codes := _codes(node.args[2], assigned)) is None:
                walk.unresolved.append(where)
            for each in codes or []:
                walk.raised.append(
                    Raised(each, where, _keys(node.args[3] if len(node.args) > 3 else None), 422)
                )
    elif name in ROW_PROBLEMS:
        code_node = keywords.get("code", node.args[1] if len(node.args) > 1 else None)
        params_node = keywords.get("params", node.args[2] if len(node.args) > 2 else None)
        if (codes := _codes(code_node, assigned)) is None:
            walk.unresolved.append(where)
        for each in codes or []:
            walk.raised.append(Raised(each, where, _keys(params_node), None, row=True))
    elif name == "PydanticCustomError" and node.args and (code := _literal(node.args[0])):
        walk.raised.append(Raised(code, where, _keys(node.args[2] if len(node.args) > 2 else None), 422))
    elif name == "HTTPException":
        detail = node.args[1] if len(node.args) > 1 else keywords.get("detail")
        if not (isinstance(detail, ast.Call) and _name(detail.func) == "coded"):
            walk.uncoded.append(where)


def _bare_validators(tree: ast.AST, where_file: str) -> Iterable[str]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = {_name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
        if decorators & {"field_validator", "model_validator"}:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and isinstance(inner.exc, ast.Call):
                    if _name(inner.exc.func) == "ValueError":
                        yield f"{where_file}:{inner.lineno}"


def walk() -> Walk:
    found = Walk()
    for path in sources():
        where_file = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), where_file)
        # An HTTPException's status, for the `coded(...)` inside it.
        parents = {
            id(arg): node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _name(node.func) == "HTTPException"
            for arg in [*node.args, *(k.value for k in node.keywords)]
        }
        # Each call's function, for the names a `code=` variable is assigned there, over
        # the module's constants (`UNKNOWN = "product_group.unknown"`).
        module = _constants(tree)
        scopes: dict[int, Assigned] = {}
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {**module, **_assigned(function)}
                scopes.update({id(inner): names for inner in ast.walk(function)})
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                _call(found, node, f"{where_file}:{node.lineno}", parents, scopes.get(id(node), {}))
        if path.name != "settings.py":  # configuration, read at start-up: no client sees it
            found.bare_validators.extend(_bare_validators(tree, where_file))
    return found


def catalogue(raised: Iterable[Raised]) -> dict[str, tuple[set[int], set[str]]]:
    """Each code with the statuses and services it is raised with."""
    codes: dict[str, tuple[set[int], set[str]]] = {}
    for one in raised:
        statuses, services = codes.setdefault(one.code, (set(), set()))
        if one.status:
            statuses.add(one.status)
        services.add(one.service)
    return dict(sorted(codes.items()))


def render(english: dict[str, str]) -> str:
    """`docs/api.md`'s list of codes: each with its statuses, the services that raise it,
    and what the web UI says (in English; `{name}` is a param)."""
    found = walk()
    row_codes = {one.code for one in found.raised if one.row}
    rows = []
    for code, (statuses, services) in catalogue(found.raised).items():
        said = (english.get(f"problem.{code}") or english.get(f"err.{code}", "")).replace("|", "\\|")
        shown = [str(s) for s in sorted(statuses)] + (["row"] if code in row_codes else [])
        status = ", ".join(shown) or "-"
        rows.append(f"| `{code}` | {status} | {', '.join(sorted(services))} | {said} |")
    return (
        '\n<a id="problem-codes"></a>\n\n## Problem codes\n\n'
        "Every `code` a refusal may carry (read from the services' source by `docs/problem_codes.py`),\n"
        "besides those in the table under [Errors](#errors). A 422 at fields carries them in\n"
        "`detail[].type`. `not_found`'s `params.kind` names the kind of record. Status `row`:\n"
        "a problem of an imported row, in the `problems` of a rejected row of an import's report\n"
        "(`{column, code, params, message}`), not a refusal of the request.\n\n"
        "| code | status | raised by | the web UI says (English) |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
