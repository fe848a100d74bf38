"""`crm_kit.batching.Batcher`: concurrent submissions run together, each gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from crm_kit.batching import Batcher, distinct_runs

pytestmark = pytest.mark.unit


class Recorder:
    """Doubles each number; a negative number is that item's failure."""

    def __init__(self, pause: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.pause = pause

    async def run(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await asyncio.sleep(self.pause)
        return [ValueError(f"bad {n}") if n < 0 else n * 2 for n in items]


async def test_one_item_alone_runs_at_once_as_a_batch_of_one() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.run, max_size=10)

    assert await batcher.submit(21) == 42
    assert recorder.batches == [[21]]


async def test_items_submitted_together_run_together_and_each_gets_its_own_outcome() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.run, max_size=10)

    results = await asyncio.gather(*(batcher.submit(n) for n in (1, 2, -3, 4)), return_exceptions=True)

    assert recorder.batches == [[1, 2, -3, 4]]
    assert results[:2] == [2, 4] and results[3] == 8
    assert isinstance(results[2], ValueError) and str(results[2]) == "bad -3"


async def test_batches_never_exceed_max_size_and_keep_the_order_of_arrival() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.run, max_size=3)

    results = await asyncio.gather(*(batcher.submit(n) for n in range(8)))

    assert results == [n * 2 for n in range(8)]
    assert recorder.batches == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert (batcher.batches, batcher.items) == (3, 8)


async def test_what_arrives_while_a_batch_runs_forms_the_next_batch() -> None:
    recorder = Recorder(pause=0.05)
    batcher = Batcher(recorder.run, max_size=100)

    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.01)  # the first batch is running now
    later = await asyncio.gather(*(batcher.submit(n) for n in (2, 3, 4)))

    assert await first == 2 and later == [4, 6, 8]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_runner_that_raises_fails_every_item_of_its_batch_and_not_the_next() -> None:
    calls = 0

    async def flaky(items: Sequence[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return list(items)

    batcher = Batcher(flaky, max_size=10)
    failed = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in failed)
    assert await batcher.submit(3) == 3


async def test_a_cancelled_submitter_does_not_disturb_the_others() -> None:
    recorder = Recorder(pause=0.05)
    batcher = Batcher(recorder.run, max_size=10)

    doomed = asyncio.create_task(batcher.submit(1))
    kept = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0.01)
    doomed.cancel()

    assert await kept == 4
    with pytest.raises(asyncio.CancelledError):
        await doomed


def test_max_size_must_be_positive() -> None:
    async def run(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)

    with pytest.raises(ValueError):
        Batcher(run, max_size=0)


def test_distinct_runs_split_where_a_key_repeats_and_keep_the_order() -> None:
    items = ["a1", "b1", "c1", "a2", "d1", "a3", "b2"]

    runs = list(distinct_runs(items, key=lambda item: item[0]))

    assert runs == [["a1", "b1", "c1"], ["a2", "d1"], ["a3", "b2"]]
    assert list(distinct_runs([], key=str)) == []
