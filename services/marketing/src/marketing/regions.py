"""Vietnam's provinces since 1 July 2025, their groupings, and the 63 they replaced.

The data lives in `marketing/data/*.csv` (see the README there for the sources). A
migration loads it into the `regions`, `region_groups` and `former_provinces` tables
that queries join; this module reads the same files to resolve what people type
(a code or a name, old or new, with or without diacritics) to one of the 34.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from crm_kit.text import fold

Kind = Literal["city", "province"]
Grouping = Literal["macro_region", "socio_economic_region"]
GROUPINGS: tuple[Grouping, ...] = ("macro_region", "socio_economic_region")

#: How a query matched: the new code, a former code, a name of either, or a common alias.
MatchKind = Literal["code", "former_code", "name", "former_name", "alias"]


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    official_name: str
    name_ascii: str
    kind: Kind
    macro_region: str
    socio_economic_region: str

    def group(self, grouping: Grouping) -> str:
        return self.macro_region if grouping == "macro_region" else self.socio_economic_region


@dataclass(frozen=True)
class RegionGroup:
    grouping: Grouping
    code: str
    name: str
    name_ascii: str
    name_en: str


@dataclass(frozen=True)
class FormerProvince:
    """One of the 63 provincial units before 1 July 2025, and the unit it is part of now."""

    code: str
    name: str
    name_ascii: str
    kind: Kind
    region_code: str


@dataclass(frozen=True)
class Resolved:
    region: Region
    matched: MatchKind
    former: FormerProvince | None = None


def _rows(filename: str) -> Iterator[dict[str, str]]:
    text = resources.files("marketing.data").joinpath(filename).read_text(encoding="utf-8")
    yield from csv.DictReader(text.splitlines())


_PREFIX = re.compile(r"^(thanh pho|tp\.?|tinh)\s*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def search_key(text: str) -> str:
    """What a typed province name is compared by: no diacritics, case, spacing, punctuation,
    nor a leading "Tỉnh"/"Thành phố"/"TP." (`TP. Hồ Chí Minh` == `ho chi minh`)."""
    return _NOT_ALNUM.sub("", _PREFIX.sub("", fold(text)))


def normalize_code(text: str) -> str:
    """`1` -> `01`: spreadsheets drop the leading zero of numeric codes."""
    text = text.strip()
    return text.zfill(2) if text.isdigit() and len(text) < 2 else text


class RegionIndex:
    """The 34, their groups, and every way to find one of them."""

    def __init__(
        self,
        regions: Iterable[Region],
        groups: Iterable[RegionGroup],
        former: Iterable[FormerProvince],
        aliases: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.regions: dict[str, Region] = {r.code: r for r in regions}
        self.groups: dict[str, RegionGroup] = {g.code: g for g in groups}
        self.former: dict[str, FormerProvince] = {f.code: f for f in former}
        self._names: dict[str, Resolved] = {}
        for f in self.former.values():
            self._names[search_key(f.name)] = Resolved(self.regions[f.region_code], "former_name", f)
        for alias, code in aliases:
            self._names[search_key(alias)] = Resolved(self.regions[code], "alias")
        # The new names win over a former province of the same name (they agree anyway).
        for r in self.regions.values():
            self._names[search_key(r.name)] = Resolved(r, "name")

    def __len__(self) -> int:
        return len(self.regions)

    def get(self, code: str) -> Region | None:
        return self.regions.get(code)

    def resolve(self, text: str) -> Resolved | None:
        """A code or a name, new or former, to the province it is (part of) now."""
        if not text or not text.strip():
            return None
        code = normalize_code(text)
        if code in self.regions:
            return Resolved(self.regions[code], "code")
        if code in self.former:
            former = self.former[code]
            return Resolved(self.regions[former.region_code], "former_code", former)
        return self._names.get(search_key(text))

    def current_code(self, code: str | None) -> str | None:
        """The new code for a stored code that may be a former one; None if unknown."""
        if code is None:
            return None
        code = normalize_code(code)
        if code in self.regions:
            return code
        former = self.former.get(code)
        return former.region_code if former else None

    def codes_meaning(self, codes: Iterable[str]) -> set[str]:
        """Every stored code (new, or former) that means one of the new `codes`.

        Records kept from other services' events may still carry a former code, so a
        filter on new codes must match those too.
        """
        wanted = set(codes)
        return wanted | {f.code for f in self.former.values() if f.region_code in wanted}

    def in_groups(self, group_codes: Iterable[str]) -> set[str]:
        """The new codes of the provinces in any of these groups (of either grouping)."""
        wanted = set(group_codes)
        return {
            r.code
            for r in self.regions.values()
            if r.macro_region in wanted or r.socio_economic_region in wanted
        }

    def unknown_codes(self, codes: Iterable[str]) -> list[str]:
        return [c for c in codes if c not in self.regions]

    def describe_unknown(self, codes: Iterable[str]) -> str:
        """An error message naming unknown codes, with the new code where one is a former code."""
        parts = []
        for code in codes:
            former = self.former.get(code)
            if former is not None:
                parts.append(f"{code} (former {former.name}; now {former.region_code})")
            else:
                parts.append(code)
        return ", ".join(parts)


@cache
def index() -> RegionIndex:
    """The index of the data shipped in the package (what the migrations load)."""
    return RegionIndex(load_regions(), load_groups(), load_former(), load_aliases())


def load_regions() -> list[Region]:
    return [
        Region(
            code=row["code"],
            name=row["name"],
            official_name=row["official_name"],
            name_ascii=row["name_ascii"],
            kind=_kind(row["kind"]),
            macro_region=row["macro_region"],
            socio_economic_region=row["socio_economic_region"],
        )
        for row in _rows("provinces.csv")
    ]


def load_groups() -> list[RegionGroup]:
    groups = []
    for row in _rows("region_groups.csv"):
        grouping = row["grouping"]
        if grouping not in GROUPINGS:
            raise ValueError(f"region_groups.csv: unknown grouping {grouping!r}")
        groups.append(
            RegionGroup(
                grouping="macro_region" if grouping == "macro_region" else "socio_economic_region",
                code=row["code"],
                name=row["name"],
                name_ascii=row["name_ascii"],
                name_en=row["name_en"],
            )
        )
    return groups


def load_former() -> list[FormerProvince]:
    return [
        FormerProvince(
            code=row["code"],
            name=row["name"],
            name_ascii=row["name_ascii"],
            kind=_kind(row["kind"]),
            region_code=row["region_code"],
        )
        for row in _rows("former_provinces.csv")
    ]


def load_aliases() -> list[tuple[str, str]]:
    return [(row["alias"], row["region_code"]) for row in _rows("aliases.csv")]


def _kind(value: str) -> Kind:
    if value == "city":
        return "city"
    if value == "province":
        return "province"
    raise ValueError(f"unknown kind {value!r}")
