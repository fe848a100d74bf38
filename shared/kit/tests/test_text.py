import pytest

from crm_kit.text import fold, normalize_email, normalize_vn_phone

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
