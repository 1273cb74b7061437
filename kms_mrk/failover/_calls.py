"""How the toolkit sends its KMS calls: per-Region clients, a rate cap, throttling backoff.

Two layers handle throttling, and they stack:

1. The client's retry strategy (standard by default: 3 attempts, exponential backoff with
   full jitter from 1 s after a ThrottlingException) retries inside ``client.send``. A short
   burst of throttling never reaches the toolkit.
2. When throttling outlasts the client's attempts, :class:`Caller` sees the
   ``ThrottlingException`` (:func:`kms_mrk.retries.is_throttling_error`), halves the
   :class:`RateLimiter`'s rate (multiplicative decrease; it grows back by a twentieth of the
   cap after each success) and sends the call again after its own capped, jittered backoff,
   up to ``throttle_retries`` more times. Other errors are not retried here: the client has
   already retried the transient ones, and an unreachable Region must be reported promptly.

So a call may reach KMS up to ``client attempts x (throttle_retries + 1)`` times. The rate
limiter paces the calls the toolkit starts; the client's own retries of one call are paced
by the client (with ``retry="adaptive"`` it also rate-limits itself per Region).

Time spent inside ``client.send`` is added up (:attr:`Caller.api_seconds`) so a run can tell
its own overhead from the cost of the API calls it makes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from kms_mrk.errors import ConfigurationError
from kms_mrk.retries import is_throttling_error

if TYPE_CHECKING:
    import random

    from kms_mrk import AsyncKMSClient, Command, KMSClient, Response

__all__ = ["Caller", "RateLimiter"]

OutputT = TypeVar("OutputT", bound="Response")


_rng: random.Random | None = None


def _shared_rng() -> random.Random:
    """One generator for every Caller's jitter: seeding one per Caller (one per promote())
    costs more than the backoff logic itself; ``Random.random`` is thread-safe."""
    global _rng
    if _rng is None:
        import random

        _rng = random.Random()
    return _rng


class RateLimiter:
    """A token bucket: on average at most ``rate`` acquisitions per second; thread-safe.

    ``burst`` tokens may be spent at once (1 by default: calls evenly spaced). Each caller
    reserves its token under the lock and sleeps its own wait outside it, so waiting threads
    are served in order. The rate adapts: :meth:`on_throttle` halves it (never below
    ``min_rate``, 0.5/s by default), :meth:`on_success` raises it by a twentieth of the
    configured cap, up to the cap.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        min_rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not math.isfinite(rate)
            or rate <= 0
        ):
            raise ConfigurationError(f"rate must be a number of calls per second > 0; got {rate!r}")
        if isinstance(burst, bool) or not isinstance(burst, (int, float)) or burst < 1:
            raise ConfigurationError(f"burst must be a number >= 1; got {burst!r}")
        self.max_rate = float(rate)
        self.min_rate = float(min_rate) if min_rate is not None else min(self.max_rate, 0.5)
        self.rate = self.max_rate
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def on_throttle(self) -> None:
        """KMS throttled a call: halve the rate."""
        with self._lock:
            self.rate = max(self.min_rate, self.rate * 0.5)

    def on_success(self) -> None:
        """A call went through: grow the rate back towards the cap."""
        if self.rate < self.max_rate:
            with self._lock:
                self.rate = min(self.max_rate, self.rate + self.max_rate / 20.0)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g}/s, cap={self.max_rate:g}/s)"


class Caller:
    """Sends commands to any Region through clients made from one ``KMSClient``.

    With an ``AsyncKMSClient`` only :meth:`send_steps` is used (run by the async driver).
    Thread-safe. ``limiter`` (optional) paces every call; ``sleep`` and ``rng`` drive the
    backoff after throttling that outlasted the client's retries.
    """

    def __init__(
        self,
        client: KMSClient | AsyncKMSClient,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
        throttle_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
    ) -> None:
        if rng is None:
            rng = _shared_rng()
        self.client = client
        self.limiter = limiter
        self.sleep = sleep
        self.rng = rng
        self.throttle_retries = throttle_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clients: dict[str, Any] = {client.region: client}
        self._lock = threading.Lock()
        self.api_seconds = 0.0
        self.api_calls = 0
        self.throttled = 0
        self.calls_by_operation: dict[str, int] = {}

    @property
    def default_region(self) -> str:
        return self.client.region

    def for_region(self, region: str) -> Any:
        """The client for ``region``.

        ``KMSClient.for_region`` already shares one pipeline per Region (endpoint, retry
        quota, adaptive limiter); the small client object it returns is kept here only so
        that each call does not make a new one (``setdefault`` is atomic).
        """
        found = self._clients.get(region)
        if found is None:
            found = self._clients.setdefault(region, self.client.for_region(region))
        return found

    def send(
        self, region: str, command: Command[OutputT], *, max_attempts: int | None = None
    ) -> OutputT:
        """Send ``command`` in ``region`` under the rate cap, backing off on throttling.

        ``max_attempts`` limits the client's own attempts for this call (1: never resent by
        the client; throttling is then not retried here either).
        """
        from kms_mrk.failover._steps import run_sync

        return run_sync(self.send_steps(region, command, max_attempts=max_attempts), self.sleep)

    def send_steps(
        self, region: str, command: Command[OutputT], *, max_attempts: int | None = None
    ) -> Generator[Any, Any, OutputT]:
        """:meth:`send` as a flow (see :mod:`kms_mrk.failover._steps`): it yields the send and
        the pauses, so an ``AsyncKMSClient`` runs the same throttling logic. The rate limiter
        (sync callers only) waits in place."""
        from kms_mrk.failover._steps import Send
        from kms_mrk.waiters import Sleep

        client = self.for_region(region)
        operation = command.operation_name
        retry = 0
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            started = time.perf_counter()
            try:
                response: OutputT = yield Send(client, command, max_attempts)
            except Exception as error:
                self._count(operation, time.perf_counter() - started)
                if not is_throttling_error(error):
                    raise
                with self._lock:
                    self.throttled += 1
                if self.limiter is not None:
                    self.limiter.on_throttle()
                if retry >= self.throttle_retries:
                    raise
                retry += 1
                ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(retry - 1, 32))
                yield Sleep(self.rng.random() * ceiling)
                continue
            self._count(operation, time.perf_counter() - started)
            if self.limiter is not None:
                self.limiter.on_success()
            return response

    def _count(self, operation: str, seconds: float) -> None:
        with self._lock:
            self.api_seconds += seconds
            self.api_calls += 1
            self.calls_by_operation[operation] = self.calls_by_operation.get(operation, 0) + 1

    def stats(self) -> dict[str, Any]:
        """Calls made (by operation), seconds spent inside ``client.send``, throttles seen."""
        with self._lock:
            return {
                "api_calls": self.api_calls,
                "api_seconds": round(self.api_seconds, 6),
                "calls_by_operation": dict(sorted(self.calls_by_operation.items())),
                "throttled": self.throttled,
            }
