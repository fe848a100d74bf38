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
            # `/api/admin/<service>/...` goes by its second segment too.
            segments = 2 if path.startswith("/api/admin/") else 1
            prefix = "/".join(path.split("/")[2 : 2 + segments])
            assert f"| `/api/{prefix}/...` | {service} |" in document


ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: The files every service has, described once in "One service, top to bottom".
STANDARD_MODULES = {"app.py", "settings.py", "api.py", "consumers.py", "domain.py", "models.py", "schemas.py"}


def _architecture_sections() -> dict[str, str]:
    """`### <name> (...)` sections of docs/architecture.md by name, and `## ...` ones by title."""
    text = ARCHITECTURE.read_text()
    sections = {t: b for t, b in re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, re.M | re.S)}
    sections |= {t: b for t, b in re.findall(r"^### (\w+) \(.*?\n(.*?)(?=^##+ |\Z)", text, re.M | re.S)}
    return sections


def test_the_architecture_names_every_event_with_the_services_that_consume_it(generator: ModuleType) -> None:
    rows = re.findall(
        r"^\| `(\w+)` \| `([\w.]+)` \| (\w+) \| (.+) \|$", _architecture_sections()["Event flows"], re.M
    )
    documented = {
        key: (producer, sorted(set(re.findall(r"\*\*(\w+)\*\*", used)))) for _, key, producer, used in rows
    }
    consumed = generator.consumers_by_key()
    actual = {
        c.routing_key: (c.source_service(), sorted(consumed.get(c.routing_key, [])))
        for c in published_contracts()
    }
    assert documented == actual


def test_the_architecture_names_every_module_and_table_of_each_service(generator: ModuleType) -> None:
    """So a newcomer finds each module and table under its service's name."""
    sections = _architecture_sections()
    missing = []
    for service in generator.SERVICES:
        section = sections[service]
        package = ROOT / "services" / service / "src" / service
        for path in sorted(package.rglob("*.py")):
            relative = path.relative_to(package)
            if (relative.name == "__init__.py" and len(relative.parts) == 1) or relative.parts[0] == "data":
                continue
            if len(relative.parts) > 1:
                named = f"`{relative.parts[0]}/`" in section
            else:
                named = f"`{relative.name}`" in section or relative.name in STANDARD_MODULES
            if not named:
                missing.append(f"{service}/{relative}")
        models = importlib.import_module(f"{service}.models")
        for table in models.Base.metadata.tables:
            if f"`{table}`" not in section:
                missing.append(f"{service} table {table}")
    kit = ROOT / "shared" / "kit" / "src" / "crm_kit"
    missing += [
        f"crm_kit/{p.name}"
        for p in sorted(kit.glob("*.py"))
        if p.name != "__init__.py" and f"`{p.name}`" not in sections["The kit"]
    ]
    assert missing == []


def test_the_documents_link_only_to_files_inside_the_repository() -> None:
    """A clone has every document the README and the docs point to."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("*/README.md"))]
    broken = []
    for document in documents:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (document.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    # The README sits at the root: any path it names that starts with ../ is outside.
    broken += re.findall(r"\.\./[\w./-]+", (ROOT / "README.md").read_text())
    assert broken == []
