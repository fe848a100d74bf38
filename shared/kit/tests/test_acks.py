"""`crm_kit.acks.Ledger`: acks that cover several messages never cover one not dealt with.

A model of a RabbitMQ channel checks every frame the ledger sends as the broker would:
a multiple ack settles every outstanding tag up to its own, and acking or nacking a
tag that is not outstanding is a channel error (the broker closes the channel).
"""

from __future__ import annotations

import random

import pytest

from crm_kit.acks import Ledger, Settle

pytestmark = pytest.mark.unit


class ChannelModel:
    """What RabbitMQ knows: the outstanding deliveries, and how each was settled."""

    def __init__(self) -> None:
        self.outstanding: set[int] = set()
        self.acked: set[int] = set()
        self.nacked: set[int] = set()
        self.frames = 0

    def deliver(self, tag: int) -> None:
        self.outstanding.add(tag)

    def apply(self, frames: list[Settle]) -> None:
        for frame in frames:
            self.frames += 1
            assert frame.tag in self.outstanding, f"PRECONDITION_FAILED unknown delivery tag {frame.tag}"
            if frame.nack:
                self.outstanding.discard(frame.tag)
                self.nacked.add(frame.tag)
            elif frame.multiple:
                covered = {t for t in self.outstanding if t <= frame.tag}
                self.outstanding -= covered
                self.acked |= covered
            else:
                self.outstanding.discard(frame.tag)
                self.acked.add(frame.tag)


def test_a_batch_finished_together_is_one_multiple_ack() -> None:
    ledger = Ledger()
    for tag in range(1, 6):
        ledger.seen(tag)
    for tag in (3, 1, 5, 2, 4):
        ledger.finished(tag)
    assert ledger.frames() == [Settle(5, multiple=True)]
    assert ledger.frames() == []


def test_one_message_is_acked_alone() -> None:
    ledger = Ledger()
    ledger.seen(1)
    ledger.finished(1)
    assert ledger.frames() == [Settle(1)]


def test_a_finished_message_above_one_in_hand_waits_for_it() -> None:
    ledger = Ledger()
    for tag in (1, 2, 3):
        ledger.seen(tag)
    ledger.finished(2)
    ledger.finished(3)
    assert ledger.frames() == []
    ledger.finished(1)
    assert ledger.frames() == [Settle(3, multiple=True)]


def test_a_message_given_back_is_nacked_alone_and_passed_over() -> None:
    ledger = Ledger()
    for tag in (1, 2, 3):
        ledger.seen(tag)
    ledger.finished(1)
    ledger.give_back(2)
    ledger.finished(3)
    assert ledger.frames() == [Settle(2, nack=True), Settle(3, multiple=True)]


def test_a_tag_that_never_reached_the_handler_is_never_covered() -> None:
    """Tag 2 went to another consumer on the channel (or was dropped before the handler)."""
    channel = ChannelModel()
    ledger = Ledger()
    for tag in (1, 2, 3, 4):
        channel.deliver(tag)
    for tag in (1, 3, 4):
        ledger.seen(tag)
    for tag in (1, 3, 4):
        ledger.finished(tag)
    frames = ledger.frames()
    channel.apply(frames)
    assert frames == [Settle(1), Settle(3), Settle(4)]
    assert channel.outstanding == {2}
    # From then on, one message at a time on this channel.
    channel.deliver(5)
    channel.deliver(6)
    ledger.seen(5)
    ledger.seen(6)
    ledger.finished(5)
    ledger.finished(6)
    assert ledger.frames() == [Settle(5), Settle(6)]


@pytest.mark.parametrize("seed", range(300))
def test_random_interleavings_settle_each_message_once_as_its_handler_said(seed: int) -> None:
    rng = random.Random(seed)
    channel = ChannelModel()
    ledger = Ledger()
    foreign = set()  # delivered on the channel, never handed to this consumer
    in_hand: list[int] = []
    wanted_ack: set[int] = set()
    wanted_nack: set[int] = set()
    next_tag = 1
    for _ in range(rng.randint(1, 300)):
        move = rng.random()
        if move < 0.4:
            channel.deliver(next_tag)
            if rng.random() < (0.02 if seed % 3 == 0 else 0):
                foreign.add(next_tag)
            else:
                ledger.seen(next_tag)
                in_hand.append(next_tag)
            next_tag += 1
        elif move < 0.8 and in_hand:
            tag = in_hand.pop(rng.randrange(len(in_hand)))
            if rng.random() < 0.1:
                ledger.give_back(tag)
                wanted_nack.add(tag)
            else:
                ledger.finished(tag)
                wanted_ack.add(tag)
        else:
            channel.apply(ledger.frames())
    for tag in in_hand:
        ledger.finished(tag)
        wanted_ack.add(tag)
    channel.apply(ledger.frames())

    assert channel.acked == wanted_ack
    assert channel.nacked == wanted_nack
    assert channel.outstanding == foreign
    assert channel.frames <= len(wanted_ack) + len(wanted_nack)
