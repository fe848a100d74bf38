"""Run work that arrives concurrently in batches, without waiting to fill them.

RabbitMQ hands a consumer up to `prefetch` messages at once, each in a task of its
own. Committing each in a transaction of its own spends most of the time on
per-transaction round trips; a `Batcher` lets those tasks hand their work to one
worker, which runs whatever has queued up (up to `max_size`) together, then tells
each task its own outcome. Nothing waits for a batch to fill: at a low rate every
batch has one item, under load batches grow by themselves while the previous one
commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)

#: Runs a batch; returns one outcome per item, in order: a result, or the exception
#: that item's submitter should see.
RunBatch = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class Batcher(Generic[T, R]):
    def __init__(self, run: RunBatch[T, R], *, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._run = run
        self.max_size = max_size
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None
        #: Sizes of the batches run so far (how much batching the load produced).
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Queue `item`, and return its outcome (or raise its exception) once its batch ran."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="batcher")
        return await future

    async def _drain(self) -> None:
        try:
            # One turn of the event loop: deliveries read from the same socket read join in.
            await asyncio.sleep(0)
            while self._queue:
                batch = self._queue[: self.max_size]
                del self._queue[: self.max_size]
                await self._run_one_batch(batch)
        finally:
            self._worker = None
            # Stopped by cancellation with work still queued: nobody will run it, say so.
            for _, future in self._queue:
                if not future.done():
                    future.set_exception(asyncio.CancelledError())
            self._queue.clear()

    async def _run_one_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            outcomes: Sequence[R | BaseException] = await self._run([item for item, _ in batch])
        except BaseException as exc:  # the runner broke its promise: every item gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its submitter was cancelled meanwhile
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def distinct_runs(items: Sequence[T], key: Callable[[T], K]) -> Iterator[list[T]]:
    """Consecutive runs of `items`, in order, none with two items of the same key.

    A set-based statement can act on each key once (an upsert cannot touch one row
    twice); splitting where a key repeats keeps the effect of one-by-one handling.
    """
    run: list[T] = []
    seen: set[K] = set()
    for item in items:
        k = key(item)
        if k in seen:
            yield run
            run, seen = [], set()
        run.append(item)
        seen.add(k)
    if run:
        yield run
