"""Login and logout, the language switch, the home page per role, and notifications."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from crm_kit.auth import Role

from ..domain import NotificationKind
from . import core, i18n
from .core import UiDep

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only a path on this site, so the login cannot be used to send someone elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    ui = core.anonymous_ui(request)
    return ui.render("login.html", next=_safe_next(next), values={}, refusal=None)


def _login_refusal(ui: core.Ui, result: core.ApiResult) -> str:
    """Why the login was refused, in the user's words: never which of username or
    password was wrong."""
    if result.status == 401:
        return ui.t("login.failed")
    if result.status == 403:
        return ui.t("login.deactivated")
    if result.status == 429:
        return ui.t("login.throttled", minutes=max(1, -(-(result.retry_after or 60) // 60)))
    return ui.t("errors.unavailable")


@router.post("/login")
async def login(request: Request) -> Response:
    ui = core.anonymous_ui(request)
    await core.check_csrf(request)
    form = await request.form()
    values = core.form_values(form)
    next_url = _safe_next(values.get("next"))
    result = await ui.api.call(
        "POST",
        "/api/auth/token",
        data={"username": values.get("username", ""), "password": str(form.get("password") or "")},
    )
    if not result.ok:
        page = ui.render(
            "login.html",
            status_code=result.status if result.status in (401, 403, 429) else 503,
            next=next_url,
            values={"username": values.get("username", "")},
            refusal=_login_refusal(ui, result),
        )
        if result.retry_after is not None:
            page.headers["Retry-After"] = str(result.retry_after)
        return page
    token = result.data["access_token"]
    me = await core.Api(request, token, ui.lang).get("/api/users/me")
    lang = i18n.language_or_default(me.data.get("language") if me.ok else None)
    response = RedirectResponse(next_url, status_code=303)
    secure = request.url.scheme == "https"
    ttl = int(request.app.state.issuer.ttl.total_seconds())
    response.set_cookie(
        core.TOKEN_COOKIE, token, path="/", httponly=True, samesite="lax", secure=secure, max_age=ttl
    )
    response.set_cookie(core.LANG_COOKIE, lang, path="/", httponly=True, samesite="lax", secure=secure)
    return response


@router.post("/login/language")
async def login_language(request: Request) -> Response:
    """Before logging in, the choice is the browser's (a cookie) only."""
    await core.check_csrf(request)
    form = await request.form()
    lang = i18n.language_or_default(str(form.get("language") or ""))
    next_url = _safe_next(str(form.get("next") or "/"))
    target = "/login" if next_url == "/" else f"/login?next={quote(next_url, safe='')}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(core.LANG_COOKIE, lang, path="/", httponly=True, samesite="lax")
    return response


@router.post("/logout")
async def logout(ui: UiDep) -> Response:
    """The token ends everywhere (`POST /api/auth/logout`), not only in this browser."""
    await ui.api.call("POST", "/api/auth/logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(core.TOKEN_COOKIE, path="/")
    return response


@router.post("/language")
async def switch_language(ui: UiDep) -> Response:
    """Remembered for the user (their account) and the browser (a cookie)."""
    form = await ui.request.form()
    lang = i18n.language_or_default(str(form.get("language") or ""))
    await ui.api.call("PUT", "/api/users/me/language", json_body={"language": lang})
    ui.remember_language(lang)
    back = _safe_next(str(form.get("next") or "/"))
    return ui.redirect(back, flash="flash.language")


# -- home ------------------------------------------------------------------------------


@router.get("/")
async def home(ui: UiDep) -> Response:
    assert ui.user is not None
    today = ui.today().isoformat()
    context: dict[str, Any] = {"today": today}
    me = await ui.api.get("/api/users/me")
    context["me"] = me.data if me.ok else {"full_name": ui.user.username}
    if ui.is_(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN):
        leads, activities, reviews, quotes, mine = await core.gather(
            ui.api.items("/api/leads", status=None, owner_id=str(ui.user.id), limit=20),
            ui.api.items("/api/activities", status="planned", due_before=today, limit=20),
            ui.api.items("/api/customers/reviews-due", limit=10),
            ui.api.items("/api/quotes", owner_id=str(ui.user.id), limit=50),
            ui.api.get("/api/opportunities/pipeline"),  # the salesperson's own
        )
        context["pipeline"] = mine.data if mine.ok else None
        context["leads"] = [lead for lead in leads if lead["status"] in ("new", "contacting", "evaluated")]
        context["activities"] = activities
        context["reviews"] = reviews
        context["my_quotes"] = [q for q in quotes if q["status"] in ("approved", "rejected", "sent", "draft")]
    if ui.is_(Role.SALES_MANAGER, Role.ADMIN):
        queue, pipeline = await core.gather(
            ui.api.items("/api/quotes", status="pending_approval", limit=50),
            ui.api.get("/api/opportunities/pipeline"),
        )
        context["queue"] = queue
        context["pipeline"] = pipeline.data if pipeline.ok else None
    if ui.is_(Role.MARKETING):
        context["campaigns"] = await ui.api.items("/api/campaigns", limit=20)
    if ui.is_(Role.ACCOUNTANT):
        aging = await ui.api.get("/api/receivables/aging", limit=20)
        context["aging"] = aging.data if aging.ok else None
    return ui.render("home.html", **context)


# -- notifications ---------------------------------------------------------------------


def notification_text(ui: core.Ui, item: dict[str, Any]) -> str:
    params = dict(item.get("params") or {})
    if "total" in params:
        params["total"] = i18n.money(ui.lang, params["total"])
    if item.get("kind") == NotificationKind.LEAD_ASSIGNED and params.get("company"):
        params["name"] = f"{params['name']} ({params['company']})"
    if item.get("kind") == NotificationKind.CARE_DUE:
        params["activity"] = ui.t(f"kind.{params.get('activity_kind')}")
        params["due_on"] = i18n.format_date(ui.lang, params.get("due_on"))
    return ui.t(f"notify.{item.get('kind')}", **params)


@router.get("/notifications/bell")
async def bell(ui: UiDep) -> Response:
    """The header's badge and menu; HTMX asks again every 15 seconds."""
    result = await ui.api.get("/api/notifications", limit=8)
    data: dict[str, Any] = result.data if result.ok else {"items": [], "unread": 0}
    items = [{**n, "text": notification_text(ui, n)} for n in data["items"]]
    return ui.render("_bell.html", items=items, unread=data["unread"])


@router.get("/notifications")
async def notifications_page(ui: UiDep) -> Response:
    result = await ui.api.get("/api/notifications", limit=100)
    data: dict[str, Any] = result.data if result.ok else {"items": [], "unread": 0}
    items = [{**n, "text": notification_text(ui, n)} for n in data["items"]]
    return ui.render("notifications.html", items=items, unread=data["unread"])


@router.post("/notifications/read-all")
async def read_all(ui: UiDep) -> Response:
    await ui.api.post("/api/notifications/read-all")
    return ui.redirect("/notifications")


@router.post("/notifications/{notification_id}/read")
async def read_one(notification_id: str, ui: UiDep) -> Response:
    await ui.api.post(f"/api/notifications/{notification_id}/read")
    form = await ui.request.form()
    return ui.redirect(_safe_next(str(form.get("next") or "/notifications")))
