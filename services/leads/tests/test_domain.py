"""The rules of a lead, without I/O: statuses and what makes two leads the same person."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from leads import domain
from leads.domain import (
    OPEN,
    TRANSITIONS,
    IllegalTransition,
    MatchKeys,
    Status,
    conversion,
    customer_name,
    matched_on,
    transition,
)
from leads.schemas import LeadCreate, LeadUpdate

pytestmark = pytest.mark.unit

LEGAL = {
    (Status.NEW, Status.CONTACTING),
    (Status.NEW, Status.CLOSED),
    (Status.NEW, Status.MERGED),
    (Status.CONTACTING, Status.EVALUATED),
    (Status.CONTACTING, Status.CLOSED),
    (Status.CONTACTING, Status.MERGED),
    (Status.EVALUATED, Status.CONVERTED),
    (Status.EVALUATED, Status.CLOSED),
    (Status.EVALUATED, Status.MERGED),
}


@pytest.mark.parametrize(("current", "wanted"), sorted(LEGAL))
def test_legal_transitions(current: Status, wanted: Status) -> None:
    assert transition(current, wanted) == wanted


@pytest.mark.parametrize(
    ("current", "wanted"),
    sorted(set(itertools.product(Status, Status)) - LEGAL),
)
def test_every_other_transition_is_illegal_and_names_what_is_allowed(current: Status, wanted: Status) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, wanted)
    allowed = sorted(TRANSITIONS[current])
    message = str(caught.value)
    assert f"cannot move a lead from {current} to {wanted}" in message
    if allowed:
        assert message.endswith(f"allowed next: {', '.join(allowed)}")
    else:
        assert message.endswith(f"allowed next: none ({current} is final)")


def test_converted_closed_and_merged_are_final() -> None:
    for final in (Status.CONVERTED, Status.CLOSED, Status.MERGED):
        assert TRANSITIONS[final] == frozenset()
    assert frozenset({Status.NEW, Status.CONTACTING, Status.EVALUATED}) == OPEN


def test_only_a_lead_evaluated_as_promising_converts() -> None:
    assert conversion(Status.EVALUATED, True) == Status.CONVERTED
    with pytest.raises(IllegalTransition, match=r"not promising\); allowed next: closed, merged$"):
        conversion(Status.EVALUATED, False)
    for status in (Status.NEW, Status.CONTACTING, Status.CONVERTED, Status.CLOSED, Status.MERGED):
        with pytest.raises(IllegalTransition):
            conversion(status, True)


def test_statuses_from_storage_are_accepted_as_strings() -> None:
    assert transition("new", Status.CONTACTING) == Status.CONTACTING
    with pytest.raises(ValueError):
        transition("lost", Status.CONTACTING)


# -- duplicates --------------------------------------------------------------------


def keys(full_name: str = "Nguyễn Văn An", company: str | None = None, phone: str | None = None,
         email: str | None = None) -> MatchKeys:  # fmt: skip
    return MatchKeys.of(full_name=full_name, company=company, phone=phone, email=email)


def test_a_phone_matches_however_it_was_written() -> None:
    a = keys(phone="0912 345 678")
    for written in ("+84 912 345 678", "84912345678", "0912.345.678", "(0912) 345-678"):
        assert matched_on(keys(full_name="Someone else", phone=written), a) == ["phone"]
    assert matched_on(keys(phone="0912 345 679"), a) == []


def test_an_email_matches_whatever_its_case() -> None:
    a = keys(email="An.Nguyen@HoaPhat.vn")
    assert matched_on(keys(full_name="B", email=" an.nguyen@hoaphat.vn "), a) == ["email"]
    assert matched_on(keys(email="an.nguyen2@hoaphat.vn"), a) == []


def test_company_and_name_match_without_diacritics_or_case() -> None:
    a = keys(full_name="Nguyễn Văn Đức", company="Công ty Hòa Phát")
    b = keys(full_name="nguyen van  duc", company="CONG TY HOA PHAT")
    assert matched_on(b, a) == ["company_name"]
    assert matched_on(keys(full_name="Nguyễn Văn Đức", company="Công ty Hòa Bình"), a) == []
    assert matched_on(keys(full_name="Trần Văn Đức", company="Công ty Hòa Phát"), a) == []


def test_a_common_name_without_a_company_is_not_a_match() -> None:
    assert matched_on(keys(full_name="Nguyễn Văn An"), keys(full_name="Nguyen Van An")) == []
    assert not keys(full_name="Nguyễn Văn An")


def test_every_key_that_matches_is_named() -> None:
    a = keys(company="Hòa Phát", phone="0912345678", email="a@hp.vn")
    b = keys(company="hoa phat", phone="+84912345678", email="A@HP.VN")
    assert matched_on(b, a) == ["phone", "email", "company_name"]


def test_keys_restricted_to_what_changed() -> None:
    a = keys(company="Hòa Phát", phone="0912345678", email="a@hp.vn")
    only_phone = a.only({"phone"})
    assert only_phone.lookups() == ["phone:0912345678"]
    assert a.lookups() == ["phone:0912345678", "email:a@hp.vn", "company_name:hoa phat|nguyen van an"]


def test_the_customer_is_the_company_else_the_person() -> None:
    assert customer_name("Nguyễn Văn An", "Công ty Hòa Phát") == "Công ty Hòa Phát"
    assert customer_name("Nguyễn Văn An", None) == "Nguyễn Văn An"


# -- request models ----------------------------------------------------------------


def test_capture_refuses_fields_set_only_by_operations() -> None:
    for field, value in [("status", "converted"), ("customer_id", None), ("merged_into_id", None)]:
        with pytest.raises(ValidationError) as caught:
            LeadCreate.model_validate({"full_name": "A", "source": "press", field: value})
        assert caught.value.errors()[0]["loc"] == (field,)


def test_capture_normalizes_and_keeps_what_was_typed() -> None:
    lead = LeadCreate(
        full_name="  Nguyễn Thị Hồng ",
        phone="0912 345 678",
        email=" Hong.Nguyen@Example.VN ",
        source="walk_in",
        region_code="hn",
        company="",
    )
    assert lead.full_name == "Nguyễn Thị Hồng"
    assert lead.phone == "0912 345 678"
    assert lead.email == "hong.nguyen@example.vn"
    assert lead.region_code == "HN"
    assert lead.company is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "12345"),
        ("phone", "+1 212 555 0100"),
        ("email", "not-an-email"),
        ("region_code", "H-N"),
        ("source", "radio"),
        ("full_name", ""),
    ],
)
def test_capture_names_the_bad_field(field: str, value: str) -> None:
    body = {"full_name": "A", "source": "press", field: value}
    with pytest.raises(ValidationError) as caught:
        LeadCreate.model_validate(body)
    assert caught.value.errors()[0]["loc"][0] == field


def test_an_edit_cannot_clear_the_name_but_can_clear_the_rest() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadUpdate.model_validate({"full_name": None})
    assert caught.value.errors()[0]["loc"] == ("full_name",)
    update = LeadUpdate.model_validate({"company": None, "phone": ""})
    assert update.model_fields_set == {"company", "phone"}
    assert update.phone is None


@pytest.mark.parametrize(
    ("current", "promising", "offered"),
    [
        (Status.NEW, None, [Status.CONTACTING, Status.CLOSED]),
        (Status.CONTACTING, None, [Status.EVALUATED, Status.CLOSED]),
        (Status.EVALUATED, True, [Status.CONVERTED, Status.CLOSED]),
        (Status.EVALUATED, False, [Status.CLOSED]),
        (Status.CONVERTED, True, []),
        (Status.CLOSED, None, []),
        (Status.MERGED, None, []),
    ],
)
def test_a_board_offers_only_the_moves_a_lead_may_make(
    current: Status, promising: bool | None, offered: list[Status]
) -> None:
    assert domain.next_statuses(current, promising) == offered
    for wanted in offered:  # each one the operations allow
        assert domain.transition(current, wanted) == wanted
