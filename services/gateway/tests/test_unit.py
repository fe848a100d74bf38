"""Gateway rules without I/O: usernames, passwords, the route table, key settings."""

from __future__ import annotations

import asyncio
import re
import string
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from crm_kit.auth import generate_keypair
from crm_kit.keys import parse_public_keys
from gateway import domain, passwords, portfolio
from gateway.schemas import OffboardRequest, UserCreate, UserUpdate
from gateway.settings import GatewaySettings
from gateway.ui import customers, home, i18n, leads, regions

pytestmark = pytest.mark.unit


# -- passwords -------------------------------------------------------------------


async def test_a_flood_of_logins_hashes_two_passwords_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: each failed login ran an argon2id hash (64 MiB) in a worker thread, as
    many at once as the thread pool had threads; now at most MAX_CONCURRENT_HASHES."""
    running, most = 0, 0
    lock = threading.Lock()

    def slow_verify(password_hash: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(passwords, "_verify", slow_verify)
    answers = await asyncio.gather(*(passwords.verify_password("hash", f"guess-{n}") for n in range(12)))
    assert answers == [False] * 12
    assert most == passwords.MAX_CONCURRENT_HASHES == 2


@pytest.mark.parametrize("password", ["", "short", "7chars!"])
def test_password_shorter_than_8_is_refused(password: str) -> None:
    with pytest.raises(ValueError, match="at least 8"):
        domain.check_password(password)


@pytest.mark.parametrize("password", ["8chars!!", "a much longer pass phrase", "x" * 256])
def test_password_of_8_to_256_characters_is_accepted(password: str) -> None:
    assert domain.check_password(password) == password


def test_password_over_the_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 256"):
        domain.check_password("x" * 257)


# -- usernames -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("Bob", "bob"), ("  Anna.Nguyen ", "anna.nguyen"), ("sales_01-x", "sales_01-x"), ("a" * 50, "a" * 50)],
)
def test_username_is_stored_lower_case_and_trimmed(raw: str, stored: str) -> None:
    assert domain.normalise_username(raw) == stored


@pytest.mark.parametrize("raw", ["ab", "a" * 51, "anna nguyen", "nguyễn", "bob@example.com", "", "   "])
def test_username_outside_the_rules_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="3-50 characters"):
        domain.normalise_username(raw)


def test_user_create_names_the_bad_field_and_forbids_extra_fields() -> None:
    good = {"username": "Bob", "password": "long enough", "full_name": " Bob ", "role": "salesperson"}
    assert UserCreate.model_validate(good).username == "bob"
    assert UserCreate.model_validate(good).full_name == "Bob"
    for field, value in [
        ("username", "b"),
        ("password", "short"),
        ("role", "superuser"),
        ("full_name", "  "),
        ("active", False),
    ]:
        with pytest.raises(ValidationError) as caught:
            UserCreate.model_validate({**good, field: value})
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_user_update_takes_only_name_and_role_and_never_null() -> None:
    assert UserUpdate.model_validate({}).model_dump() == {"full_name": None, "role": None}
    assert UserUpdate.model_validate({"full_name": " Lan "}).full_name == "Lan"
    assert UserUpdate.model_validate({"role": "accountant"}).role == "accountant"
    for field, value in [
        ("full_name", None),
        ("full_name", "   "),
        ("role", None),
        ("role", "owner"),
        ("active", True),
        ("username", "x.y"),
        ("password", "long enough"),
    ]:
        with pytest.raises(ValidationError) as caught:
            UserUpdate.model_validate({field: value})
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_offboard_request_needs_one_user_id_and_nothing_else() -> None:
    target = "6a1d7a5e-30f4-4a55-9a0a-2d3c8f0e9b11"
    assert str(OffboardRequest.model_validate({"reassign_to": target}).reassign_to) == target
    for body in ({}, {"reassign_to": "bob"}, {"reassign_to": target, "notify": True}):
        with pytest.raises(ValidationError):
            OffboardRequest.model_validate(body)


# -- portfolio ---------------------------------------------------------------------


def test_portfolio_summary_sums_answers_and_is_incomplete_only_when_a_service_is_unavailable() -> None:
    user = uuid.uuid4()
    answers = [
        portfolio.Answer("leads", {"leads": 3, "open_leads": 1}),
        portfolio.Answer("customers", {"customers": 2}),
        portfolio.Answer("sales", not_tracked=True),
        portfolio.Answer("accounting", {}),
        portfolio.Answer("marketing", not_tracked=True),
    ]
    summary = portfolio.summarise(user, answers)
    assert summary.total == 6
    assert summary.complete is True
    assert summary.unavailable == []
    assert summary.not_tracked == ["sales", "marketing"]
    assert set(summary.services) == {"leads", "customers", "accounting"}

    down = portfolio.summarise(user, [*answers[:4], portfolio.Answer("marketing")])
    assert down.complete is False
    assert down.unavailable == ["marketing"]
    assert down.total == 6


# -- route table -------------------------------------------------------------------


@pytest.mark.parametrize(("segment", "service"), sorted(domain.ROUTES.items()))
def test_every_routed_segment_resolves_to_its_service(segment: str, service: str) -> None:
    assert domain.owning_service(f"/api/{segment}") == service
    assert domain.owning_service(f"/api/{segment}/123/sub?x=1") == service
    assert service in domain.SERVICES


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/questionnaires/7", "customers"),
        ("/api/quotes/1/submit", "sales"),
        ("/api/credit-notes", "accounting"),
        ("/api/market-share", "marketing"),
        ("/api/leads/", "leads"),
        ("/api/admin/accounting/events/replay", "accounting"),
        ("/api/admin/marketing/dead-letters", "marketing"),
    ],
)
def test_paths_resolve_by_first_segment(path: str, service: str) -> None:
    assert domain.owning_service(path) == service


@pytest.mark.parametrize(
    "path",
    [
        "/api/unknown",
        "/api/users",  # served by the gateway itself, never forwarded
        "/api/auth/token",
        "/api/",
        "/api",
        "/leads",
        "/apileads",
        "/api/Leads",
        "/api/leads/../users",
        "/api/leads/./x",
        "/api/leads/a/..",
        "/api/admin",
        "/api/admin/gateway/events/replay",  # the gateway's own
        "/api/admin/nobody/events/replay",
        "/api/admin/sales/../../users",
    ],
)
def test_paths_without_an_owner_resolve_to_none(path: str) -> None:
    assert domain.owning_service(path) is None


# -- settings ----------------------------------------------------------------------


def test_settings_derive_the_public_key_from_the_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = generate_keypair()
    monkeypatch.setenv("JWT_PRIVATE_KEY", private)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    settings = GatewaySettings()
    assert settings.jwt_public_key.split() == public.split()
    assert settings.service_name == "gateway"
    assert settings.token_ttl_s == 8 * 3600


def test_settings_refuse_a_public_key_of_another_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_PRIVATE_KEY", generate_keypair()[0])
    monkeypatch.setenv("JWT_PUBLIC_KEY", generate_keypair()[1])
    with pytest.raises(ValidationError, match="does not belong"):
        GatewaySettings()


def test_settings_read_the_private_key_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    private, _ = generate_keypair()
    key_file = tmp_path / "jwt.pem"
    key_file.write_text(private)
    monkeypatch.delenv("JWT_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("CUSTOMERS_URL", "http://customers:8002/")
    settings = GatewaySettings()
    assert settings.jwt_private_key == private
    assert settings.service_url("customers") == "http://customers:8002"


# -- translations ------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_a_text_in_both_languages_with_the_same_placeholders() -> None:
    vi, en = i18n.CATALOGUES["vi"], i18n.CATALOGUES["en"]
    assert vi.keys() == en.keys()
    assert all(vi.values()) and all(en.values())
    assert [key for key in vi if _placeholders(vi[key]) != _placeholders(en[key])] == []


UI_SOURCES = Path(i18n.__file__).resolve().parents[1]
#: `t("key")` / `t('key', ...)` in a template or a page module, and `flash="key"`.
_LITERAL_KEY = re.compile(
    r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)*)["']\s*[,)]|flash=["']([a-z0-9_.]+)["']"""
)
#: Words a template may show as they are: each language's name in itself.
_AS_WRITTEN = {"Tiếng Việt", "English"}


