"""The customer as a B2B record in the web UI, as a browser gets it: the gateway on a real
database, customers played by a stand-in, so what is checked is what the pages send to
the API and what they make of its answers (the duplicate warning, a taken tax code)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

CID = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
PRIMARY, SECOND = str(uuid.uuid4()), str(uuid.uuid4())


def customer(**overrides: Any) -> dict[str, Any]:
    return {
        "id": CID,
        "name": "Hòa Bình",
        "contact_name": None,
        "phone": "0912345678",
        "email": None,
        "address": None,
        "region_code": None,
        "channel_id": None,
        "tax_code": "0100233488",
        "legal_name": "Công ty TNHH Thiết bị Hòa Bình",
        "billing_address": "12 Lê Lợi, TP Hồ Chí Minh",
        "owner_id": None,
        "lifecycle_stage": "prospect",
        "merged_into_id": None,
        "merged_at": None,
        "source": None,
        "lead_id": None,
        "grade": None,
        "graded_at": None,
        "next_review_on": None,
        "grade_questionnaire_id": None,
        "grade_questionnaire_version": None,
        "last_contact_at": None,
        "promoted_at": None,
        "created_at": "2026-12-01T02:00:00Z",
        "updated_at": "2026-12-01T02:00:00Z",
        **overrides,
    }


def contact(contact_id: str, name: str, primary: bool) -> dict[str, Any]:
    return {
        "id": contact_id,
        "customer_id": CID,
        "name": name,
        "role": "kế toán",
        "phone": "0987654321",
        "email": None,
        "is_primary": primary,
        "created_at": "2026-12-01T02:00:00Z",
        "updated_at": "2026-12-01T02:00:00Z",
    }


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    pages.upstream.answer("GET", f"/api/customers/{CID}", customer())
    pages.upstream.answer(
        "GET",
        f"/api/customers/{CID}/contacts",
        [contact(PRIMARY, "Lan", True), contact(SECOND, "Bình", False)],
    )
    pages.upstream.answer("GET", f"/api/customers/{CID}/timeline", [])
    pages.upstream.answer("GET", "/api/channels", page([]))
    return pages


# -- a customer created by hand ---------------------------------------------------------------


async def test_a_look_alike_is_shown_with_create_anyway_which_sends_the_same_values_confirmed(
    stand_in: Pages,
) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    form = {"name": "Hoa Binh", "tax_code": "0100233488", "legal_name": "Công ty TNHH Hòa Bình", "phone": ""}
    stand_in.upstream.answer(
        "POST",
        "/api/customers",
        {
            "detail": {
                "message": "possible duplicates",
                "duplicates": [
                    {
                        "id": CID,
                        "lifecycle_stage": "inactive",
                        "matched_on": ["tax_code", "name"],
                        "name": "Hòa Bình",
                    },
                    {"id": OTHER, "lifecycle_stage": "prospect", "matched_on": ["phone"]},
                ],
            }
        },
        status=409,
    )
    answer = await seller.post("/customers/new", form)
    assert answer.status_code == 409
    sent = stand_in.upstream.last("POST", "/api/customers").body
    assert sent == {"name": "Hoa Binh", "tax_code": "0100233488", "legal_name": "Công ty TNHH Hòa Bình"}
    html = Html(answer.text)
    warning = html.by_id("duplicates").text
    assert "Hòa Bình" in warning and "same tax code" in warning and "same name" in warning
    assert "(someone else's)" in warning and "same phone" in warning
    hidden = {
        e["name"]: e["value"] for e in html.all("input", type="hidden") if e.get("name") != "csrf_token"
    }
    assert hidden["confirm_duplicate"] == "1" and hidden["tax_code"] == "0100233488"
    assert html.by_id("tax_code")["value"] == "0100233488"

    stand_in.upstream.answer("POST", "/api/customers", customer(id=OTHER), status=201)
    created = await seller.post("/customers/new", {k: v for k, v in hidden.items()})
    assert created.status_code == 303 and created.headers["location"] == f"/customers/{OTHER}"
    assert stand_in.upstream.last("POST", "/api/customers").body["confirm_duplicate"] is True


async def test_a_taken_tax_code_is_shown_on_its_field(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer(
        "POST",
        "/api/customers",
        {
            "detail": {
                "message": "taken",
                "tax_code": "0100233488",
                "customer": {"id": CID, "name": "Hòa Bình"},
            }
        },
        status=409,
    )
    answer = await seller.post("/customers/new", {"name": "X", "tax_code": "0100233488"})
    assert answer.status_code == 409
    html = Html(answer.text)
    assert html.by_id("tax_code")["aria-invalid"] == "true"
    assert (
        "Mã số thuế này thuộc về một khách hàng khác đang hoạt động: Hòa Bình"
        in html.by_id("tax_code-error").text
    )


async def test_the_new_customer_page_has_the_b2b_fields_in_both_languages(stand_in: Pages) -> None:
    for lang, label in (("vi", "Mã số thuế"), ("en", "Tax code")):
        seller = await stand_in.person(Role.SALESPERSON, lang=lang)
        answer = await seller.get("/customers/new")
        assert answer.status_code == 200
        html = Html(answer.text)
        assert label in html.all("label", **{"for": "tax_code"})[0].text
        assert html.has_id("legal_name") and html.has_id("billing_address")


# -- the customer 360 -------------------------------------------------------------------------


async def test_the_360_shows_the_b2b_record_and_contacts_with_their_actions(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    answer = await seller.get(f"/customers/{CID}")
    assert answer.status_code == 200, answer.text
    html = Html(answer.text)
    assert html.all(data_testid="customer-tax-code")[0].text == "0100233488"
    assert html.all(data_testid="customer-legal-name")[0].text == "Công ty TNHH Thiết bị Hòa Bình"
    rows = html.all("tr", data_contact_id="")
    assert [r["data-contact-id"] for r in rows] == [PRIMARY, SECOND]
    assert "Primary" in rows[0].text and "Make primary" not in rows[0].text and "Make primary" in rows[1].text
    assert not html.has_id("merge")  # a salesperson does not merge

    await seller.post(f"/customers/{CID}/contacts/{SECOND}/primary", {})
    assert stand_in.upstream.last("PATCH", f"/api/customers/{CID}/contacts/{SECOND}").body == {
        "is_primary": True
    }
    stand_in.upstream.answer("DELETE", f"/api/customers/{CID}/contacts/{SECOND}", None, status=204)
    removed = await seller.post(f"/customers/{CID}/contacts/{SECOND}/remove", {})
    assert removed.status_code == 303 and removed.headers["location"] == f"/customers/{CID}#contacts"
    stand_in.upstream.answer(
        "POST", f"/api/customers/{CID}/contacts", contact(OTHER, "An", False), status=201
    )
    added = await seller.post(
        f"/customers/{CID}/contacts",
        {
            "contact.name": "An",
            "contact.phone": "0912 000 111",
            "contact.role": "",
            "contact.is_primary": "1",
        },
    )
    assert added.status_code == 303
    sent = stand_in.upstream.last("POST", f"/api/customers/{CID}/contacts").body
    assert sent == {"name": "An", "phone": "0912 000 111", "is_primary": True}


async def test_a_refused_contact_edit_shows_the_problem_under_its_field(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    stand_in.upstream.answer(
        "PATCH",
        f"/api/customers/{CID}/contacts/{SECOND}",
        {
            "detail": [
                {
                    "loc": ["body", "phone"],
                    "msg": "Value error, not a Vietnamese phone number",
                    "type": "value_error",
                }
            ]
        },
        status=422,
    )
    prefix = f"contact-{SECOND}"
    answer = await seller.post(
        f"/customers/{CID}/contacts/{SECOND}/edit",
        {f"{prefix}.name": "Bình", f"{prefix}.phone": "123", f"{prefix}.role": "", f"{prefix}.email": ""},
    )
    assert answer.status_code == 422
    sent = stand_in.upstream.last("PATCH", f"/api/customers/{CID}/contacts/{SECOND}").body
    assert sent == {"name": "Bình", "role": None, "phone": "123", "email": None}
    assert Html(answer.text).by_id(f"{prefix}-phone")["aria-invalid"] == "true"


async def test_a_manager_merges_only_once_confirmed_and_may_paste_the_other_page(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    page_html = Html((await manager.get(f"/customers/{CID}")).text)
    assert page_html.has_id("merge")

    unconfirmed = await manager.post(f"/customers/{CID}/merge", {"merge.duplicate_id": OTHER})
    assert unconfirmed.status_code == 422
    assert stand_in.upstream.calls("POST", f"/api/customers/{CID}/merge") == []

    stand_in.upstream.answer("POST", f"/api/customers/{CID}/merge", customer())
    merged = await manager.post(
        f"/customers/{CID}/merge",
        {"merge.duplicate_id": f"http://crm.example/customers/{OTHER}/", "merge.confirm": "1"},
    )
    assert merged.status_code == 303
    assert stand_in.upstream.last("POST", f"/api/customers/{CID}/merge").body == {"duplicate_id": OTHER}


async def test_a_merged_customer_points_at_the_survivor(stand_in: Pages) -> None:
    stand_in.upstream.answer(
        "GET", f"/api/customers/{CID}", customer(lifecycle_stage="inactive", merged_into_id=OTHER)
    )
    manager = await stand_in.person(Role.SALES_MANAGER)
    html = Html((await manager.get(f"/customers/{CID}")).text)
    [notice] = html.all(data_testid="merged-into")
    assert "Khách hàng này đã được gộp vào khách hàng khác" in notice.text
    assert [a["href"] for a in html.all("a") if a.get("href") == f"/customers/{OTHER}"]
    assert not html.has_id("merge")


async def test_a_sent_quote_on_the_timeline_links_its_document_and_invoices_theirs(stand_in: Pages) -> None:
    quote_id, invoice_id = str(uuid.uuid4()), str(uuid.uuid4())
    entry = {
        "id": 1,
        "at": "2027-01-05T02:00:00Z",
        "kind": "quote_sent",
        "actor_id": None,
        "detail": {
            "quote_id": quote_id,
            "quote_number": "Q-2027-00001",
            "total": 1_100_000_000,
            "document": f"/api/quotes/{quote_id}/document.pdf",
        },
    }
    planted = {**entry, "id": 2, "detail": {"document": "https://elsewhere.example/x.pdf"}}
    stand_in.upstream.answer("GET", f"/api/customers/{CID}/timeline", [entry, planted])
    invoice = {
        "id": invoice_id,
        "number": "INV-2027-000001",
        "due_date": "2027-02-04",
        "status": "open",
        "total": 1_100_000_000,
        "balance": 1_100_000_000,
    }
    stand_in.upstream.answer("GET", "/api/invoices", page([invoice]))
    seller = await stand_in.person(Role.SALESPERSON)
    html = Html((await seller.get(f"/customers/{CID}")).text)
    [link] = html.all("a", data_testid="timeline-document")
    assert link["href"] == f"/quotes/{quote_id}/document.pdf"
    assert "elsewhere" not in " ".join(a.get("href") or "" for a in html.all("a"))
    hrefs = [a["href"] for a in html.all("a") if (a.get("href") or "").startswith(f"/invoices/{invoice_id}/")]
    assert hrefs == [
        f"/invoices/{invoice_id}/document.pdf?download=1",
        f"/invoices/{invoice_id}/document.pdf",
        f"/invoices/{invoice_id}/document.pdf?lang=en",
        f"/invoices/{invoice_id}/einvoice.xml",
    ]


async def test_a_mistyped_address_under_customers_or_leads_is_a_page_not_found(stand_in: Pages) -> None:
    """Issue 19, point 2: /customers/import (the page is /customers/imports) drew the API's
    list of imports as if it were a customer, with empty fields and raw keys."""
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    stand_in.upstream.answer("GET", "/api/customers/care-overdue", {"items": [], "total": 0})
    for path in ("/customers/import", "/customers/care-overdue", "/leads/campaigns"):
        answer = await seller.get(path)
        assert answer.status_code == 404, path
        assert translate("en", "errors.not_found") in answer.text
        assert "stage." not in answer.text
    assert not stand_in.upstream.calls("GET", "/api/customers/care-overdue")


async def test_an_address_no_page_has_is_a_page_in_the_users_language(stand_in: Pages) -> None:
    """Issue 19, point 2 (the final walk): /nowhere answered a browser with the API's
    problem document, "Not Found" in English on a Vietnamese screen. A browser now gets
    the error page in its user's language; any other client keeps the problem document."""
    seller = await stand_in.person(Role.SALESPERSON, lang="vi")
    html_page = {"accept": "text/html,application/xhtml+xml"}
    for path in ("/nowhere", "/customers/1/2/3", "/settingz"):
        answer = await seller.http.get(path, headers=html_page)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert translate("vi", "errors.not_found") in answer.text, path
        assert "Not Found" not in answer.text
    machine = await seller.http.get("/nowhere", headers={"accept": "application/json"})
    assert machine.status_code == 404
    assert machine.json()["code"] == "not_found"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(stand_in.gateway.app), base_url="http://gateway"
    ) as nobody:
        anonymous = await nobody.get("/nowhere", headers=html_page)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fnowhere"


