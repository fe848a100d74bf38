"""Failed logins are throttled per username and address, and per address alone.

After `max_failures` failed logins for one username from one address within
`window_s`, further attempts for that name from there (even with the right password)
get 429 with `Retry-After` until the oldest failure leaves the window; a successful
login clears that count. After `max_per_address` failures from one address, whatever
the usernames, every attempt from it waits the same way: a flood of made-up names no
longer passes, and no password hash is run for it.

The failures are rows in the gateway's database (`LoginFailure`), so every replica
counts the same ones. An attempt is counted before its password is checked (`begin`),
so a burst of concurrent guesses is throttled as it arrives. Each failure also deletes
the rows that have left the window (indexed by time), so the table holds one window's
worth at most.

The address is the client's as the ASGI server gives it: behind a proxy, the server
must take the forwarded address from the proxy only (`FORWARDED_ALLOW_IPS`, see
deploy/README.md), or everyone is one address and anyone locks out `admin`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, insert, select

from crm_kit.db import Database

from .models import LoginFailure


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str


def _now() -> datetime:
    return datetime.now(UTC)


class LoginThrottle:
    def __init__(
        self,
        db: Database,
        *,
        max_failures: int,
        max_per_address: int,
        window_s: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.max_failures = max_failures
        self.max_per_address = max_per_address
        self.window = timedelta(seconds=window_s)
        self._clock = clock

    @staticmethod
    def attempt(username: str, address: str | None) -> Attempt:
        return Attempt(username.strip().lower()[:100], (address or "?")[:64])

    async def begin(self, attempt: Attempt) -> int | None:
        """Count `attempt` as a failure until it succeeds, and say how many seconds it
        must wait (429) or None if it may go on.

        Counted before the password is checked, so a burst of concurrent attempts is
        throttled as it arrives, not only once its hashes have failed. A refused
        attempt is not counted: waiting does not lengthen the wait.
        """
        now = self._clock()
        async with self.db.transaction() as session:
            attempt_id = await session.scalar(
                insert(LoginFailure)
                .values(username=attempt.username, address=attempt.address, at=now)
                .returning(LoginFailure.id)
            )
        recent = and_(LoginFailure.address == attempt.address, LoginFailure.at > now - self.window)
        same_name = LoginFailure.username == attempt.username
        async with self.db.transaction() as session:
            from_address, oldest, for_name, oldest_for_name = (
                await session.execute(
                    select(
                        func.count(),
                        func.min(LoginFailure.at),
                        func.count().filter(same_name),
                        func.min(LoginFailure.at).filter(same_name),
                    ).where(recent)
                )
            ).one()
            if from_address > self.max_per_address:
                wait = self._wait(oldest, now)
            elif for_name > self.max_failures:
                wait = self._wait(oldest_for_name, now)
            else:
                return None
            await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
        return wait

    def _wait(self, oldest: datetime, now: datetime) -> int:
        # The oldest of the window: when it leaves, the count is under the limit again
        # (a bound, not exact, when more than one over; it needs no second query).
        return max(1, math.ceil((oldest + self.window - now).total_seconds()))

    async def failed(self) -> None:
        """The attempt `begin` counted stays counted; what left the window goes."""
        async with self.db.transaction() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.at <= self._clock() - self.window))

    async def succeeded(self, attempt: Attempt) -> None:
        """The name's count at that address starts again (this attempt's row included)."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(LoginFailure).where(
                    LoginFailure.address == attempt.address, LoginFailure.username == attempt.username
                )
            )