def _template_text(source: str) -> list[str]:
    """What a template shows outside `{{ }}`, `{% %}` and comments: the words a page
    prints whatever the user's language."""
    # A `{% set x %}...{% endset %}` block is a value, not shown.
    source = re.sub(r"\{%-?\s*set\s+\w+\s*-?%\}.*?\{%-?\s*endset\s*-?%\}", "", source, flags=re.S)
    source = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", "", source, flags=re.S)
    source = re.sub(r"<(script|style)\b.*?</\1>", "", source, flags=re.S)
    shown = [m.group(1).strip() for m in re.finditer(r">([^<>]+)<", source)]
    shown += re.findall(r'(?:placeholder|title|aria-label|alt)="([^"]*)"', source)
    return [text for text in shown if re.search(r"[^\W\d_]{2,}", text) and text not in _AS_WRITTEN]


def test_every_key_a_page_names_is_in_both_catalogues() -> None:
    files = [*UI_SOURCES.rglob("*.html"), *(UI_SOURCES / "ui").glob("*.py")]
    matches = [match for f in files for match in _LITERAL_KEY.finditer(f.read_text())]
    named = {key for match in matches for key in match.groups() if key}
    assert len(named) > 500  # the pattern still finds the pages' words
    assert sorted(named - i18n.CATALOGUES["vi"].keys()) == []
    assert sorted(named - i18n.CATALOGUES["en"].keys()) == []


