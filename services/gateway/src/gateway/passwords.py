"""Password hashing (argon2id). Hashing takes tens of milliseconds of CPU and 64 MiB of
memory on purpose, so it runs in a worker thread (never stalling the event loop for
other requests), at most `MAX_CONCURRENT_HASHES` at once per process: a flood of logins
waits its turn instead of taking the gateway past its memory limit."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Hashes at once in one process: 2 x 64 MiB at most, whatever the number of logins.
MAX_CONCURRENT_HASHES = 2
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
T = TypeVar("T")


async def _hashing(work: Callable[..., T], *args: str) -> T:
    """`work(*args)` in a worker thread once one of the hashing slots is free."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_HASHES)
    async with slots:
        return await asyncio.to_thread(work, *args)


async def hash_password(password: str) -> str:
    return await _hashing(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    return await _hashing(_verify, password_hash, password)


async def verify_dummy(password: str) -> None:
    """Spend the time a real check would, so a missing user is not told apart by timing."""
    await verify_password(await _hashing(_dummy_hash), password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(24))
