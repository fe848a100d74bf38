"""Marketing's forms take provinces by name (issue 19, point 3): a new channel's and a new
campaign's provinces are ticked in the grouped list, not typed as codes ("01, 79")."""

from __future__ import annotations

from typing import Any

import pytest

from crm_kit.auth import Role

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


async def test_a_new_channel_takes_the_provinces_ticked_by_name(stand_in: Pages) -> None:
    planner = await stand_in.person(Role.MARKETING, lang="vi")
    stand_in.upstream.answer("GET", "/api/channels", page([]))
    form = Html((await planner.get("/marketing")).text)
    boxes = form.all("input", name="region_codes")
    assert len(boxes) >= 34 and not form.has_id("region_codes")  # no code field to type into
    assert any("Hà Nội" in label.text for label in form.all("label", **{"class": "check"}))

    stand_in.upstream.answer("POST", "/api/channels", {"id": "x"}, status=201)
    sent: dict[str, Any] = {"name": "Đại lý miền Bắc", "kind": "dealer", "region_codes": ["01", "79"]}
    answer = await planner.post("/marketing/channels", sent)
    assert answer.status_code == 303, answer.text
    assert stand_in.upstream.last("POST", "/api/channels").body == {
        "name": "Đại lý miền Bắc",
        "kind": "dealer",
        "region_codes": ["01", "79"],
    }


async def test_a_refused_new_campaign_keeps_the_provinces_ticked(stand_in: Pages) -> None:
    planner = await stand_in.person(Role.MARKETING, lang="en")
    stand_in.upstream.answer("GET", "/api/campaigns", page([]))
    stand_in.upstream.answer(
        "POST",
        "/api/campaigns",
        {"detail": [{"loc": ["body", "ends_on"], "msg": "ends before it starts", "type": "value_error"}]},
        status=422,
    )
    sent: dict[str, Any] = {
        "name": "Khuyến mãi Tết",
        "starts_on": "2027-02-01",
        "ends_on": "2027-01-01",
        "target.region_codes": ["01", "79"],
    }
    answer = await planner.post("/marketing/campaigns", sent)
    assert answer.status_code == 422
    assert stand_in.upstream.last("POST", "/api/campaigns").body["target"]["region_codes"] == ["01", "79"]
    ticked = [
        b["value"]
        for b in Html(answer.text).all("input", name="target.region_codes")
        if b.get("checked") is not None
    ]
    assert ticked == ["01", "79"]
