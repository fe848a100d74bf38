"""The web UI's plumbing: who is logged in (a cookie), CSRF, the language, rendering,
and the client every page uses to call the public JSON API.

The UI holds no business rule: each page calls the same `/api/...` routes any client
would, with the user's own token, through the gateway app itself (an in-process ASGI
client), so the gateway's checks and its proxy apply exactly as for anyone else.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile

from crm_kit import tracing
from crm_kit.auth import InvalidToken, Role, User, verify_standing
from crm_kit.context import current_correlation_id
from crm_kit.http import CORRELATION_HEADER
from crm_kit.runtime import Runtime

from . import i18n, problems

TOKEN_COOKIE = "crm_token"
CSRF_COOKIE = "crm_csrf"
LANG_COOKIE = "crm_lang"
FLASH_COOKIE = "crm_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def is_uuid(text: str) -> bool:
    """Whether a path's id is one at all (a page for a record answers 404 when not)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def typed_dong(text: str) -> str:
    """An amount of dong as typed, with thousands separators (`1.200.000`, `1,200,000`,
    `1 200 000`), as the API takes it; the API judges whether it is a valid amount."""
    return re.sub(r"[.,\s]", "", text)


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page (and comes back after)."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Exception):
    pass


# -- the public API, called as the user ---------------------------------------------------


@dataclass
class ApiResult:
    status: int
    data: Any
    #: The answer's `Retry-After` in seconds, when it gave one (a 429, a 503).
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> Any:
        return self.data.get("detail") if isinstance(self.data, dict) else self.data


class Api:
    """`/api/...` of this very gateway, with the user's bearer token."""

    def __init__(self, request: Request, token: str | None, lang: str) -> None:
        self._client: httpx.AsyncClient = _internal_client(request)
        self._headers = {"accept": "application/json", "accept-language": lang}
        #: With a token, a 401 means it ended: log in again. Without one (the login page
        #: itself), a 401 is the answer to show.
        self._logged_in = bool(token)
        if token:
            self._headers["authorization"] = f"Bearer {token}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        content: tuple[bytes, str] | None = None,
    ) -> ApiResult:
        """`content`: a raw body and its content type (a logo upload)."""
        # The page's trace and correlation id go on into the API it calls.
        headers = {**self._headers, CORRELATION_HEADER: current_correlation_id(), **tracing.current_headers()}
        if isinstance(params, dict):
            params = {k: v for k, v in params.items() if v not in (None, "")}
        raw = None
        if content is not None:
            raw, headers["content-type"] = content
        response = await self._client.request(
            method, path, params=params, json=json_body, data=data, files=files, content=raw, headers=headers
        )
        if (wait := _retry_after(response)) is not None:
            # "Not yet, nothing changed" (an event still on its way): once more, after the
            # pause the service asked for, before the page says to try again.
            await asyncio.sleep(wait)
            response = await self._client.request(
                method, path, params=params, json=json_body, data=data, files=files, headers=headers
            )
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        if response.status_code == 401 and self._logged_in:
            raise LoginRequired()
        retry_after = response.headers.get("retry-after", "")
        return ApiResult(response.status_code, body, int(retry_after) if retry_after.isdigit() else None)

    async def document(self, path: str, **params: Any) -> httpx.Response:
        """A document route's answer as it is (a PDF, an XML, or the problem as JSON)."""
        headers = {**self._headers, "accept": "*/*", CORRELATION_HEADER: current_correlation_id()}
        response = await self._client.get(path, params=params, headers=headers)
        if response.status_code == 401:
            raise LoginRequired()
        return response

    async def get(self, path: str, **params: Any) -> ApiResult:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> ApiResult:
        return await self.call("POST", path, json_body=body if body is not None else {})

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """The items of a list route, or none when the caller may not see it (403/404)."""
        result = await self.get(path, **params)
        if not result.ok or not isinstance(result.data, dict):
            return []
        items = result.data.get("items", [])
        return items if isinstance(items, list) else []


#: The longest `Retry-After` a page waits out once itself (longer: it says to try again).
UI_RETRY_MAX_S = 3


