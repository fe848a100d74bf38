"""Lifecycle rules of a customer; no I/O."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    PROSPECT = "prospect"
    TRADITIONAL = "traditional"
    INACTIVE = "inactive"


class IllegalTransition(Exception):
    def __init__(self, current: Stage, wanted: Stage, allowed: frozenset[Stage]) -> None:
        names = ", ".join(sorted(allowed)) or "none"
        super().__init__(f"a {current} customer cannot become {wanted}; allowed: {names}")


#: Where each stage may go next.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.PROSPECT: frozenset({Stage.TRADITIONAL, Stage.INACTIVE}),
    Stage.TRADITIONAL: frozenset({Stage.INACTIVE}),
    Stage.INACTIVE: frozenset({Stage.PROSPECT, Stage.TRADITIONAL}),
}


def promotion(current: Stage) -> bool:
    """Whether promoting a customer in `current` changes anything.

    Promotion is idempotent: a traditional customer stays as it is. An inactive
    customer who buys again comes back as traditional.
    """
    if current == Stage.TRADITIONAL:
        return False
    if Stage.TRADITIONAL not in TRANSITIONS[current]:
        raise IllegalTransition(current, Stage.TRADITIONAL, TRANSITIONS[current])
    return True
