"""How the UI writes money, dates and the API's refusals (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from gateway.ui import i18n
from gateway.ui.core import ApiResult, Problems, _retry_after, problems_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("lang", "amount", "shown"),
    [
        ("vi", 1_234_567, "1.234.567 ₫"),
        ("en", 1_234_567, "₫1,234,567"),
        ("vi", 0, "0 ₫"),
        ("en", -25_080_000, "-₫25,080,000"),
        ("vi", None, "—"),
    ],
)
def test_money_reads_the_way_each_language_writes_it(lang: str, amount: int | None, shown: str) -> None:
    assert i18n.money(lang, amount) == shown


def test_dates_are_day_first_in_vietnamese_and_spelled_in_english() -> None:
    assert i18n.format_date("vi", date(2026, 11, 26)) == "26/11/2026"
    assert i18n.format_date("en", "2026-11-26") == "26 Nov 2026"


def test_a_moment_is_shown_in_vietnams_zone() -> None:
    late_evening_utc = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 03:30 the next day in Hanoi
    assert i18n.format_datetime("vi", late_evening_utc) == "27/11/2026 03:30"
    assert i18n.format_datetime("en", "2026-11-26T20:30:00Z") == "27 Nov 2026, 03:30"
    assert i18n.format_date("vi", late_evening_utc) == "27/11/2026"


def test_percentages_use_the_languages_decimal_mark() -> None:
    assert i18n.percent("vi", 0.125) == "12,5%"
    assert i18n.percent("en", 0.125) == "12.5%"
    assert i18n.number("vi", 1234.5, 1) == "1.234,5"


def test_every_message_has_both_languages_and_an_unknown_key_shows_itself() -> None:
    assert all(vi and en for vi, en in i18n.MESSAGES.values())
    assert i18n.translate("en", "no.such.key") == "no.such.key"
    assert i18n.translate("xx", "login.title") == "Đăng nhập"  # unknown language: the default


class _Ui:
    lang = "en"

    def t(self, key: str, **params: object) -> str:
        return i18n.translate(self.lang, key, **params)


def test_a_422_lands_on_its_fields_by_loc() -> None:
    answer = ApiResult(
        422,
        {
            "code": "validation_failed",
            "detail": [
                {
                    "loc": ["body", "email"],
                    "msg": "value is not a valid email address",
                    "type": "value_error",
                },
                {"loc": ["body", "approach_plan", "note"], "msg": "too long", "type": "string_too_long"},
                {
                    "loc": ["body", "lines", 0, "quantity"],
                    "msg": "x",
                    "type": "greater_than",
                    "ctx": {"gt": 0},
                },
                {"loc": ["body"], "msg": "Value error, nothing to change", "type": "value_error"},
            ],
        },
    )
    found = problems_of(_Ui(), answer)  # type: ignore[arg-type]
    assert found.fields == {
        "email": "Not a valid e-mail address.",
        "approach_plan.note": "Too long.",
        "lines.0.quantity": "Must be greater than 0.",
    }
    # A validator's English sentence is never shown: a value error without a code of
    # its own reads as the generic sentence.
    assert found.general == [i18n.translate("en", "err.value_error")]


class _Vi(_Ui):
    lang = "vi"


def test_a_refusal_is_said_by_its_code_with_its_params_in_the_users_words() -> None:
    answer = ApiResult(
        403,
        {"code": "role_needed", "params": {"roles": ["sales_manager", "admin"]}, "detail": "needs role ..."},
    )
    assert problems_of(_Vi(), answer).general == [
        "Thao tác này cần vai trò quản lý kinh doanh, quản trị viên."
    ]  # type: ignore[arg-type]
    assert problems_of(_Ui(), answer).general == ["This needs the role sales manager, administrator."]  # type: ignore[arg-type]
    # A kind of record, said in the language; the 404's key (an id) is left out.
    missing = ApiResult(404, {"code": "not_found", "params": {"kind": "dead letter", "key": "7"}})
    assert problems_of(_Vi(), missing).general == ["Không tìm thấy thông điệp."]  # type: ignore[arg-type]
    # A code at a field, with its params.
    at_field = ApiResult(
        422,
        {
            "code": "invalid",
            "detail": [{"loc": ["query", "cursor"], "msg": "x", "type": "cursor.invalid", "ctx": {}}],
        },
    )
    assert problems_of(_Vi(), at_field).fields == {"cursor": i18n.translate("vi", "problem.cursor.invalid")}  # type: ignore[arg-type]


def test_an_unknown_code_falls_back_to_its_status_never_to_the_english_text() -> None:
    refused = ApiResult(409, {"code": "something.new", "detail": "the thing is frozen"})
    assert problems_of(_Vi(), refused).general == [i18n.translate("vi", "errors.conflict")]  # type: ignore[arg-type]
    plain = ApiResult(422, {"detail": "a sentence from an older service"})
    assert problems_of(_Vi(), plain).general == [i18n.translate("vi", "errors.refused")]  # type: ignore[arg-type]
    assert "frozen" not in problems_of(_Ui(), refused).general[0]  # type: ignore[arg-type]


def test_a_409_and_an_unavailable_service_are_general_problems() -> None:
    down = problems_of(_Ui(), ApiResult(502, {"code": "service_unavailable", "params": {"service": "sales"}}))  # type: ignore[arg-type]
    assert down.general == [i18n.translate("en", "problem.service_unavailable", service="sales")]
    old = problems_of(_Ui(), ApiResult(502, {"detail": "sales is unavailable"}))  # type: ignore[arg-type]
    assert old.general == [i18n.translate("en", "errors.unavailable")]
    assert not Problems()


def test_a_not_yet_answer_says_to_try_again() -> None:
    detail = "customer 1 is not known to sales yet: it may still be on its way"
    found = problems_of(_Ui(), ApiResult(503, {"code": "not_yet", "detail": detail}))  # type: ignore[arg-type]
    assert found.general == [i18n.translate("en", "problem.not_yet")]
    assert "try again" in found.general[0]


def test_a_page_waits_out_a_short_retry_after_once() -> None:
    assert _retry_after(httpx.Response(503, headers={"Retry-After": "2"})) == 2
    assert _retry_after(httpx.Response(503, headers={"Retry-After": "60"})) is None
    assert _retry_after(httpx.Response(503)) is None
    assert _retry_after(httpx.Response(422, headers={"Retry-After": "1"})) is None
