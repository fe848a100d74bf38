"""The API's refusals in the user's language (issue 19, point 2): every service answers a
code with its params, and the pages say it in Vietnamese or English next to the field it
concerns, keeping what was typed; the English `detail` never reaches the page. Walked in
both languages: a lead with a phone number that is not one, and a customer import whose
file is not UTF-8 text."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role

from ..harness import Api, Stack
from .test_targets import logged_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_refusals_are_said_in_the_users_language_at_their_field(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path, tmp_path: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    me = await logged_in(contexts, stack, seller, lang, screenshots)
    page = me.page
    base = stack.url("gateway")

    # A validator's refusal (phone.invalid, with the value typed) at its field.
    await page.goto(f"{base}/leads/new")
    await page.get_by_label(me.t("lead.full_name")).fill("Hoàng Văn Nam")
    await page.get_by_label(me.t("lead.phone")).fill("12ab")
    await page.get_by_role("button", name=me.t("create"), exact=True).click()
    await expect(page.locator("#phone-error")).to_have_text(
        me.t("problem.phone.invalid").format(value="12ab")
    )
    await expect(page.get_by_label(me.t("lead.full_name"))).to_have_value("Hoàng Văn Nam")
    await expect(page.get_by_label(me.t("lead.phone"))).to_have_value("12ab")
    if lang == "vi":  # the API's English sentence is not on the page
        assert "not a Vietnamese phone number" not in await page.content()
    await me.shot("problem-phone")

    # The kit's file refusal (file.not_utf8) on the customer import, never its English text.
    latin1 = tmp_path / "khach-hang.csv"
    latin1.write_bytes(
        "name,phone\nCông ty Bình An,0912345678\n".encode("cp1258", errors="replace") + b"\xff\xfe"
    )
    await page.goto(f"{base}/customers/imports")
    await page.get_by_label(me.t("cimport.file")).set_input_files(str(latin1))
    await page.get_by_role("button", name=me.t("cimport.preview")).click()
    await expect(page.locator("#file-error")).to_have_text(me.t("problem.file.not_utf8"))
    assert "byte" not in (await page.locator("main").inner_text())
    await me.shot("problem-file")