def test_every_template_compiles() -> None:
    from gateway.ui.core import env

    names = env.list_templates(extensions=["html"])
    assert len(names) > 40
    for name in names:
        env.get_template(name)  # a syntax error raises here, not on a user's page


def test_no_template_shows_words_outside_the_catalogues() -> None:
    found = {
        str(f.relative_to(UI_SOURCES)): text
        for f in (UI_SOURCES / "templates").rglob("*.html")
        if (text := _template_text(f.read_text()))
    }
    assert found == {}


def test_a_moment_is_shown_in_the_zone_it_is_given() -> None:
    moment = "2026-11-26T20:30:00Z"
    assert i18n.format_datetime("en", moment, ZoneInfo("Asia/Ho_Chi_Minh")) == "27 Nov 2026, 03:30"
    assert i18n.format_datetime("en", moment, ZoneInfo("Europe/Paris")) == "26 Nov 2026, 21:30"
    assert i18n.format_date("vi", moment, ZoneInfo("Europe/Paris")) == "26/11/2026"


# -- notifications ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("vi", "Đến hạn chăm sóc khách hàng Công ty Hòa Phát: Thăm, hạn 05/03/2027"),
        ("en", "Care due for Công ty Hòa Phát: Visit, due 5 Mar 2027"),
    ],
)
def test_a_care_reminder_reads_in_the_users_language(lang: str, text: str) -> None:
    ui = SimpleNamespace(lang=lang, t=lambda key, **params: i18n.translate(lang, key, **params))
    item = {
        "kind": "care_due",
        "params": {"customer": "Công ty Hòa Phát", "activity_kind": "visit", "due_on": "2027-03-05"},
    }
    assert home.notification_text(ui, item) == text  # type: ignore[arg-type]


# -- provinces on pages ------------------------------------------------------------


