import pytest

from crm_kit.text import (
    fold,
    mst_check_digit,
    normalize_email,
    normalize_vn_phone,
    normalize_vn_tax_code,
    parse_vn_tax_code,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "+84 912 345 678",
        "+84912345678",
        "84912345678",
        " 091-234-5678 ",
    ],
)
def test_every_way_of_writing_a_mobile_number_is_the_same_number(raw):
    assert normalize_vn_phone(raw) == "0912345678"


def test_a_landline_with_area_code_keeps_its_eleven_digits():
    assert normalize_vn_phone("(024) 3825 1234") == "02438251234"


@pytest.mark.parametrize("raw", [None, "", "abc", "12345", "0912 345 67x", "+1 202 555 0100"])
def test_what_is_not_a_vietnamese_number_is_none(raw):
    assert normalize_vn_phone(raw) is None


def test_fold_removes_vietnamese_diacritics_including_d_stroke():
    assert fold("  Công ty  TNHH Đức Hòa Phát ") == "cong ty tnhh duc hoa phat"


def test_emails_compare_case_insensitively():
    assert normalize_email(" Lan.Nguyen@Example.VN ") == "lan.nguyen@example.vn"
    assert normalize_email("  ") is None


# -- tax codes (MST) ---------------------------------------------------------------------


def test_the_check_digit_is_ten_less_the_weighted_sum_mod_11():
    # 0*31 + 1*29 + 0*23 + 0*19 + 0*17 + 4*13 + 7*7 + 5*5 + 1*3 = 158; 158 mod 11 = 4; 10 - 4 = 6.
    assert mst_check_digit("010004751") == 6
    # A weighted sum of 0 mod 11 would need a check digit of 10: no code has one.
    assert mst_check_digit("000000000") is None


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("0100233488", "0100233488"),
        (" 0100 233 488 ", "0100233488"),
        ("01.00.233.488", "0100233488"),
        ("0314409058-002", "0314409058-002"),
        ("0314409058002", "0314409058-002"),
        ("0100047516", "0100047516"),
    ],
)
def test_a_tax_code_is_read_in_one_form(raw, canonical):
    assert parse_vn_tax_code(raw) == canonical
    assert normalize_vn_tax_code(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("0100233487", "check digit"),
        ("0314409059-002", "check digit"),
        ("010023348", "10 digits"),
        ("01002334881", "10 digits"),
        ("0100233488-02", "10 digits"),
        ("0100233488/002", "10 digits"),
        ("abcdefghij", "10 digits"),
        ("٠١٠٠٢٣٣٤٨٨", "10 digits"),  # Arabic-Indic digits are not a tax code's
        ("0314409058-000", "cannot be issued"),
        ("0000000019", "cannot be issued"),
        ("0100000009", "cannot be issued"),
    ],
)
def test_what_is_not_a_tax_code_says_why(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_vn_tax_code(raw)
    assert normalize_vn_tax_code(raw) is None
