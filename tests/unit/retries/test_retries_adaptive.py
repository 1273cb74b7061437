"""Adaptive mode: the client-side rate limiter, measured against a fake clock."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.errors._base import ConfigurationError, ConnectError, KMSServiceException
from kms_mrk.retries import (
    AdaptiveRetryStrategy,
    ClientRateLimiter,
    RetryQuota,
    RetryStrategy,
    RetryToken,
    StandardRetryStrategy,
)


def throttle() -> KMSServiceException:
    return KMSServiceException("Rate exceeded", code="ThrottlingException", http_status=400)


def send_successes(limiter: ClientRateLimiter, clock: Any, rate: float, seconds: float) -> None:
    """Answers arriving at ``rate`` per second for ``seconds``, all successful."""
    for _ in range(round(rate * seconds)):
        clock.advance(1.0 / rate)
        limiter.record_response(throttled=False)


def test_is_a_retry_strategy_and_starts_unlimited(clock: Any) -> None:
    strategy = AdaptiveRetryStrategy(clock=clock)
    assert isinstance(strategy, RetryStrategy)
    assert isinstance(strategy, StandardRetryStrategy)
    assert strategy.mode == "adaptive"
    assert not strategy.rate_limiter.enabled
    # no throttling seen yet: any number of attempts at the same instant go out at once
    assert all(strategy.acquire_initial_token("Encrypt").delay == 0.0 for _ in range(100))


def test_first_throttle_enables_limiting_at_beta_times_the_measured_rate(clock: Any) -> None:
    limiter = ClientRateLimiter(clock)
    send_successes(limiter, clock, rate=10.0, seconds=5.0)
    measured = limiter.measured_rate
    assert measured == pytest.approx(10.0, rel=0.05)
    limiter.record_response(throttled=True)
    assert limiter.enabled
    assert limiter.fill_rate == pytest.approx(0.7 * limiter.measured_rate)


def test_repeated_throttles_drop_the_rate_to_the_floor_and_delays_grow(clock: Any) -> None:
    limiter = ClientRateLimiter(clock)
    send_successes(limiter, clock, rate=20.0, seconds=3.0)
    rates = []
    for _ in range(30):
        clock.advance(0.05)
        limiter.record_response(throttled=True)
        rates.append(limiter.fill_rate)
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] == 0.5  # the minimum fill rate
    # back-to-back attempts now queue: each waits 1/0.5 = 2 s longer than the previous one
    waits = [limiter.acquire() for _ in range(4)]
    assert waits[1] - waits[0] == pytest.approx(2.0)
    assert waits[3] - waits[2] == pytest.approx(2.0)


def test_rate_recovers_along_the_cubic_curve_after_successes(clock: Any) -> None:
    limiter = ClientRateLimiter(clock)
    send_successes(limiter, clock, rate=10.0, seconds=5.0)
    limiter.record_response(throttled=True)
    w_max = limiter.fill_rate / 0.7  # the rate when the throttle came
    k = (w_max * 0.3 / 0.4) ** (1 / 3)  # seconds for the curve to climb back to w_max
    throttled_at = clock()
    after = []
    while clock() - throttled_at < k + 2.0:
        clock.advance(0.1)  # keep measuring a 10/s sending rate
        limiter.record_response(throttled=False)
        after.append((clock() - throttled_at, limiter.fill_rate))
    # concave then convex: below w_max before k, back to w_max at k, above it after
    for elapsed, rate in after:
        expected = 0.4 * (elapsed - k) ** 3 + w_max
        assert rate == pytest.approx(max(0.5, min(expected, 2 * limiter.measured_rate)), rel=0.05)
    assert after[0][1] < w_max
    assert after[-1][1] > w_max


def test_delay_reflects_the_bucket_and_is_reported_not_slept(clock: Any) -> None:
    strategy = AdaptiveRetryStrategy(5, clock=clock)
    limiter = strategy.rate_limiter
    send_successes(limiter, clock, rate=4.0, seconds=3.0)
    token = strategy.acquire_initial_token("Encrypt")
    start = clock()
    retry = strategy.refresh_token_for_retry(token, throttle())
    assert clock() == start  # nothing slept: the clock did not move
    assert retry is not None
    assert limiter.enabled
    rate = limiter.fill_rate
    assert rate == pytest.approx(0.7 * 4.0, rel=0.1)
    # the tokens left in the bucket (at most one second's worth) go out at once...
    free = 0
    while (delay := strategy.acquire_initial_token("Encrypt").delay) == 0.0:
        free += 1
        assert free <= rate + 1
    # ...then calls made at the same instant queue, one token period apart
    assert delay <= 1.0 / rate
    following = [strategy.acquire_initial_token("Encrypt").delay for _ in range(3)]
    assert following == pytest.approx([delay + n / rate for n in (1, 2, 3)])
    # once the clock has moved on far enough, attempts go out at once again
    clock.advance(10.0)
    assert strategy.acquire_initial_token("Encrypt").delay == 0.0


def test_non_throttling_errors_do_not_enable_limiting(clock: Any) -> None:
    strategy = AdaptiveRetryStrategy(clock=clock)
    token = strategy.acquire_initial_token("Encrypt")
    error = KMSServiceException("oops", code="InternalFailure", http_status=500, fault="server")
    assert strategy.refresh_token_for_retry(token, error) is not None
    assert strategy.refresh_token_for_retry(token, ConnectError("h")) is not None
    assert strategy.refresh_token_for_retry(token, ValueError("x")) is None
    assert not strategy.rate_limiter.enabled


def test_delays_are_the_larger_of_backoff_and_bucket_wait(clock: Any, fixed_random: Any) -> None:
    strategy = AdaptiveRetryStrategy(5, clock=clock, rng=fixed_random(1.0))
    send_successes(strategy.rate_limiter, clock, rate=100.0, seconds=2.0)
    token: RetryToken | None = strategy.acquire_initial_token("Encrypt")
    retries = []
    for _ in range(4):
        assert token is not None
        token = strategy.refresh_token_for_retry(token, throttle())
        assert token is not None
        retries.append(token)
        clock.advance(token.delay)
    for retry in retries:
        backoff = min(20.0, 1.0 * 2 ** (retry.attempt - 2))
        assert retry.delay >= backoff


def test_sibling_shares_the_quota_but_not_the_rate_limiter(clock: Any) -> None:
    quota = RetryQuota()
    strategy = AdaptiveRetryStrategy(clock=clock, quota=quota)
    sibling = strategy.sibling()
    assert sibling.quota is quota
    assert sibling.rate_limiter is not strategy.rate_limiter
    shared = AdaptiveRetryStrategy(clock=clock, rate_limiter=strategy.rate_limiter)
    assert shared.rate_limiter is strategy.rate_limiter


def test_record_success_feeds_the_limiter_and_the_quota(clock: Any, run_call: Any) -> None:
    strategy = AdaptiveRetryStrategy(clock=clock)
    result = run_call(strategy, "Encrypt", [throttle()], sleep=clock.advance)
    assert result.attempts == 2
    assert strategy.quota.available == 500
    assert strategy.rate_limiter.enabled
    assert "ClientRateLimiter(enabled=True" in repr(strategy.rate_limiter)


# ----------------------------------------------------------------------------- conformance

EVENTS = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=1.5, allow_nan=False), st.booleans()),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(events=EVENTS, start=st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_rate_follows_botocore_adaptive_mode(
    events: list[tuple[float, bool]], start: float
) -> None:
    """Same answers at the same times: the same allowed rate as botocore's rate limiter."""
    from botocore.retries import adaptive, bucket, throttling

    class Clock:
        now = start

        def current_time(self) -> float:
            return self.now

    class Detector:
        def is_throttling_error(self, **kwargs: object) -> bool:
            return bool(kwargs["throttled"])

    theirs_clock = Clock()
    theirs = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=start),
        rate_clocker=adaptive.RateClocker(theirs_clock),
        token_bucket=bucket.TokenBucket(max_rate=1, clock=theirs_clock),
        throttling_detector=Detector(),
        clock=theirs_clock,
    )
    now = [start]
    ours = ClientRateLimiter(lambda: now[0])
    for step, throttled in events:
        now[0] += step
        theirs_clock.now = now[0]
        theirs.on_receiving_response(throttled=throttled)
        ours.record_response(throttled=throttled)
        assert ours.fill_rate == pytest.approx(theirs._token_bucket.max_rate, rel=1e-9, abs=1e-9)
        assert ours.measured_rate == pytest.approx(
            theirs._rate_clocker.measured_rate, rel=1e-9, abs=1e-9
        )
        assert ours.enabled == theirs._enabled


