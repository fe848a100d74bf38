"""The rules of a lead: its statuses, the moves between them, its sources and history
actions, what makes two leads the same person. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_kit import errors
from crm_kit.text import fold, normalize_email, normalize_vn_phone


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
        super().__init__(
            f"cannot move a lead from {current} to {wanted}{why}; allowed next: {names}",
            code="lead.move_not_promising" if reason else "lead.move_not_allowed",
            params={
                "from": current.value,
                "to": wanted.value,
                "allowed": [s.value for s in sorted(self.allowed)],
            },
        )


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


def next_statuses(current: Status | str, promising: bool | None) -> list[Status]:
    """Where a lead may move next by its own operations (contact, evaluate, convert,
    disqualify), in the pipeline's order: what a board offers. Merging is not a move."""
    current = Status(current)
    allowed = TRANSITIONS[current] - {Status.MERGED}
    if promising is not True:
        allowed -= {Status.CONVERTED}
    return [status for status in Status if status in allowed]


def is_open(status: Status | str) -> bool:
    return Status(status) in OPEN


# -- where a lead comes from, and what is done to it ----------------------------------


class Source(StrEnum):
    """Where a lead came from."""

    # The values of `crm_contracts.leads.LeadSource`, which the events carry.
    INTERNET = "internet"
    PRESS = "press"
    PARTNER_REFERRAL = "partner_referral"
    TRADE_FAIR = "trade_fair"
    WALK_IN = "walk_in"
    CAMPAIGN = "campaign"
    OTHER = "other"


class PlannedChannel(StrEnum):
    """How the owner plans to make the first contact."""

    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    MEETING = "meeting"
    MESSAGE = "message"


class Action(StrEnum):
    """What was done to a lead, as its history (`lead_history.action`) names it."""

    CAPTURED = "captured"
    IMPORTED = "imported"
    UPDATED = "updated"
    CONTACTED = "contacted"
    EVALUATED = "evaluated"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"
    ASSIGNED = "assigned"
    #: On the kept lead of a merge; the duplicate's entry is `MERGED_INTO`.
    MERGED = "merged"
    MERGED_INTO = "merged_into"
    #: Moved with its owner's portfolio (PortfolioReassigned).
    REASSIGNED = "reassigned"


# -- duplicates --------------------------------------------------------------------


class MatchKind(StrEnum):
    """What two leads of the same person may share."""

    PHONE = "phone"
    EMAIL = "email"
    #: The same person at the same company, both folded.
    COMPANY_NAME = "company_name"


#: In the order a duplicate is reported on.
MATCH_KINDS: tuple[MatchKind, ...] = tuple(MatchKind)


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
            phone=self.phone if MatchKind.PHONE in kinds else None,
            email=self.email if MatchKind.EMAIL in kinds else None,
            company_name=self.company_name if MatchKind.COMPANY_NAME in kinds else None,
        )

    def lookup(self, kind: MatchKind) -> str | None:
        """The key of one kind as one string (for indexing leads seen so far, and locking)."""
        if kind == MatchKind.PHONE:
            return f"phone:{self.phone}" if self.phone else None
        if kind == MatchKind.EMAIL:
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
        found.append(MatchKind.PHONE)
    if new.email and new.email == existing.email:
        found.append(MatchKind.EMAIL)
    if new.company_name and new.company_name == existing.company_name:
        found.append(MatchKind.COMPANY_NAME)
    return found


def customer_name(full_name: str, company: str | None) -> str:
    """The customer a converted lead becomes is the company if there is one, else the person."""
    return company if company else full_name