def _retry_after(response: httpx.Response) -> float | None:
    """The pause a 503 asked for, if a page should wait it out and try once more."""
    if response.status_code != 503:
        return None
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= UI_RETRY_MAX_S else None


def _internal_client(request: Request) -> httpx.AsyncClient:
    """An in-process client of the gateway app, one per browser request: it carries the
    browser's own address, so what the API does per caller (login throttling) still
    tells callers apart."""
    client = request.client
    transport = httpx.ASGITransport(
        app=request.app, client=(client.host, client.port) if client else ("127.0.0.1", 0)
    )
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.internal", timeout=60)


# -- the page's context --------------------------------------------------------------------


@dataclass
class Ui:
    """Everything a page needs: who, in which language and time zone, the API as them,
    and rendering."""

    request: Request
    user: User | None
    token: str | None
    lang: str
    csrf: str
    api: Api
    #: The business's zone (the settings'): dates and times on pages follow its calendar.
    zone: ZoneInfo
    full_name: str = ""
    cookies: dict[str, str] = field(default_factory=dict)

    def t(self, key: str, **params: Any) -> str:
        return i18n.translate(self.lang, key, **params)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    @property
    def role(self) -> str:
        return self.user.role.value if self.user else ""

    def is_(self, *roles: Role) -> bool:
        return self.user is not None and self.user.role in roles

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        flash = self.request.cookies.get(FLASH_COOKIE)
        html = env.get_template(template).render(
            ui=self,
            t=self.t,
            lang=self.lang,
            csrf=self.csrf,
            user=self.user,
            flash=self.t(flash) if flash in i18n.MESSAGES else None,
            money=lambda v: i18n.money(self.lang, v),
            number=lambda v, digits=0: i18n.number(self.lang, v, digits),
            percent=lambda v, digits=1: i18n.percent(self.lang, v, digits),
            fdate=lambda v: i18n.format_date(self.lang, v, self.zone),
            fdatetime=lambda v: i18n.format_datetime(self.lang, v, self.zone),
            path=self.request.url.path,
            known=i18n.MESSAGES,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        self._set_cookies(response)
        return response

    def redirect(self, url: str, flash: str | None = None) -> Response:
        """After a POST: 303 to the next page (HTMX follows `HX-Redirect`)."""
        if self.request.headers.get("hx-request"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": url})
        else:
            response = RedirectResponse(url, status_code=303)
        if flash:
            response.set_cookie(FLASH_COOKIE, flash, path="/", httponly=True, samesite="lax", max_age=60)
        self._set_cookies(response)
        return response

    def _set_cookies(self, response: Response) -> None:
        secure = self.request.url.scheme == "https"
        if self.request.cookies.get(CSRF_COOKIE) != self.csrf:
            response.set_cookie(
                CSRF_COOKIE, self.csrf, path="/", httponly=True, samesite="lax", secure=secure
            )
        for name, value in self.cookies.items():
            response.set_cookie(name, value, path="/", httponly=True, samesite="lax", secure=secure)

    def remember_language(self, lang: str) -> None:
        self.lang = lang
        self.cookies[LANG_COOKIE] = lang


def _zone(request: Request) -> ZoneInfo:
    runtime: Runtime = request.app.state.runtime
    return runtime.settings.zone


def _next_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    return target


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, a static file or an HTMX fragment)."""
    path = request.url.path
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not request.headers.get("hx-request")
        and not path.startswith(("/api/", "/static/", "/docs", "/openapi"))
    )


def anonymous_ui(request: Request) -> Ui:
    """The context of the login page: no user yet, but a language and a CSRF token."""
    lang = i18n.language_or_default(request.cookies.get(LANG_COOKIE))
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    return Ui(request, None, None, lang, csrf, Api(request, None, lang), _zone(request))


async def check_csrf(request: Request) -> None:
    """Double-submit: the form field (or HTMX's header) must equal the cookie, and a
    browser-sent Origin must be this site. A cross-site form has neither."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise CsrfRefused()
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise CsrfRefused()


async def current_ui(request: Request) -> Ui:
    """A logged-in user's page context; anyone else is sent to the login page.
    Every POST must carry the CSRF token."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise LoginRequired(_next_url(request))
    try:
        user = (await verify_standing(request, token)).user
    except InvalidToken as exc:
        raise LoginRequired(_next_url(request)) from exc
    if request.method == "POST":
        await check_csrf(request)
    lang = i18n.language_or_default(request.cookies.get(LANG_COOKIE))
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    api = Api(request, token, lang)
    return Ui(request, user, token, lang, csrf, api, _zone(request), full_name=user.username)


UiDep = Annotated[Ui, Depends(current_ui)]


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = exc.next_url if exc.next_url.startswith("/") and not exc.next_url.startswith("//") else "/"
    url = "/login" if target in ("/", "/login") else f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


# -- forms and the API's answers ---------------------------------------------------------


def form_values(form: FormData) -> dict[str, str]:
    """What the user typed, to show again; files are left out."""
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def blank_to_none(values: dict[str, str], *names: str) -> dict[str, Any]:
    """The named fields the user filled in (the API treats a missing field as "not given")."""
    return {name: values[name] for name in names if values.get(name)}


@dataclass
class Problems:
    """The API's refusal, for the form: messages by field (`loc` without `body`) and the rest."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


def problems_of(ui: Ui, result: ApiResult, known_fields: tuple[str, ...] = ()) -> Problems:
    """Map a refusal to the form, in the user's language (`ui/problems.py`): a 422's
    `detail[].loc` like `["body", "approach_plan", "note"]` becomes the field
    `approach_plan.note`; the refusal's own code is the sentence above the form."""
    found = Problems()
    body = result.data if isinstance(result.data, dict) else {}
    detail = result.detail
    if isinstance(detail, list) and result.status == 422:
        for item in detail:
            if not isinstance(item, dict):
                continue
            loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
            name = ".".join(loc)
            message = problems.at_field(ui.lang, item)
            if name and (not known_fields or name in known_fields or name.split(".")[0] in known_fields):
                found.fields.setdefault(name, message)
            else:
                found.general.append(message)
        if found:
            return found
    found.general.append(problems.sentence(ui.lang, result.status, body.get("code"), body.get("params")))
    return found


def problem_text(ui: Ui, result: ApiResult) -> str:
    """A refusal in one sentence of the user's language (a flash, a page's message)."""
    found = problems_of(ui, result)
    return " ".join([*found.general, *found.fields.values()])


async def upload_part(form: FormData, name: str) -> tuple[str, bytes, str] | None:
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    return (value.filename, await value.read(), value.content_type or "application/octet-stream")


async def gather(*calls: Any) -> list[Any]:
    return list(await asyncio.gather(*calls))


async def gather_named(**calls: Awaitable[Any]) -> dict[str, Any]:
    """Each call's answer under its name; the calls run at once."""
    return dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))


#: A list route's largest page, and how many of anything a select offers at most.
LIST_PAGE = 200
MAX_LISTED = 2000


async def every(ui: Ui, path: str) -> list[dict[str, Any]]:
    """Every item of a list route, page after page (a select must offer everyone)."""
    found: list[dict[str, Any]] = []
    while len(found) < MAX_LISTED:
        result = await ui.api.get(path, limit=LIST_PAGE, offset=len(found))
        if not result.ok or not isinstance(result.data, dict):
            break
        page = result.data.get("items") or []
        found += page
        if not page or len(found) >= int(result.data.get("total", 0)):
            break
    return found


def names_by_id(users: list[dict[str, Any]]) -> dict[str, str]:
    return {u["id"]: u.get("full_name") or u.get("username", "") for u in users}


async def staff_names(ui: Ui) -> dict[str, str]:
    """Every member of staff's name by id, for whoever is logged in (the staff directory,
    `GET /api/users/directory`), the user's own as "me"."""
    assert ui.user is not None
    return names_by_id(await ui.api.items("/api/users/directory")) | {str(ui.user.id): ui.t("me")}