# ----------------------------------------------------------------------------- threads


def test_concurrent_reservations_queue_in_distinct_slots(clock: Any) -> None:
    limiter = ClientRateLimiter(clock)
    send_successes(limiter, clock, rate=10.0, seconds=2.0)
    limiter.record_response(throttled=True)
    rate = limiter.fill_rate
    waits: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            wait = limiter.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the clock never moved: after the tokens left in the bucket, the 400 reservations
    # queue one after another, exactly 1/rate apart (no two threads got the same slot)
    waits.sort()
    assert len(waits) == 400
    queued = [w for w in waits if w > 0.0]
    assert len(queued) >= 400 - (rate + 1)
    gaps = [b - a for a, b in itertools.pairwise(queued)]
    assert min(gaps) == pytest.approx(1 / rate)
    assert max(gaps) == pytest.approx(1 / rate)


def test_thread_safety_smoke(clock: Any) -> None:
    quota = RetryQuota()
    strategy = AdaptiveRetryStrategy(4, clock=clock, quota=quota)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(200):
                token = strategy.acquire_initial_token("Decrypt")
                retry = strategy.refresh_token_for_retry(token, throttle())
                assert retry is not None
                assert retry.delay >= 0.0
                strategy.record_success(retry)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # every retry's 5 units came back with its success: no update was lost
    assert quota.available == 500


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": 1.5}, r"beta must be a finite number > 0 and <= 1; got 1.5"),
        ({"beta": 0}, r"beta must be"),
        ({"smoothing": -0.1}, r"smoothing must be"),
        ({"min_fill_rate": 0}, r"min_fill_rate must be a finite number > 0; got 0"),
        ({"time_bucket": float("inf")}, r"time_bucket must be"),
        ({"scale_constant": "0.4"}, r"scale_constant must be"),
        ({"clock": 12.0}, r"clock must be a callable"),
    ],
)
def test_rate_limiter_settings_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ClientRateLimiter(**kwargs)  # type: ignore[arg-type]
    if "clock" in kwargs:
        with pytest.raises(ConfigurationError, match=message):
            AdaptiveRetryStrategy(clock=kwargs["clock"])  # type: ignore[arg-type]