async def test_the_360_lists_the_customers_opportunities(stand_in: Pages) -> None:
    """Issue 19, point 5: after conversion the opportunity was on no page of the customer."""
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    won = {
        "id": str(uuid.uuid4()),
        "name": "Máy nén khí 2027",
        "stage": "won",
        "expected_amount": 850_000_000,
        "expected_close_on": "2027-03-31",
        "customer_id": CID,
    }
    stand_in.upstream.answer("GET", "/api/opportunities", {"items": [won], "total": 1})
    html = Html((await seller.get(f"/customers/{CID}")).text)
    [table] = html.all(data_testid="opportunities")
    assert "Máy nén khí 2027" in table.text and translate("en", "ostage.won") in table.text
    assert stand_in.upstream.last("GET", "/api/opportunities").query["customer_id"] == CID


async def test_a_salesperson_sees_their_own_pipeline_and_its_total_says_what_it_counts(
    stand_in: Pages,
) -> None:
    """Issue 19, point 5: no pipeline view for the salesperson; the manager's total row
    read "Total" but left the won row out."""
    seller = await stand_in.person(Role.SALESPERSON, lang="en")
    stand_in.upstream.answer(
        "GET",
        "/api/opportunities/pipeline",
        {
            "stages": [
                {
                    "stage": "proposal",
                    "probability_pct": 50,
                    "count": 1,
                    "amount": 100,
                    "weighted_amount": 50,
                },
                {"stage": "won", "probability_pct": 100, "count": 1, "amount": 300, "weighted_amount": 300},
            ],
            "open_count": 1,
            "open_amount": 100,
            "weighted_total": 50,
        },
    )
    html = Html((await seller.get("/")).text)
    [section] = html.all("section", aria_labelledby="h-pipeline")
    assert translate("en", "ostage.won") in section.text
    assert translate("en", "pipeline.open_total") in section.text
