"""Retry strategies: whether a failed attempt is sent again, and how long to wait first.

The pipeline drives a strategy through tokens (the smithy-python / AWS SDK design)::

    token = strategy.acquire_initial_token(operation)
    while True:
        sleep(token.delay)
        try:
            response = attempt()
        except Exception as error:
            token = strategy.refresh_token_for_retry(token, error)  # None: re-raise error
            ...
        strategy.record_success(token)

Strategies never sleep and never read the wall clock on their own: every wait is returned in
``token.delay`` and the adaptive rate limiter reads an injected ``clock``, so tests with a fake
clock and a seeded ``random.Random`` run instantly and deterministically.

Two modes, as in the AWS SDKs:

- ``standard``: retry throttling, transient and connection errors, with capped exponential
  backoff and full jitter, up to ``max_attempts`` attempts, while the shared
  :class:`RetryQuota` has capacity.
- ``adaptive``: ``standard`` plus a client-side rate limiter (CUBIC congestion control over
  a token bucket) that slows the client down once the service starts throttling it.

Error classification (:func:`classify`, :func:`is_throttling_error`,
:func:`is_transient_error`) is public so the failover toolkit can make the same decisions.
docs/retries.md explains the defaults and the choices (``LimitExceededException`` is not
retried; :data:`NON_IDEMPOTENT_OPERATIONS` are not resent after the request went out).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, ClassVar, Final, Literal, Protocol, runtime_checkable

import attrs

import kms_mrk._service as _facts
from kms_mrk.errors._base import (
    ConfigurationError,
    ResponseParseError,
    ServiceException,
    TransportError,
)

if TYPE_CHECKING:
    import random

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_BACKOFF",
    "NEVER_RETRIED_ERROR_CODES",
    "NON_IDEMPOTENT_OPERATIONS",
    "RETRY_MODES",
    "THROTTLING_ERROR_CODES",
    "TRANSIENT_ERROR_CODES",
    "TRANSIENT_STATUS_CODES",
    "AdaptiveRetryStrategy",
    "ClientRateLimiter",
    "ErrorKind",
    "RetryConfig",
    "RetryMode",
    "RetryQuota",
    "RetryStrategy",
    "RetryToken",
    "StandardRetryStrategy",
    "classify",
    "is_throttling_error",
    "is_transient_error",
    "resolve_retry",
]

_rng: random.Random | None = None


def _shared_rng() -> random.Random:
    """The random source of strategies built without one (``random`` imported on first use)."""
    global _rng
    if _rng is None:
        import random

        _rng = random.Random()
    return _rng


ErrorKind = Literal["throttling", "transient", "timeout"]
"""Why an error may be retried: ``timeout`` covers every transport failure (it costs more quota)."""

RetryMode = Literal["standard", "adaptive"]
RETRY_MODES: Final[tuple[RetryMode, ...]] = ("standard", "adaptive")

DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_MAX_BACKOFF: Final = 20.0
DEFAULT_BASE: Final = 0.05
DEFAULT_THROTTLING_BASE: Final = 1.0
_RETRY_AFTER_HEADER: Final = "x-amz-retry-after"
_RETRY_AFTER_MAX_EXTRA: Final = 5.0

# The union of codes the AWS SDKs treat as throttling, minus LimitExceededException (below).
THROTTLING_ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

# Codes that are retried whatever fault the error claims. The last three are the KMS errors
# the model marks as server faults that a later attempt can get past; they are listed here so
# that an unmodeled KMSServiceException carrying one of these codes is retried too.
TRANSIENT_ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "ServiceUnavailable",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    }
)

TRANSIENT_STATUS_CODES: Final[frozenset[int]] = frozenset({500, 502, 503, 504})
_THROTTLING_STATUS: Final = 429

# KMS answers LimitExceededException when a resource quota is full (keys, aliases, grants per
# key, custom key stores): waiting does not free a slot, so a retry only repeats the failure.
# Request-rate quotas come back as ThrottlingException. See docs/retries.md.
NEVER_RETRIED_ERROR_CODES: Final[frozenset[str]] = frozenset({"LimitExceededException"})

# Operations that must not be sent a second time when the first request may have reached KMS
# (read timeout, connection closed after sending): a resend either repeats the effect or is
# refused because the first one already took effect. The list is generated from codegen/facts.py,
# which gives the reason for each (so does docs/retries.md).
NON_IDEMPOTENT_OPERATIONS: Final[frozenset[str]] = _facts.NON_IDEMPOTENT_OPERATIONS


# --------------------------------------------------------------------------- classification


def _is_client_fault(error: ServiceException) -> bool:
    # A 5xx status is the server's fault whatever the class says.
    status = error.http_status
    if status is not None and status >= 500:
        return False
    return error.fault == "client"


def is_throttling_error(error: BaseException) -> bool:
    """Whether ``error`` says the caller is sending too fast (a throttling code or HTTP 429)."""
    if isinstance(error, ServiceException):
        if error.code in NEVER_RETRIED_ERROR_CODES:
            return False
        return error.code in THROTTLING_ERROR_CODES or error.http_status == _THROTTLING_STATUS
    if isinstance(error, ResponseParseError):
        return error.http_status == _THROTTLING_STATUS
    return False


def is_transient_error(error: BaseException) -> bool:
    """Whether ``error`` is a failure that a later attempt may not meet.

    That is a transport failure, an HTTP 500/502/503/504 answer, a transient error code or a
    server-fault exception whose class is marked ``retryable``. This judges the error alone:
    whether a transport failure may be resent also depends on the operation, which
    :func:`classify` takes into account.
    """
    if isinstance(error, TransportError):
        return True
    if isinstance(error, ServiceException):
        if error.code in NEVER_RETRIED_ERROR_CODES:
            return False
        if error.code in TRANSIENT_ERROR_CODES:
            return True
        if _is_client_fault(error):
            return False
        return bool(error.retryable) or error.http_status in TRANSIENT_STATUS_CODES
    if isinstance(error, ResponseParseError):
        # An HTML error page from a load balancer: the status tells what happened.
        return error.http_status in TRANSIENT_STATUS_CODES
    return False


def classify(
    error: BaseException,
    operation: str,
    *,
    non_idempotent_operations: Collection[str] = NON_IDEMPOTENT_OPERATIONS,
) -> ErrorKind | None:
    """Say why ``error``, raised by an attempt at ``operation``, may be retried, or None.

    A transport failure is ``"timeout"`` when resending is safe: the request never left
    (``request_sent`` is false) or ``operation`` is not in ``non_idempotent_operations``.
    Client faults are never retried unless their code is a throttling or transient one, and
    anything that is not a service, transport or parse error (``ValueError``, a
    ``ParamValidationError``, ``KeyboardInterrupt``...) is never retried.
    """
    if isinstance(error, TransportError):
        if not error.request_sent or operation not in non_idempotent_operations:
            return "timeout"
        return None
    if is_throttling_error(error):
        return "throttling"
    if is_transient_error(error):
        return "transient"
    return None


def _retry_after(error: BaseException) -> float | None:
    """The wait, in seconds, that the service asked for in ``x-amz-retry-after`` (ms)."""
    headers: Mapping[str, str] | None = getattr(error, "headers", None)
    if not headers:
        return None
    raw = headers.get(_RETRY_AFTER_HEADER)
    if raw is None:
        raw = next((v for k, v in headers.items() if k.lower() == _RETRY_AFTER_HEADER), None)
    if raw is None:
        return None
    try:
        millis = int(str(raw).strip())
    except ValueError:
        return None
    return millis / 1000.0 if millis >= 0 else None


# --------------------------------------------------------------------------- validation


def _check_int(field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{field} must be an integer >= {minimum}; got {value!r}")
    return value


def _check_seconds(field: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(f"{field} must be a finite number of seconds >= 0; got {value!r}")
    return float(value)


def _check_positive(field: str, value: object, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 < value <= high
    ):
        bound = "" if math.isinf(high) else f" and <= {high:g}"
        raise ConfigurationError(f"{field} must be a finite number > 0{bound}; got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- quota


class RetryQuota:
    """Retry capacity shared by every operation of a client (and by anything given the object).

    Each retry takes ``retry_cost`` units (``timeout_retry_cost`` after a transport failure);
    when too few remain, the error is returned to the caller instead of being retried. A
    success gives back what its last retry took, or ``success_increment`` if it needed no
    retry, never above ``capacity``. A long outage therefore stops retry storms, and
    capacity comes back as calls succeed again. Thread-safe.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        retry_cost: int = 5,
        timeout_retry_cost: int = 10,
        success_increment: int = 1,
    ) -> None:
        import threading

        self._capacity = _check_int("capacity", capacity, 0)
        self._retry_cost = _check_int("retry_cost", retry_cost, 0)
        self._timeout_retry_cost = _check_int("timeout_retry_cost", timeout_retry_cost, 0)
        self._success_increment = _check_int("success_increment", success_increment, 0)
        self._available = self._capacity
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """The most units the quota can hold (also what it starts with)."""
        return self._capacity

    @property
    def available(self) -> int:
        """Units left now."""
        return self._available

    def cost_of(self, kind: ErrorKind) -> int:
        """Units a retry after an error of ``kind`` takes."""
        return self._timeout_retry_cost if kind == "timeout" else self._retry_cost

    def acquire(self, kind: ErrorKind) -> int | None:
        """Take the cost of one retry after ``kind``; the units taken, or None if too few."""
        cost = self.cost_of(kind)
        with self._lock:
            if cost > self._available:
                return None
            self._available -= cost
            return cost

    def release(self, amount: int) -> None:
        """Give ``amount`` units back, never above :attr:`capacity`."""
        if amount <= 0:
            return
        with self._lock:
            self._available = min(self._capacity, self._available + amount)

    def record_success(self, retry_cost: int | None) -> None:
        """A call succeeded; ``retry_cost`` is what its last retry took (None: no retry)."""
        self.release(self._success_increment if retry_cost is None else retry_cost)

    def __repr__(self) -> str:
        return f"RetryQuota(available={self._available}, capacity={self._capacity})"