class _RegionsApi:
    """Marketing's `GET /api/regions?grouping=macro_region` as the UI's client gets it."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    async def items(self, path: str, **params: object) -> list[dict[str, object]]:
        assert (path, params) == ("/api/regions", {"grouping": "macro_region"})
        self.calls += 1
        if self.down:
            return []  # what the client makes of a 502 or a 504
        hanoi = {"code": "01", "name": "Hà Nội", "name_ascii": "ha noi"}
        hcmc = {"code": "79", "name": "Hồ Chí Minh", "name_ascii": "ho chi minh"}
        return [
            {"code": "north", "name": "Miền Bắc", "name_en": "North", "regions": [hanoi]},
            {"code": "south", "name": "Miền Nam", "name_en": "South", "regions": [hcmc]},
        ]


@pytest.fixture
def regions_api() -> Iterator[_RegionsApi]:
    regions.forget()
    yield _RegionsApi()
    regions.forget()


async def test_province_names_are_in_the_pages_language_and_fetched_once_a_while(
    regions_api: _RegionsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    vi = SimpleNamespace(lang="vi", api=regions_api)
    en = SimpleNamespace(lang="en", api=regions_api)
    assert await regions.names(vi) == {"01": "Hà Nội", "79": "Hồ Chí Minh"}  # type: ignore[arg-type]
    assert await regions.names(en) == {"01": "Ha Noi", "79": "Ho Chi Minh"}  # type: ignore[arg-type]
    assert [g["name"] for g in await regions.groups(en)] == ["North", "South"]  # type: ignore[arg-type]
    assert regions_api.calls == 1

    # Once stale, asked for again; marketing down, the last list still serves.
    later = time.monotonic() + regions.TTL_S + 1
    monkeypatch.setattr(regions, "clock", lambda: later)
    regions_api.down = True
    assert await regions.names(vi) == {"01": "Hà Nội", "79": "Hồ Chí Minh"}  # type: ignore[arg-type]
    assert regions_api.calls == 2


async def test_without_any_list_of_provinces_pages_show_the_codes(regions_api: _RegionsApi) -> None:
    regions_api.down = True
    ui = SimpleNamespace(lang="vi", api=regions_api)
    assert await regions.names(ui) == {}  # type: ignore[arg-type]
    # A failure is not remembered: the next page asks again.
    assert await regions.names(ui) == {}  # type: ignore[arg-type]
    assert regions_api.calls == 2


def test_settings_take_a_key_set_holding_the_signing_keys_public_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a key rotates, the gateway verifies with a set: the next key and the previous one."""
    private, public = generate_keypair()
    _, previous = generate_keypair()
    monkeypatch.setenv("JWT_PRIVATE_KEY", private)
    monkeypatch.setenv("JWT_PUBLIC_KEY", previous + public)
    settings = GatewaySettings()
    assert set(settings.key_set().by_kid) == set(parse_public_keys(previous + public))


# -- the customer's timeline ------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "kind", "detail", "text"),
    [
        (
            "vi",
            "stage_changed",
            {"from": "prospect", "to": "traditional"},
            "Giai đoạn: Tiềm năng → Truyền thống",
        ),
        ("en", "stage_changed", {"from": "prospect", "to": "traditional"}, "Stage: Prospect → Traditional"),
        (
            "vi",
            "owner_changed",
            {
                "from": "11111111-1111-1111-1111-111111111111",
                "to": "22222222-2222-2222-2222-222222222222",
                "via": "portfolio_reassigned",
            },
            "Phụ trách: Lan → Minh; Qua: bàn giao khi nhân viên nghỉ việc",
        ),
        (
            "en",
            "activity_planned",
            {"activity_id": "33333333-3333-3333-3333-333333333333", "kind": "visit", "due_on": "2026-12-04"},
            "Kind: Visit; Due: 4 Dec 2026",
        ),
        (
            "vi",
            "order_placed",
            {"order_number": "SO-2026-000001", "total": 22_000_000},
            "Đơn hàng: SO-2026-000001; Tổng: 22.000.000 ₫",
        ),
    ],
)
def test_a_timeline_entry_reads_as_a_sentence_in_the_users_language(
    lang: str, kind: str, detail: dict[str, object], text: str
) -> None:
    """Issue 19, point 4: entries read "to: traditional; from: prospect", "kind: visit;
    due on: 2026-12-04", "via: portfolio_reassigned"."""
    ui = SimpleNamespace(lang=lang, t=lambda key, **params: i18n.translate(lang, key, **params))
    names = {"11111111-1111-1111-1111-111111111111": "Lan", "22222222-2222-2222-2222-222222222222": "Minh"}
    assert customers.describe(ui, detail, {}, kind, names) == text  # type: ignore[arg-type]


def test_a_leads_hand_over_names_both_owners() -> None:
    """Issue 19, point 4: a reassigned lead's history had an empty owner column."""
    ui = SimpleNamespace(lang="en", t=lambda key, **params: i18n.translate("en", key, **params))
    changes = {"owner_id": ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]}
    names = {"11111111-1111-1111-1111-111111111111": "Lan", "22222222-2222-2222-2222-222222222222": "Minh"}
    assert leads.describe_changes(ui, changes, {}, names) == "Owner: Lan → Minh"  # type: ignore[arg-type]
