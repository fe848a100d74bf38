"""The data `bench/scale.py` loads: Vietnamese names, ids every database agrees on, and one
set-based `INSERT ... SELECT FROM generate_series` per table.

Every id is derived from a counter (`md5('<kind>-' || n)::uuid`), so the six databases
hold one consistent world without a cross-database join: customer `n` has the same id in
customers, sales, accounting and marketing, is owned by salesperson `n % people`, sits in
province `n % 34`, has one order of two lines, one invoice (paid, part paid or open),
revenue facts for each line and one care activity.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from crm_kit.text import fold


def uid(kind: str, n: int) -> uuid.UUID:
    """The id Postgres computes as `md5('<kind>-' || n)::uuid`."""
    return uuid.UUID(hashlib.md5(f"{kind}-{n}".encode()).hexdigest())


def sql_uid(kind: str, n: str) -> str:
    return f"md5('{kind}-' || ({n}))::uuid"


FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quốc", "Ngọc", "Xuân", "Công", "Gia"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Phương",
    "Quân",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
]
COMPANY = ["Công ty TNHH", "Công ty Cổ phần", "Doanh nghiệp tư nhân", "Cửa hàng", "Đại lý", "Hợp tác xã"]
TRADE = [
    "Thiết bị Điện",
    "Cơ khí",
    "Vật tư Nông nghiệp",
    "Máy xây dựng",
    "Điện lạnh",
    "Thiết bị Y tế",
    "Máy công trình",
    "Thiết bị Công nghiệp",
    "Điện máy",
    "Vật liệu Xây dựng",
    "Thủy lợi",
    "Máy nông nghiệp",
    "Bơm và Van",
]
BRAND = [
    "Hòa Phát",
    "An Khang",
    "Minh Đức",
    "Phú Thịnh",
    "Thành Công",
    "Việt Tiến",
    "Đại Dương",
    "Hưng Thịnh",
    "Tân Phát",
    "Bảo Long",
    "Sông Hồng",
    "Trường Sơn",
    "Phương Nam",
    "Ánh Dương",
    "Kim Ngân",
    "Đông Á",
    "Hoàng Gia",
    "Nhật Quang",
    "Thái Bình",
    "Cửu Long",
    "Lạc Hồng",
    "Sài Gòn",
    "Tây Nguyên",
]
GROUPS = ["may_bom", "may_phat_dien", "dong_co", "van_cong_nghiep", "thiet_bi_dien"]
PRODUCTS = [
    (f"SP{g:02d}{k}", f"{name} {k}", GROUPS[g % len(GROUPS)], price)
    for g, (name, price) in enumerate(
        [
            ("Máy bơm ly tâm", 12_500_000),
            ("Máy phát điện", 85_000_000),
            ("Động cơ điện", 9_800_000),
            ("Van bướm", 3_200_000),
            ("Tủ điện", 24_000_000),
        ]
    )
    for k in range(1, 5)
]


@dataclass(frozen=True)
class Size:
    customers: int = 1_000_000
    leads: int = 300_000
    people: int = 200
    #: Order lines per order; one order (and one invoice) per customer.
    lines: int = 2
    channels: int = 20
    year: int = 2026


def words(values: list[str]) -> tuple[list[str], list[str]]:
    return values, [fold(v) for v in values]


def pick(array: str, n: str, modulus: int, stride: int = 1) -> str:
    """Element `(n * stride) % modulus` of the text[] parameter `array` (1-based in SQL)."""
    return f"({array})[1 + (({n}) * {stride}) % {modulus}]"


def name_params() -> list[list[str]]:
    """$1..$12 (`p.a1`..`p.a12` in `NAMES`): company, trade, brand, family, middle, given;
    each then its folded form."""
    out: list[list[str]] = []
    for values in (COMPANY, TRADE, BRAND, FAMILY, MIDDLE, GIVEN):
        out.extend(words(values))
    return out


def person_sql(n: str, folded: bool) -> str:
    f, m, g = ("p.a8", "p.a10", "p.a12") if folded else ("p.a7", "p.a9", "p.a11")
    return (
        f"{pick(f, n, len(FAMILY), 3)} || ' ' || {pick(m, n, len(MIDDLE), 5)} || ' ' || "
        f"{pick(g, n, len(GIVEN), 13)}"
    )


def company_sql(n: str, folded: bool) -> str:
    c, t, b, g = ("p.a2", "p.a4", "p.a6", "p.a12") if folded else ("p.a1", "p.a3", "p.a5", "p.a11")
    return (
        f"{pick(c, n, len(COMPANY), 1)} || ' ' || {pick(t, n, len(TRADE), 7)} || ' ' || "
        f"{pick(b, n, len(BRAND), 11)} || ' ' || {pick(g, f'({n}) / 7', len(GIVEN), 1)}"
    )


#: The CTE that names the twelve word lists of `name_params`.
NAMES = "WITH p AS (SELECT " + ", ".join(f"${i}::text[] AS a{i}" for i in range(1, 13)) + ") "
