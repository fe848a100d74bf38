"""Importing and proposing targets, and the market share by month with the channel mix,
as a browser gets them: the gateway on a real database, marketing played by a stand-in
whose answers each test scripts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui import core
from gateway.ui.i18n import money, percent, translate

from .pages import CSRF, Browser, Html, Pages, page

pytestmark = pytest.mark.integration

CHANNEL = str(uuid.uuid4())
TARGET = str(uuid.uuid4())


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    pages.upstream.answer(
        "GET",
        "/api/channels",
        page([{"id": CHANNEL, "name": "Đại lý Hà Đông", "parent_id": None, "active": True}]),
    )
    pages.upstream.answer("GET", "/api/products", page([{"product_group": "máy bơm"}]))
    return pages


#: The planning imports, reported alike: (the page, the API it sends the file to, its MB limit).
IMPORTS = [
    pytest.param("/targets/import", "/api/targets/import", 2, id="targets"),
    pytest.param("/marketing/volumes/import", "/api/market-volumes/import", 5, id="volumes"),
]


async def upload(browser: Browser, name: str, content: bytes, path: str = "/targets/import") -> Any:
    return await browser.http.post(
        path, data={core.CSRF_FIELD: CSRF}, files={"file": (name, content, "text/csv")}
    )


# -- importing -----------------------------------------------------------------------------


async def test_the_targets_pages_link_a_planner_to_import_and_proposals(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/targets", page([]))

    planner = Html((await marketer.get("/targets")).text)
    theirs = Html((await seller.get("/targets")).text)

    assert planner.all("a", href="/targets/import") and planner.all("a", href="/targets/proposals")
    assert not theirs.all("a", href="/targets/import") and not theirs.all("a", href="/targets/proposals")


async def test_the_volumes_page_links_to_its_import_which_only_planners_may_use(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/market-volumes", page([]))
    stand_in.upstream.answer("GET", "/api/product-groups", page([]))

    volumes = Html((await marketer.get("/marketing/volumes")).text)
    assert volumes.all("a", href="/marketing/volumes/import")
    form = Html((await marketer.get("/marketing/volumes/import")).text)
    assert form.all("form", action="/marketing/volumes/import")
    theirs = Html((await seller.get("/marketing/volumes/import")).text)
    assert not theirs.all("form", action="/marketing/volumes/import")


def rejected(row: int, *problems: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """A rejected row as marketing reports it: each problem's column, code and params, and
    the English (which the page never shows)."""
    return {
        "row": row,
        "errors": [f"{column}: (English)" for column, _, _ in problems],
        "problems": [
            {"column": column, "code": code, "params": params, "message": "(English)"}
            for column, code, params in problems
        ],
    }


@pytest.mark.parametrize(("path", "api", "limit_mb"), IMPORTS)
@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_an_import_sends_the_file_and_reports_each_rejected_row_in_the_users_words(
    stand_in: Pages, lang: str, path: str, api: str, limit_mb: int
) -> None:
    marketer = await stand_in.person(Role.MARKETING, lang=lang)
    report = {
        "imported": 2,
        "updated": 1,
        "unchanged": 0,
        "rejected": [
            rejected(5, ("row", "import.row_repeats", {"row": 2})),
            rejected(
                3,
                ("period", "period.not_year_quarter_or_month", {"period": "2027-13"}),
                ("amount", "import.amount_invalid", {"value": "nhiều"}),
            ),
            rejected(
                4,
                ("salesperson", "target.salesperson_deactivated", {"username": "an.nguyen"}),
                ("weird", "something.new", {}),
            ),
        ],
    }
    stand_in.upstream.answer("POST", api, report)
    content = "period,region_code,amount\n2027,Hà Nội,10.000.000.000\n".encode()

    answer = await upload(marketer, "chi-tieu.csv", content, path)

    assert answer.status_code == 200
    sent = stand_in.upstream.last("POST", api).body
    assert b'filename="chi-tieu.csv"' in sent and content in sent
    html = Html(answer.text)
    assert [html.all(data_testid=k)[0].text for k in ("imported", "updated", "unchanged", "rejected")] == [
        "2",
        "1",
        "0",
        "3",
    ]
    rows = [r.text for r in html.all("tr", data_outcome="rejected")]
    assert [r.split()[0] for r in rows] == ["3", "4", "5"]
    words = {
        "period": translate(lang, "problem.period.not_year_quarter_or_month", period="2027-13"),
        "amount": translate(lang, "problem.import.amount_invalid", value="nhiều"),
        "salesperson": translate(lang, "problem.target.salesperson_deactivated", username="an.nguyen"),
    }
    assert f"period: {words['period']}" in rows[0]
    assert f"amount: {words['amount']}" in rows[0]
    assert f"salesperson: {words['salesperson']}" in rows[1]
    # A code the page has no words for: a generic sentence in the user's language.
    assert f"weird: {translate(lang, 'err.value_error')}" in rows[1]
    assert translate(lang, "problem.import.row_repeats", row=2) in rows[2]
    assert "row:" not in rows[2]  # the row as a whole: its words alone
    assert "(English)" not in " ".join(rows)


@pytest.mark.parametrize(("path", "api", "limit_mb"), IMPORTS)
@pytest.mark.parametrize(
    ("status", "detail", "key", "params"),
    [
        (422, "the header lacks the column(s) amount", "timport.err.lacks", {"columns": "amount"}),
        (413, "the file is larger than the limit", "timport.err.too_large", {}),
    ],
)
async def test_a_file_refused_as_a_whole_is_shown_at_the_file(
    stand_in: Pages,
    status: int,
    detail: str,
    key: str,
    params: dict[str, Any],
    path: str,
    api: str,
    limit_mb: int,
) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    coded = {"code": "file.missing_columns", "params": {"columns": ["amount"]}} if status == 422 else {}
    stand_in.upstream.answer("POST", api, {"detail": detail, **coded}, status=status)

    answer = await upload(marketer, "x.csv", b"period,region_code\n", path)

    assert answer.status_code == status
    words = translate("vi", key, **params, mb=limit_mb)
    assert Html(answer.text).by_id("file-error").text == words


@pytest.mark.parametrize(("path", "api", "limit_mb"), IMPORTS)
async def test_an_upload_without_a_file_asks_for_one(
    stand_in: Pages, path: str, api: str, limit_mb: int
) -> None:
    marketer = await stand_in.person(Role.MARKETING)
    answer = await marketer.post(path, {})
    assert answer.status_code == 422
    assert Html(answer.text).by_id("file-error").text == translate("vi", "err.missing")
    assert not stand_in.upstream.calls("POST", api)


# -- proposing -----------------------------------------------------------------------------


def proposed(
    region: str, name: str, volume: int | None, amount: int | None, status: str, **more: Any
) -> dict:
    return {
        "region_code": region,
        "region_name": name,
        "product_group": "máy bơm",
        "market_volume": volume,
        "volume_from": more.pop("volume_from", ["2027"]) if volume else [],
        "amount": amount,
        "status": status,
        **more,
    }


async def test_proposals_are_shown_with_the_share_as_a_fraction_then_accepted(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    answer_rows = [
        proposed(
            "01", "Hà Nội", 100_000_000_000, 7_500_000_000, "proposed", volume_from=["2027-Q1", "2027-Q2"]
        ),
        proposed("79", "Hồ Chí Minh", 80_000_000_000, 6_000_000_000, "exists", target_id=TARGET),
        proposed("48", "Đà Nẵng", None, None, "no_market_volume"),
    ]
    stand_in.upstream.answer(
        "POST",
        "/api/targets/proposals",
        {
            "period": "2027",
            "share": 0.075,
            "channel_id": CHANNEL,
            "product_group": "máy bơm",
            "accepted": False,
            "rows": answer_rows,
            "created": 0,
            "skipped": 1,
        },
    )
    form = {"period": "2027", "share": "7,5", "channel_id": CHANNEL, "product_group": "máy bơm"}

    answer = await manager.http.post(
        "/targets/proposals",
        data={**form, "region_codes": ["01", "79", "48"], core.CSRF_FIELD: CSRF},
    )

    assert answer.status_code == 200
    assert stand_in.upstream.last("POST", "/api/targets/proposals").body == {
        "period": "2027",
        "share": "0.075",
        "channel_id": CHANNEL,
        "product_group": "máy bơm",
        "region_codes": ["01", "79", "48"],
        "accept": False,
    }
    html = Html(answer.text)
    rows = {r["data-region-code"]: r for r in html.all("tr", data_region_code="")}
    assert money("vi", 7_500_000_000) in rows["01"].text and "2027-Q1, 2027-Q2" in rows["01"].text
    assert translate("vi", "proposal.status.exists") in rows["79"].text
    assert html.all("a", href=f"/targets/{TARGET}")
    assert translate("vi", "proposal.status.no_market_volume") in rows["48"].text
    assert percent("vi", 0.075, 2) in html.by_id("h-proposed").text
    # The accept form carries the same question, as typed, with accept.
    accept = {
        e["name"]: e["value"] for e in html.all("input", type="hidden") if e.get("name") != "region_codes"
    }
    assert {k: accept[k] for k in ("period", "share", "channel_id", "product_group", "accept")} == {
        **form,
        "accept": "true",
    }
    assert translate("vi", "proposal.accept", n=1) in html.by_id("accept-proposals").text

    stand_in.upstream.answer(
        "POST",
        "/api/targets/proposals",
        {
            "period": "2027",
            "share": 0.075,
            "channel_id": CHANNEL,
            "product_group": "máy bơm",
            "accepted": True,
            "rows": [{**answer_rows[0], "status": "created", "target_id": TARGET}, *answer_rows[1:]],
            "created": 1,
            "skipped": 1,
        },
    )
    accepted = Html(
        (
            await manager.http.post(
                "/targets/proposals",
                data={**form, "accept": "true", "region_codes": ["01", "79", "48"], core.CSRF_FIELD: CSRF},
            )
        ).text
    )
    assert stand_in.upstream.last("POST", "/api/targets/proposals").body["accept"] is True
    assert accepted.all(data_testid="accepted")[0].text == translate(
        "vi", "proposal.accepted", created=1, skipped=1
    )
    assert not accepted.has_id("accept-proposals")


async def test_a_refused_proposal_is_shown_at_its_fields_in_the_users_words(stand_in: Pages) -> None:
    marketer = await stand_in.person(Role.MARKETING, lang="en")
    refusal = [
        {
            "loc": ["body", "share"],
            "msg": "Input should be less than or equal to 1",
            "type": "less_than_equal",
        },
        {
            "loc": ["body", "period"],
            "msg": "period '2027-13' is not ...",
            "type": "period.not_year_quarter_or_month",
        },
        {"loc": ["body", "region_codes", 0], "msg": "no province matches 'XX'", "type": "region.no_match"},
    ]
    stand_in.upstream.answer("POST", "/api/targets/proposals", {"detail": refusal}, status=422)

    answer = await marketer.post("/targets/proposals", {"period": "2027-13", "share": "150"})

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("share-error").text == translate("en", "proposal.err.share")
    assert html.by_id("period-error").text == translate("en", "target.err.period")
    assert html.by_id("region_codes-error").text == translate("en", "target.err.region")
    assert html.by_id("share")["value"] == "150"
    assert stand_in.upstream.last("POST", "/api/targets/proposals").body["share"] == "1.5"


# -- market share by month ---------------------------------------------------------------------


async def test_the_share_page_takes_a_month_and_shows_each_channels_part_of_its_province(
    stand_in: Pages,
) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    row = {
        "region_code": "01",
        "region_name": "Hà Nội",
        "channel_id": CHANNEL,
        "channel_name": "Đại lý Hà Đông",
        "revenue": 300_000_000,
        "region_revenue": 1_200_000_000,
        "channel_mix": 0.25,
        "market_volume": 3_000_000_000,
        "share": 0.1,
        "previous_revenue": 0,
        "previous_market_volume": None,
        "previous_share": None,
        "share_change": None,
    }
    report = {
        "period": "2027-03",
        "previous_period": "2027-02",
        "product_group": None,
        "rows": [row],
        "white_space": [],
    }
    stand_in.upstream.answer("GET", "/api/market-share", report)

    html = Html((await manager.get("/marketing/share", period="2027-03")).text)

    assert stand_in.upstream.last("GET", "/api/market-share").query == {"period": "2027-03"}
    shown = html.all("tr", data_region_code="01")[0]
    assert "Ha Noi" in shown.text  # the province's name in the page's language
    assert html.all(data_testid="channel-mix")[0].text == percent("en", 0.25)
    assert html.all(data_testid="region-revenue")[0].text == money("en", 1_200_000_000)
    assert "2027-02" in html.by_id("h-share-table").text
    assert html.by_id("period")["value"] == "2027-03"


async def test_a_period_that_is_not_one_is_refused_at_the_period(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    refused = "period '2027-13' is not a year (2026), a quarter (2026-Q3) or a month (2026-03)"
    stand_in.upstream.answer(
        "GET",
        "/api/market-share",
        {"detail": refused, "code": "period.not_year_quarter_or_month", "params": {"period": "2027-13"}},
        status=422,
    )

    answer = await manager.get("/marketing/share", period="2027-13")

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("period-error").text == translate("vi", "target.err.period")
    assert html.by_id("period")["value"] == "2027-13"
