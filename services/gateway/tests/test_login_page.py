"""The login page says why it refused (issue 19, point 1): wrong credentials, an account
that was deactivated, or too many tries with how long to wait; it keeps the username and
never says which of username or password was wrong."""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from crm_kit.auth import generate_keypair
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from gateway.app import create_app
from gateway.models import UserAccount
from gateway.settings import GatewaySettings
from gateway.ui import core, i18n

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "login-page-admin-pw"
PASSWORD = "login-page-user-pw-1"
CSRF = "login-page-csrf"


@pytest.fixture(scope="module")
async def gateway(infra: Infra) -> AsyncIterator[ServiceUnderTest[GatewaySettings]]:
    private, public = generate_keypair()
    async with running_service(
        infra,
        "gateway",
        create_app,
        GatewaySettings,
        keys=(private, public),
        jwt_private_key=private,
        crm_admin_password=ADMIN_PASSWORD,
        login_max_failures=3,
        login_window_s=600,
    ) as running:
        yield running


def browser(gateway: ServiceUnderTest[GatewaySettings], lang: str, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(gateway.app, client=(address, 40000))
    cookies = {core.CSRF_COOKIE: CSRF, core.LANG_COOKIE: lang}
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", cookies=cookies)


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    form = {core.CSRF_FIELD: CSRF, "username": username, "password": password, "next": "/"}
    return await client.post("/login", data=form)


def an_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


async def a_user(gateway: ServiceUnderTest[GatewaySettings]) -> tuple[str, str]:
    """A salesperson made by the admin: (id, username)."""
    transport = httpx.ASGITransport(gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
        token = (
            await api.post("/api/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        username = f"login-{uuid.uuid4().hex[:8]}"
        made = await api.post(
            "/api/users",
            json={
                "username": username,
                "password": PASSWORD,
                "full_name": "Trần Thị Lan",
                "role": "salesperson",
            },
            headers=headers,
        )
        assert made.status_code == 201, made.text
        return made.json()["id"], username


def shown(page: httpx.Response) -> str:
    return html.unescape(page.text)


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_wrong_credentials_say_so_and_keep_the_username(
    gateway: ServiceUnderTest[GatewaySettings], lang: str
) -> None:
    _, username = await a_user(gateway)
    async with browser(gateway, lang, an_address()) as client:
        wrong_password = await log_in(client, username, "not-the-password")
        unknown_name = await log_in(client, f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD)
    for page in (wrong_password, unknown_name):
        assert page.status_code == 401, (page.status_code, page.headers.get("location"))
        assert i18n.translate(lang, "login.failed") in shown(page)
        assert core.TOKEN_COOKIE not in page.cookies
    assert f'value="{username}"' in wrong_password.text
    # The same words either way: the page does not tell which of the two was wrong.
    assert shown(wrong_password).count(i18n.translate(lang, "login.failed")) == 1


async def test_a_deactivated_account_is_told_so_only_with_its_right_password(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    user_id, username = await a_user(gateway)
    async with gateway.db.transaction() as session:
        await session.execute(
            update(UserAccount).where(UserAccount.id == uuid.UUID(user_id)).values(active=False)
        )
    async with browser(gateway, "vi", an_address()) as client:
        right = await log_in(client, username, PASSWORD)
        wrong = await log_in(client, username, "not-the-password")
    assert right.status_code == 403
    assert i18n.translate("vi", "login.deactivated") in shown(right)
    assert wrong.status_code == 401
    assert i18n.translate("vi", "login.deactivated") not in shown(wrong)
    assert i18n.translate("vi", "login.failed") in shown(wrong)


async def test_too_many_tries_say_how_long_to_wait(gateway: ServiceUnderTest[GatewaySettings]) -> None:
    _, username = await a_user(gateway)
    async with browser(gateway, "en", an_address()) as client:
        for _ in range(3):
            assert (await log_in(client, username, "guess")).status_code == 401
        page = await log_in(client, username, PASSWORD)
    assert page.status_code == 429
    assert page.headers.get("retry-after")
    minutes = -(-int(page.headers["retry-after"]) // 60)
    assert i18n.translate("en", "login.throttled", minutes=minutes) in shown(page)
    assert f'value="{username}"' in page.text
