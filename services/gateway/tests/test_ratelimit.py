"""Failed logins per username and address: 429 after the limit, until the window passes."""

from __future__ import annotations

import pytest

from gateway.ratelimit import LoginThrottle

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_sixth_try_after_five_failures_waits_until_the_first_leaves_the_window():
    clock = Clock()
    throttle = LoginThrottle(5, 300, clock=clock)
    key = throttle.key(" Alice ", "10.0.0.1")
    for _ in range(5):
        assert throttle.retry_after(key) is None
        throttle.failed(key)
        clock.now += 10
    assert throttle.retry_after(key) == 300 - 50
    assert throttle.retry_after(throttle.key("alice", "10.0.0.2")) is None  # another address
    assert throttle.retry_after(throttle.key("bob", "10.0.0.1")) is None  # another name
    clock.now = 1000.0 + 300.5
    assert throttle.retry_after(key) is None  # the first failure left the window


def test_a_successful_login_clears_the_count():
    throttle = LoginThrottle(2, 300, clock=Clock())
    key = throttle.key("alice", "127.0.0.1")
    throttle.failed(key)
    throttle.succeeded(key)
    throttle.failed(key)
    assert throttle.retry_after(key) is None
