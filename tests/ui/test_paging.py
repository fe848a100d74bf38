"""Paging a long list in the browser: "next" on the customer and lead lists asks for the
rows after the page's last one by cursor (keyset, as fast deep in a million rows as on
the first page), and shows exactly the rows the first page did not."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from ..harness import Api, Stack
from .test_fixes import OpenAs, open_as  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


async def test_next_page_of_customers_and_leads_follows_the_cursor(
    stack: Stack,
    new_user,
    open_as: OpenAs,  # noqa: F811
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    tag = uuid.uuid4().hex[:6]

    async def customer(i: int) -> None:
        made = await seller.client.post(
            "/api/customers", json={"confirm_duplicate": True, "name": f"Công ty Trang {tag} {i:02d}"}
        )
        assert made.status_code == 201, made.text

    async def lead(i: int) -> None:
        made = await seller.client.post(
            "/api/leads",
            json={
                "full_name": f"Lê Văn Trang {tag} {i:02d}",
                "source": "walk_in",
                "phone": f"09{uuid.uuid4().int % 10**8:08d}",
                "confirm_duplicate": True,
            },
        )
        assert made.status_code == 201, made.text

    for start in range(0, 53, 10):
        await asyncio.gather(*(customer(i) for i in range(start, min(start + 10, 53))))
        await asyncio.gather(*(lead(i) for i in range(start, min(start + 10, 53))))
    page = await open_as(seller)
    base = stack.url("gateway")

    for path, rows in (("/customers", "main tbody tr"), ("/leads", "main tbody tr")):
        await page.goto(f"{base}{path}")
        await expect(page.locator(rows, has_text=tag)).to_have_count(50)
        first = set(await page.locator(rows, has_text=tag).all_inner_texts())
        await page.get_by_role("link", name=translate("vi", "pager.next")).click()
        await expect(page).to_have_url(re.compile(r"[?&]cursor="))
        await expect(page.locator(rows, has_text=tag)).to_have_count(3)
        second = set(await page.locator(rows, has_text=tag).all_inner_texts())
        assert not first & second
        await expect(page.get_by_role("link", name=translate("vi", "pager.next"))).to_have_count(0)
