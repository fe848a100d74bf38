"""What the page tests share: a gateway whose upstreams are a stand-in the test scripts
(`StandIn`), a browser-like session on it (cookies, CSRF), and a small reader of the
HTML it answers (the standard library's parser; no browser needed)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from crm_kit.auth import Role, generate_keypair
from crm_kit.text import fold
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from gateway import transport
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.ui import core, regions
from gateway.ui.province_map import TILES

ADMIN_PASSWORD = "pages-admin-pw-1"
PASSWORD = "pages-user-pw-1"
CSRF = "test-csrf-token"
SERVICES = ("leads", "customers", "sales", "accounting", "marketing")


# -- the stand-in upstreams -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Raw:
    """An answer that is not JSON (a PDF), with its content type and other headers."""

    content: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StandIn:
    """Every upstream service at once: `answers[(method, path)]` is (status, body); the
    provinces are always there (from the map's own tile file, one group). What reached
    it is in `seen`."""

    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.answers[(method, path)] = (status, body)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def last(self, method: str, path: str) -> Seen:
        found = self.calls(method, path)
        assert found, (
            f"no {method} {path} reached the stand-in; seen: {[(s.method, s.path) for s in self.seen]}"
        )
        return found[-1]

    def reset(self) -> None:
        self.answers.clear()
        self.seen.clear()

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> transport.Answer:
        parts = urlsplit(url)
        # A JSON body as data; anything else (a file's multipart form) as the bytes sent.
        decoded: Any = body or None
        if body and "json" in headers.get("content-type", "application/json"):
            decoded = json.loads(body)
        self.seen.append(Seen(method, parts.path, dict(parse_qsl(parts.query)), decoded))
        if parts.path == "/api/regions":
            status, answer = 200, {"items": [PROVINCES], "total": 1}
        else:
            status, answer = self.answers.get((method, parts.path), (404, {"detail": "Not Found"}))
        if isinstance(answer, Raw):
            return transport.Answer(
                status, {"content-type": answer.content_type, **answer.headers}, answer.content
            )
        content = json.dumps(answer).encode()
        return transport.Answer(status, {"content-type": "application/json"}, content)


#: The 34 provinces as `GET /api/regions?grouping=macro_region` answers, in one group.
PROVINCES = {
    "code": "all",
    "name": "Cả nước",
    "name_en": "Whole country",
    "regions": [{"code": t.code, "name": t.name, "name_ascii": fold(t.name)} for t in TILES],
}


def page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "total": len(items)}


# -- the gateway under test, and a person's session on it ------------------------------------


@dataclass
class Browser:
    """A logged-in person on the gateway, with their cookies: GET a page, POST a form."""

    http: httpx.AsyncClient
    user: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.user["id"])

    async def get(self, url: str, **params: str) -> httpx.Response:
        return await self.http.get(url, params=params)

    async def post(self, url: str, form: dict[str, str]) -> httpx.Response:
        return await self.http.post(url, data={**form, core.CSRF_FIELD: CSRF})


@dataclass
class Pages:
    gateway: ServiceUnderTest[GatewaySettings]
    upstream: StandIn
    admin: dict[str, str]
    browsers: list[httpx.AsyncClient] = field(default_factory=list)

    async def token(self, username: str, password: str) -> str:
        answer = await self.gateway.http.post(
            "/api/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def person(self, role: Role, lang: str = "vi") -> Browser:
        username = f"p{uuid.uuid4().hex[:10]}"
        made = await self.gateway.http.post(
            "/api/users",
            headers=self.admin,
            json={"username": username, "password": PASSWORD, "full_name": f"Người {username}", "role": role},
        )
        assert made.status_code == 201, made.text
        token = await self.token(username, PASSWORD)
        cookies = {core.TOKEN_COOKIE: token, core.CSRF_COOKIE: CSRF, core.LANG_COOKIE: lang}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(self.gateway.app), base_url="http://gateway", cookies=cookies
        )
        self.browsers.append(http)
        return Browser(http, made.json())


@asynccontextmanager
async def running_pages(infra: Infra) -> AsyncIterator[Pages]:
    """The gateway on its own database, every upstream played by a `StandIn`."""
    upstream = StandIn()
    hosts = {f"{service}_url": f"http://{service}.test" for service in SERVICES}
    regions.forget()
    private, public = generate_keypair()
    async with running_service(
        infra,
        "gateway",
        lambda settings: create_app(settings, upstream=upstream.send),
        GatewaySettings,
        keys=(private, public),
        jwt_private_key=private,
        crm_admin_password=ADMIN_PASSWORD,
        **hosts,
    ) as gateway:
        token = await Pages(gateway, upstream, {}).token("admin", ADMIN_PASSWORD)
        pages = Pages(gateway, upstream, {"Authorization": f"Bearer {token}"})
        try:
            yield pages
        finally:
            for http in pages.browsers:
                await http.aclose()
    regions.forget()


# -- reading the HTML ---------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


class Html(HTMLParser):
    """Every element of a page with its attributes and its whole text (whitespace folded)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[tuple[Element, list[str]]] = []
        self.feed(text)
        self.close()
        for element, parts in self._open:
            element.text = " ".join("".join(parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append((element, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0].tag == tag:
                element, parts = self._open.pop(i)
                element.text = " ".join("".join(parts).split())
                if self._open:
                    self._open[-1][1].extend([" ", *parts, " "])
                return

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements of `tag` (any) having these attributes (`data_region_code` is
        `data-region-code`; a value of "" asks only that the attribute be there)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and all(k in e.attrs and (v == "" or e.attrs[k] == v) for k, v in wanted.items())
        ]