# --------------------------------------------------------------------------- tokens


@attrs.frozen(slots=True, kw_only=True)
class RetryToken:
    """Permission for one attempt at ``operation``.

    ``attempt`` counts from 1; ``delay`` is how long to wait, in seconds, before sending it;
    ``reason`` is why the previous attempt is being retried (None for the first attempt).
    ``max_attempts``, when set, replaces the strategy's attempt count for this one call
    (``send(..., max_attempts=n)``); the built-in strategies carry it from token to token.
    """

    operation: str
    attempt: int = 1
    delay: float = 0.0
    reason: ErrorKind | None = None
    _quota_cost: int = 0
    max_attempts: int | None = None


@runtime_checkable
class RetryStrategy(Protocol):
    """What the pipeline needs from a retry strategy (see the module docstring)."""

    @property
    def max_attempts(self) -> int:
        """The most attempts one call makes, the first one included."""
        ...

    def acquire_initial_token(self, operation: str) -> RetryToken:
        """The token for the first attempt at ``operation``."""
        ...

    def refresh_token_for_retry(self, token: RetryToken, error: Exception) -> RetryToken | None:
        """The token for the next attempt after ``token``'s attempt raised ``error``, or None."""
        ...

    def record_success(self, token: RetryToken) -> None:
        """``token``'s attempt succeeded."""
        ...


