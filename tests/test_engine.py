"""Parts of the send engine that are about time, tested on a clock we control."""

from __future__ import annotations

from actionmail.delivery.engine import RateLimiter
from tests.conftest import Clock


def test_rate_caps_messages_per_second() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(100, clock, clock.sleep)
    for _ in range(5):  # 500 messages in batches of 100 at 100/s: the first second's worth at once, then waits
        limiter.acquire(100)
    assert clock.slept and round(sum(clock.slept), 6) == 4.0
    assert round(clock.now, 6) == 4.0


def test_a_batch_larger_than_a_second_of_rate_still_goes() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(50, clock, clock.sleep)
    limiter.acquire(50)
    limiter.acquire(120)  # bigger than the bucket: waits for the tokens rather than forever
    assert round(clock.now, 6) == 2.4


def test_no_rate_means_no_waiting() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(None, clock, clock.sleep)
    for _ in range(100):
        limiter.acquire(1000)
    assert clock.slept == []
