"""The rules of a lead: its statuses, the moves between them, what makes two leads
the same person. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from crm_kit import errors
from crm_kit.text import fold, normalize_email, normalize_vn_phone

Source = Literal["internet", "press", "partner_referral", "trade_fair", "walk_in", "campaign", "other"]
PlannedChannel = Literal["call", "visit", "email", "meeting", "message"]
MatchKind = Literal["phone", "email", "company_name"]
MATCH_KINDS: tuple[MatchKind, ...] = ("phone", "email", "company_name")


class Status(StrEnum):
    NEW = "new"
    CONTACTING = "contacting"
    EVALUATED = "evaluated"
    CONVERTED = "converted"
    #: Disqualified: not promising, closed with a reason.
    CLOSED = "closed"
    #: Folded into another lead (`merged_into_id`); kept, never deleted.
    MERGED = "merged"


#: Where each status may go next. Converted, closed and merged are final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.CONTACTING, Status.CLOSED, Status.MERGED}),
    Status.CONTACTING: frozenset({Status.EVALUATED, Status.CLOSED, Status.MERGED}),
    Status.EVALUATED: frozenset({Status.CONVERTED, Status.CLOSED, Status.MERGED}),
    Status.CONVERTED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.MERGED: frozenset(),
}

#: Statuses a lead is still being worked in: editable, mergeable, disqualifiable.
OPEN: frozenset[Status] = frozenset({Status.NEW, Status.CONTACTING, Status.EVALUATED})


class IllegalTransition(errors.Conflict):
    """A move the lead's status does not allow: 409 with the moves it does."""

    def __init__(
        self,
        current: Status,
        wanted: Status,
        reason: str | None = None,
        allowed: frozenset[Status] | None = None,
    ) -> None:
        self.current = current
        self.wanted = wanted
        self.allowed = TRANSITIONS[current] if allowed is None else allowed
        names = ", ".join(sorted(self.allowed)) or f"none ({current} is final)"
        why = f" ({reason})" if reason else ""
        super().__init__(f"cannot move a lead from {current} to {wanted}{why}; allowed next: {names}")


def transition(current: Status | str, wanted: Status) -> Status:
    """`wanted` if a lead in `current` may move there; else `IllegalTransition`."""
    current = Status(current)
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
    return wanted


def conversion(current: Status | str, promising: bool | None) -> Status:
    """Only a lead evaluated as promising converts."""
    current = Status(current)
    transition(current, Status.CONVERTED)
    if promising is not True:
        raise IllegalTransition(
            current,
            Status.CONVERTED,
            "it was evaluated as not promising",
            allowed=TRANSITIONS[current] - {Status.CONVERTED},
        )
    return Status.CONVERTED


def is_open(status: Status | str) -> bool:
    return Status(status) in OPEN


# -- duplicates --------------------------------------------------------------------


@dataclass(frozen=True)
class MatchKeys:
    """What identifies a person across leads however they were typed."""

    phone: str | None
    email: str | None
    #: (folded company, folded full name); only when there is a company: a name
    #: alone ("Nguyễn Văn An") is far too common to call two leads the same.
    company_name: tuple[str, str] | None

    @classmethod
    def of(cls, *, full_name: str, company: str | None, phone: str | None, email: str | None) -> MatchKeys:
        folded_company, folded_name = fold(company), fold(full_name)
        return cls(
            phone=normalize_vn_phone(phone) if phone else None,
            email=normalize_email(email),
            company_name=(folded_company, folded_name) if folded_company and folded_name else None,
        )

    def only(self, kinds: set[MatchKind] | frozenset[MatchKind]) -> MatchKeys:
        """These keys restricted to `kinds` (an edit re-checks only what it changed)."""
        return MatchKeys(
            phone=self.phone if "phone" in kinds else None,
            email=self.email if "email" in kinds else None,
            company_name=self.company_name if "company_name" in kinds else None,
        )

    def lookup(self, kind: MatchKind) -> str | None:
        """The key of one kind as one string (for indexing leads seen so far, and locking)."""
        if kind == "phone":
            return f"phone:{self.phone}" if self.phone else None
        if kind == "email":
            return f"email:{self.email}" if self.email else None
        return f"company_name:{self.company_name[0]}|{self.company_name[1]}" if self.company_name else None

    def lookups(self) -> list[str]:
        return [lookup for kind in MATCH_KINDS if (lookup := self.lookup(kind))]

    def __bool__(self) -> bool:
        return bool(self.phone or self.email or self.company_name)


def matched_on(new: MatchKeys, existing: MatchKeys) -> list[MatchKind]:
    """On which keys two leads look like the same person (empty: they do not)."""
    found: list[MatchKind] = []
    if new.phone and new.phone == existing.phone:
        found.append("phone")
    if new.email and new.email == existing.email:
        found.append("email")
    if new.company_name and new.company_name == existing.company_name:
        found.append("company_name")
    return found


def customer_name(full_name: str, company: str | None) -> str:
    """The customer a converted lead becomes is the company if there is one, else the person."""
    return company if company else full_name