# --------------------------------------------------------------------------- standard


class StandardRetryStrategy:
    """Retry throttling, transient and transport errors with capped exponential backoff.

    The wait before retry ``n`` (``n`` = 1 after the first attempt failed) is
    ``rng.random() * min(max_backoff, b * 2 ** (n - 1))`` ("full jitter"), where ``b`` is
    ``throttling_base`` after a throttling error and ``base`` otherwise. A longer wait asked
    by the service in ``x-amz-retry-after`` is honoured, up to 5 s more than the computed
    one and never above ``max_backoff``.
    """

    mode: ClassVar[RetryMode] = "standard"

    def __init__(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        *,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        base: float = DEFAULT_BASE,
        throttling_base: float = DEFAULT_THROTTLING_BASE,
        quota: RetryQuota | None = None,
        rng: random.Random | None = None,
        non_idempotent_operations: Collection[str] = NON_IDEMPOTENT_OPERATIONS,
    ) -> None:
        self._max_attempts = _check_int("max_attempts", max_attempts, 1)
        self._max_backoff = _check_seconds("max_backoff", max_backoff)
        self._base = _check_seconds("base", base)
        self._throttling_base = _check_seconds("throttling_base", throttling_base)
        if quota is not None and not isinstance(quota, RetryQuota):
            raise ConfigurationError(f"quota must be a RetryQuota or None; got {quota!r}")
        self._quota = quota if quota is not None else RetryQuota()
        self._rng = rng  # None: the module's shared source, made when a retry first waits
        self._non_idempotent = frozenset(non_idempotent_operations)

    @property
    def max_attempts(self) -> int:
        """The most attempts one call makes, the first one included."""
        return self._max_attempts

    @property
    def max_backoff(self) -> float:
        """The longest wait between two attempts, in seconds."""
        return self._max_backoff

    @property
    def quota(self) -> RetryQuota:
        """The retry quota; pass it to the strategies of related clients to share it."""
        return self._quota

    @property
    def non_idempotent_operations(self) -> frozenset[str]:
        """Operations not resent once their request may have reached the service."""
        return self._non_idempotent

    def classify(self, error: BaseException, operation: str) -> ErrorKind | None:
        """:func:`classify` with this strategy's set of non-idempotent operations."""
        return classify(error, operation, non_idempotent_operations=self._non_idempotent)

    def backoff(self, attempt: int, kind: ErrorKind, error: BaseException | None = None) -> float:
        """The wait, in seconds, before retrying after attempt number ``attempt`` failed."""
        base = self._throttling_base if kind == "throttling" else self._base
        # ldexp(b, e) is b * 2**e without overflowing for very large attempt numbers.
        ceiling = min(self._max_backoff, math.ldexp(base, min(max(attempt - 1, 0), 64)))
        rng = self._rng if self._rng is not None else _shared_rng()
        delay = rng.random() * ceiling
        if error is not None:
            asked = _retry_after(error)
            if asked is not None:
                delay = max(delay, min(asked, delay + _RETRY_AFTER_MAX_EXTRA))
        return min(delay, self._max_backoff)

    def acquire_initial_token(self, operation: str) -> RetryToken:
        """The token for the first attempt at ``operation`` (no wait)."""
        return RetryToken(operation=operation)

    def refresh_token_for_retry(self, token: RetryToken, error: BaseException) -> RetryToken | None:
        """The token for the next attempt, or None when ``error`` must reach the caller.

        None when the error is not retryable, ``max_attempts`` is reached or the retry
        quota is exhausted.
        """
        return self._next_token(token, error, self.classify(error, token.operation))

    def _next_token(
        self, token: RetryToken, error: BaseException, kind: ErrorKind | None
    ) -> RetryToken | None:
        limit = token.max_attempts
        if kind is None or token.attempt >= (self._max_attempts if limit is None else limit):
            return None
        cost = self._quota.acquire(kind)
        if cost is None:
            return None
        return RetryToken(
            operation=token.operation,
            attempt=token.attempt + 1,
            delay=self.backoff(token.attempt, kind, error),
            reason=kind,
            quota_cost=cost,
            max_attempts=limit,
        )

    def record_success(self, token: RetryToken) -> None:
        """Give retry capacity back: what the last retry took, or 1 if none was needed."""
        self._quota.record_success(token._quota_cost if token.attempt > 1 else None)

    def sibling(self) -> StandardRetryStrategy:
        """A strategy with the same settings, random source and retry quota."""
        return StandardRetryStrategy(
            self._max_attempts,
            max_backoff=self._max_backoff,
            base=self._base,
            throttling_base=self._throttling_base,
            quota=self._quota,
            rng=self._rng,
            non_idempotent_operations=self._non_idempotent,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_attempts={self._max_attempts}, "
            f"max_backoff={self._max_backoff}, quota={self._quota!r})"
        )


