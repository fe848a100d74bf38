"""Login attempts are rate-limited per username and client address.

After `max_failures` failed logins for one username from one address within
`window_s`, further attempts (even with the right password) get 429 with
`Retry-After` until the oldest failure leaves the window; a successful login clears
the count. Kept in the process's memory: each gateway replica counts on its own,
which bounds guessing per replica; a shared store would be needed to bound it
across replicas.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Key = tuple[str, str]


class LoginThrottle:
    #: Past this many tracked keys, expired ones are swept (bounds the memory).
    SWEEP_AT = 10_000

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[Key, deque[float]] = {}

    @staticmethod
    def key(username: str, address: str | None) -> Key:
        return (username.strip().lower()[:100], address or "?")

    def retry_after(self, key: Key) -> int | None:
        """Seconds until `key` may try again, or None if it may now."""
        failures = self._recent(key)
        if len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[0] + self.window_s - self._clock()))

    def failed(self, key: Key) -> None:
        if len(self._failures) >= self.SWEEP_AT:
            for stale in [k for k in self._failures if not self._recent(k)]:
                self._failures.pop(stale, None)
        self._failures.setdefault(key, deque()).append(self._clock())

    def succeeded(self, key: Key) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: Key) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