# --------------------------------------------------------------------------- adaptive


class ClientRateLimiter:
    """Client-side rate limiting: a token bucket whose rate follows CUBIC.

    The algorithm and constants are those of the AWS SDKs' adaptive mode. The limiter does
    nothing until the first throttling error. From then on every attempt takes one token
    from a bucket refilled at :attr:`fill_rate` tokens per second (at least
    ``min_fill_rate``). Each answer updates the rate: a throttling error cuts it to ``beta``
    times the measured sending rate; a success lets it grow back along the CUBIC curve
    ``scale_constant * (t - k) ** 3 + w_max``, where ``w_max`` is the rate at the last
    throttle and ``k`` the time the curve takes to climb back to it. The new rate never
    exceeds twice the measured sending rate.

    :meth:`acquire` never sleeps: it reserves a token and returns how long the caller must
    wait for it, so concurrent callers queue in order. Thread-safe.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        beta: float = 0.7,
        scale_constant: float = 0.4,
        smoothing: float = 0.8,
        min_fill_rate: float = 0.5,
        min_capacity: float = 1.0,
        time_bucket: float = 0.5,
    ) -> None:
        import threading

        for name, value, high in (
            ("beta", beta, 1.0),
            ("smoothing", smoothing, 1.0),
            ("scale_constant", scale_constant, math.inf),
            ("min_fill_rate", min_fill_rate, math.inf),
            ("min_capacity", min_capacity, math.inf),
            ("time_bucket", time_bucket, math.inf),
        ):
            _check_positive(name, value, high)
        if not callable(clock):
            raise ConfigurationError(f"clock must be a callable returning seconds; got {clock!r}")
        self._clock = clock
        self._beta = beta
        self._scale = scale_constant
        self._smoothing = smoothing
        self._min_fill_rate = min_fill_rate
        self._min_capacity = min_capacity
        self._bucket_scale = 1.0 / time_bucket
        self._lock = threading.Lock()
        now = clock()
        # CUBIC state.
        self._w_max = 0.0
        self._k = 0.0
        self._last_throttle = now
        # Measured sending rate, over time buckets of ``time_bucket`` seconds.
        self._measured_rate = 0.0
        self._last_rate_bucket = float(math.floor(now))
        self._count = 0
        # Token bucket.
        self._enabled = False
        self._capacity = 0.0
        self._last_refill = now
        self._fill_rate = 1.0
        self._max_capacity = 1.0
        self._set_max_rate(1.0, now)

    @property
    def enabled(self) -> bool:
        """Whether rate limiting is on (it turns on at the first throttling error)."""
        return self._enabled

    @property
    def fill_rate(self) -> float:
        """Tokens (attempts) per second allowed now."""
        return self._fill_rate

    @property
    def measured_rate(self) -> float:
        """The smoothed rate, in answers per second, at which the client has been sending."""
        return self._measured_rate

    def acquire(self) -> float:
        """Reserve one token; the seconds to wait before sending (0 when not limited)."""
        with self._lock:
            if not self._enabled:
                return 0.0
            self._refill(self._clock())
            self._capacity -= 1.0
            if self._capacity >= 0.0:
                return 0.0
            return -self._capacity / self._fill_rate

    def record_response(self, *, throttled: bool) -> None:
        """Update the allowed rate after an answer (``throttled``: it was a throttling error)."""
        with self._lock:
            now = self._clock()
            measured = self._measure(now)
            if throttled:
                rate = measured if not self._enabled else min(measured, self._fill_rate)
                self._w_max = rate
                self._k = (rate * (1.0 - self._beta) / self._scale) ** (1.0 / 3.0)
                self._last_throttle = now
                new_rate = rate * self._beta
                self._enabled = True
            else:
                new_rate = self._scale * (now - self._last_throttle - self._k) ** 3 + self._w_max
            self._set_max_rate(min(new_rate, 2.0 * measured), now)

    def _measure(self, now: float) -> float:
        bucket = math.floor(now * self._bucket_scale) / self._bucket_scale
        self._count += 1
        if bucket > self._last_rate_bucket:
            current = self._count / (bucket - self._last_rate_bucket)
            self._measured_rate = current * self._smoothing + self._measured_rate * (
                1.0 - self._smoothing
            )
            self._count = 0
            self._last_rate_bucket = bucket
        return self._measured_rate

    def _refill(self, now: float) -> None:
        elapsed = now - self._last_refill
        if elapsed > 0:
            self._capacity = min(self._max_capacity, self._capacity + elapsed * self._fill_rate)
            self._last_refill = now

    def _set_max_rate(self, rate: float, now: float) -> None:
        # Tokens earned at the old rate are credited before the rate changes.
        self._refill(now)
        self._fill_rate = max(rate, self._min_fill_rate)
        self._max_capacity = max(rate, self._min_capacity)
        self._capacity = min(self._capacity, self._max_capacity)

    def __repr__(self) -> str:
        return (
            f"ClientRateLimiter(enabled={self._enabled}, fill_rate={self._fill_rate:.3f}, "
            f"measured_rate={self._measured_rate:.3f})"
        )


def _is_answer(error: BaseException) -> bool:
    # Errors that mean a request went out (and maybe came back): they count as sends.
    return isinstance(error, (ServiceException, TransportError, ResponseParseError))


class AdaptiveRetryStrategy(StandardRetryStrategy):
    """The standard strategy plus client-side rate limiting (:class:`ClientRateLimiter`).

    A token's ``delay`` includes the wait the rate limiter asks for: the larger of the
    backoff and that wait, since the bucket refills while the backoff runs.
    """

    mode: ClassVar[RetryMode] = "adaptive"

    def __init__(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        *,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        base: float = DEFAULT_BASE,
        throttling_base: float = DEFAULT_THROTTLING_BASE,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        quota: RetryQuota | None = None,
        rate_limiter: ClientRateLimiter | None = None,
        non_idempotent_operations: Collection[str] = NON_IDEMPOTENT_OPERATIONS,
    ) -> None:
        super().__init__(
            max_attempts,
            max_backoff=max_backoff,
            base=base,
            throttling_base=throttling_base,
            quota=quota,
            rng=rng,
            non_idempotent_operations=non_idempotent_operations,
        )
        if not callable(clock):
            raise ConfigurationError(f"clock must be a callable returning seconds; got {clock!r}")
        self._clock = clock
        self._limiter = rate_limiter if rate_limiter is not None else ClientRateLimiter(clock)

    @property
    def rate_limiter(self) -> ClientRateLimiter:
        """The client-side rate limiter (one per strategy, so one per client and Region)."""
        return self._limiter

    def acquire_initial_token(self, operation: str) -> RetryToken:
        """The token for the first attempt, delayed if the rate limiter asks for it."""
        return RetryToken(operation=operation, delay=self._limiter.acquire())

    def refresh_token_for_retry(self, token: RetryToken, error: BaseException) -> RetryToken | None:
        """As in the standard strategy, after feeding the answer to the rate limiter."""
        kind = self.classify(error, token.operation)
        if _is_answer(error):
            self._limiter.record_response(throttled=is_throttling_error(error))
        nxt = self._next_token(token, error, kind)
        if nxt is None:
            return None
        wait = self._limiter.acquire()
        if wait > nxt.delay:
            nxt = attrs.evolve(nxt, delay=wait)
        return nxt

    def record_success(self, token: RetryToken) -> None:
        """Give retry capacity back and let the allowed rate grow."""
        super().record_success(token)
        self._limiter.record_response(throttled=False)

    def sibling(self) -> AdaptiveRetryStrategy:
        """Same settings, random source and retry quota; a rate limiter of its own."""
        return AdaptiveRetryStrategy(
            self._max_attempts,
            max_backoff=self._max_backoff,
            base=self._base,
            throttling_base=self._throttling_base,
            clock=self._clock,
            rng=self._rng,
            quota=self._quota,
            non_idempotent_operations=self._non_idempotent,
        )


# --------------------------------------------------------------------------- configuration


def _validate_mode(_inst: object, _attr: object, value: object) -> None:
    if value not in RETRY_MODES:
        raise ConfigurationError(
            f"retry mode must be one of {', '.join(map(repr, RETRY_MODES))}; got {value!r}"
        )


def _validate_max_attempts(_inst: object, _attr: object, value: object) -> None:
    _check_int("max_attempts", value, 1)


def _validate_max_backoff(_inst: object, _attr: object, value: object) -> None:
    _check_seconds("max_backoff", value)


@attrs.frozen(slots=True, kw_only=True)
class RetryConfig:
    """How a client retries: ``mode``, ``max_attempts`` (first attempt included), ``max_backoff``.

    Build one strategy per client with :meth:`build`; pass the same :class:`RetryQuota` to
    share retry capacity between related clients.
    """

    mode: RetryMode = attrs.field(default="standard", validator=_validate_mode)
    max_attempts: int = attrs.field(default=DEFAULT_MAX_ATTEMPTS, validator=_validate_max_attempts)
    max_backoff: float = attrs.field(default=DEFAULT_MAX_BACKOFF, validator=_validate_max_backoff)

    def build(
        self,
        quota: RetryQuota | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> StandardRetryStrategy:
        """A new strategy with these settings (a new :class:`RetryQuota` unless given)."""
        if self.mode == "adaptive":
            return AdaptiveRetryStrategy(
                self.max_attempts, max_backoff=self.max_backoff, clock=clock, rng=rng, quota=quota
            )
        return StandardRetryStrategy(
            self.max_attempts, max_backoff=self.max_backoff, rng=rng, quota=quota
        )


def _mode_from(value: str, what: str) -> RetryMode:
    name = value.strip().lower()
    if name == "legacy":  # botocore's old default; the closest mode we have
        return "standard"
    if name == "standard":
        return "standard"
    if name == "adaptive":
        return "adaptive"
    raise ConfigurationError(
        f"{what} {value!r} is not supported; expected one of "
        f"{', '.join(map(repr, RETRY_MODES))} ('legacy' is read as 'standard')"
    )


def resolve_retry(
    value: str | int | RetryConfig | RetryStrategy | None,
    *,
    mode_default: str,
    max_attempts_default: int,
    quota: RetryQuota | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> RetryStrategy:
    """Turn the client's ``retry`` argument into a strategy.

    None uses the defaults (resolved by the configuration from ``AWS_RETRY_MODE`` and
    ``AWS_MAX_ATTEMPTS``); a string is a mode name; an int is ``max_attempts``; a
    :class:`RetryConfig` is built; a strategy is used as it is. Mode names are
    case-insensitive and ``legacy`` is read as ``standard``. Bad values raise
    :class:`~kms_mrk.errors._base.ConfigurationError` naming the value and the allowed ones.
    """
    if isinstance(value, RetryConfig):
        return value.build(quota, clock=clock, rng=rng)
    if value is not None and not isinstance(value, (str, int)):
        if isinstance(value, RetryStrategy):
            return value
        raise ConfigurationError(
            "retry must be None, a mode name ('standard' or 'adaptive'), a maximum number of "
            f"attempts, a RetryConfig or a retry strategy; got {value!r}"
        )
    if not isinstance(mode_default, str):
        raise ConfigurationError(f"retry mode must be a string; got {mode_default!r}")
    mode = _mode_from(mode_default, "retry mode")
    max_attempts = _check_int("max_attempts", max_attempts_default, 1)
    if isinstance(value, str):
        mode = _mode_from(value, "retry mode")
    elif isinstance(value, int):
        max_attempts = _check_int("max_attempts", value, 1)
    return RetryConfig(mode=mode, max_attempts=max_attempts).build(quota, clock=clock, rng=rng)
