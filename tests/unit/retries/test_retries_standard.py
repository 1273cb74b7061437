"""The standard strategy: backoff, attempts, the retry quota and what is never retried."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    KMSServiceException,
    ParamValidationError,
    ReadTimeoutError,
    ResponseParseError,
    ValidationProblem,
)
from kms_mrk.retries import (
    RetryQuota,
    RetryStrategy,
    RetryToken,
    StandardRetryStrategy,
)

HOST = "kms.us-east-1.amazonaws.com"


def throttle(headers: dict[str, str] | None = None) -> KMSServiceException:
    return KMSServiceException(
        "Rate exceeded", code="ThrottlingException", http_status=400, headers=headers
    )


def internal() -> KMSServiceException:
    return KMSServiceException("oops", code="InternalFailure", http_status=500, fault="server")


def not_found() -> KMSServiceException:
    return KMSServiceException("no such key", code="NotFoundException", http_status=400)


def test_is_a_retry_strategy_with_defaults() -> None:
    strategy = StandardRetryStrategy()
    assert isinstance(strategy, RetryStrategy)
    assert strategy.max_attempts == 3
    assert strategy.max_backoff == 20.0
    assert strategy.quota.capacity == 500
    token = strategy.acquire_initial_token("Encrypt")
    assert token == RetryToken(operation="Encrypt", attempt=1, delay=0.0)
    assert token.reason is None


def test_retry_token_is_frozen() -> None:
    token = RetryToken(operation="Encrypt")
    with pytest.raises(AttributeError):
        token.delay = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("error", "kind", "base"),
    [
        (throttle(), "throttling", 1.0),
        (internal(), "transient", 0.05),
        (ConnectError(HOST), "timeout", 0.05),
    ],
)
def test_backoff_is_full_jitter_over_a_doubling_ceiling(
    error: BaseException, kind: str, base: float, fixed_random: Any
) -> None:
    strategy = StandardRetryStrategy(8, rng=fixed_random(0.5))
    token: RetryToken | None = strategy.acquire_initial_token("Decrypt")
    for attempt in range(1, 8):
        assert token is not None
        token = strategy.refresh_token_for_retry(token, error)
        assert token is not None
        assert token.attempt == attempt + 1
        assert token.reason == kind
        assert token.operation == "Decrypt"
        expected = 0.5 * min(20.0, base * 2 ** (attempt - 1))
        assert token.delay == pytest.approx(expected)


@pytest.mark.parametrize("attempt", range(1, 10))
def test_backoff_bounds_per_attempt_with_a_seeded_rng(attempt: int) -> None:
    strategy = StandardRetryStrategy(rng=random.Random(attempt))
    ceiling = min(20.0, 1.0 * 2 ** (attempt - 1))
    delays = [strategy.backoff(attempt, "throttling") for _ in range(400)]
    assert all(0.0 <= d <= ceiling for d in delays)
    # full jitter spreads over the whole range, not just its upper half
    assert min(delays) < 0.1 * ceiling
    assert max(delays) > 0.9 * ceiling


def test_backoff_is_capped_at_max_backoff(fixed_random: Any) -> None:
    strategy = StandardRetryStrategy(max_backoff=3.0, rng=fixed_random(0.999))
    assert strategy.backoff(1, "throttling") == pytest.approx(0.999)
    assert strategy.backoff(3, "throttling") == pytest.approx(0.999 * 3.0)
    assert strategy.backoff(40, "throttling") == pytest.approx(0.999 * 3.0)
    # huge attempt numbers do not overflow
    assert strategy.backoff(10**6, "transient") == pytest.approx(0.999 * 3.0)
    assert math.isfinite(StandardRetryStrategy(max_backoff=1e308).backoff(10**6, "timeout"))


def test_custom_bases(fixed_random: Any) -> None:
    strategy = StandardRetryStrategy(base=0.1, throttling_base=0.5, rng=fixed_random(1.0))
    assert strategy.backoff(2, "transient") == pytest.approx(0.2)
    assert strategy.backoff(2, "throttling") == pytest.approx(1.0)
    zero = StandardRetryStrategy(base=0, throttling_base=0, rng=fixed_random(1.0))
    assert zero.backoff(5, "throttling") == 0.0


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
def test_max_attempts_is_respected(max_attempts: int, run_call: Any) -> None:
    strategy = StandardRetryStrategy(max_attempts)
    errors = [throttle() for _ in range(10)]
    result = run_call(strategy, "Encrypt", errors)
    assert result.attempts == max_attempts
    assert result.error is errors[max_attempts - 1]
    assert result.delays[0] == 0.0


def test_retries_until_success(run_call: Any, fixed_random: Any) -> None:
    strategy = StandardRetryStrategy(rng=fixed_random(0.5))
    result = run_call(strategy, "Decrypt", [throttle(), internal()])
    assert result.attempts == 3
    assert result.error is None
    assert result.response == "ok"
    assert result.delays == pytest.approx([0.0, 0.5, 0.05])


@pytest.mark.parametrize(
    "error",
    [
        not_found(),
        KMSServiceException("bad input", code="ValidationException", http_status=400),
        KMSServiceException("denied", code="AccessDeniedException", http_status=400),
        KMSServiceException("quota", code="LimitExceededException", http_status=400),
        KMSServiceException("odd", code="NotImplemented", http_status=501, fault="server"),
        ParamValidationError("Encrypt", [ValidationProblem("KeyId", "is required")]),
        ResponseParseError("truncated JSON", http_status=200, body=b"{"),
        ValueError("bad"),
        KeyboardInterrupt(),
    ],
    ids=lambda e: getattr(e, "code", type(e).__name__),
)
def test_never_retried_and_no_quota_spent(error: BaseException, run_call: Any) -> None:
    strategy = StandardRetryStrategy(5)
    result = run_call(strategy, "Encrypt", [error])
    assert result.attempts == 1
    assert result.error is error
    assert strategy.quota.available == 500


def test_non_idempotent_operation_not_resent_after_the_request_went_out(run_call: Any) -> None:
    strategy = StandardRetryStrategy(5)
    sent = ReadTimeoutError(HOST)
    assert run_call(strategy, "CreateKey", [sent]).attempts == 1
    assert run_call(strategy, "UpdatePrimaryRegion", [sent]).attempts == 1
    # the connection never opened: safe for every operation
    assert run_call(strategy, "CreateKey", [ConnectError(HOST), ConnectError(HOST)]).attempts == 3
    # idempotent operations are resent after a read timeout
    assert run_call(strategy, "DescribeKey", [sent, sent]).attempts == 3


def test_non_idempotent_set_can_be_replaced(run_call: Any) -> None:
    strategy = StandardRetryStrategy(non_idempotent_operations={"Encrypt"})
    assert strategy.non_idempotent_operations == frozenset({"Encrypt"})
    assert run_call(strategy, "Encrypt", [ReadTimeoutError(HOST)]).attempts == 1
    assert run_call(strategy, "CreateKey", [ReadTimeoutError(HOST)]).attempts == 2
    assert strategy.sibling().non_idempotent_operations == frozenset({"Encrypt"})


# ----------------------------------------------------------------------------- quota


def test_quota_costs_and_refunds() -> None:
    quota = RetryQuota()
    strategy = StandardRetryStrategy(5, quota=quota)
    token: RetryToken | None = strategy.acquire_initial_token("Encrypt")
    assert token is not None
    token = strategy.refresh_token_for_retry(token, throttle())
    assert token is not None
    assert quota.available == 495
    token = strategy.refresh_token_for_retry(token, ConnectError(HOST))
    assert token is not None
    assert quota.available == 485  # transport failures cost 10
    strategy.record_success(token)
    assert quota.available == 495  # a success refunds what its last retry took
    first_try = strategy.acquire_initial_token("Encrypt")
    strategy.record_success(first_try)
    assert quota.available == 496  # a first-attempt success adds 1
    for _ in range(10):
        strategy.record_success(first_try)
    assert quota.available == 500  # never above the capacity


def test_quota_exhaustion_stops_retries(run_call: Any) -> None:
    quota = RetryQuota(capacity=12)
    strategy = StandardRetryStrategy(10, quota=quota)
    result = run_call(strategy, "Encrypt", [throttle()] * 10)
    assert result.attempts == 3  # two retries of 5 units each; 2 units left
    assert quota.available == 2
    # a timeout retry costs more than what is left
    assert run_call(strategy, "Encrypt", [ConnectError(HOST)]).attempts == 1
    assert quota.available == 2
    # first-attempt successes refill it, one unit each
    for _ in range(3):
        run_call(strategy, "Encrypt", [])
    assert quota.available == 5
    result = run_call(strategy, "Encrypt", [throttle()])
    assert result.attempts == 2
    assert result.error is None
    assert quota.available == 5  # took 5, refunded 5


def test_quota_is_shared_by_strategies_built_on_it(run_call: Any) -> None:
    quota = RetryQuota(capacity=10)
    east = StandardRetryStrategy(quota=quota)
    west = east.sibling()
    assert west.quota is quota
    assert run_call(east, "Encrypt", [throttle(), throttle()]).attempts == 3
    assert quota.available == 5  # 10 taken, 5 refunded by the success
    assert run_call(west, "Encrypt", [throttle()] * 3).attempts == 2
    assert quota.available == 0
    assert run_call(east, "Encrypt", [throttle()]).attempts == 1


def test_quota_validation() -> None:
    with pytest.raises(ConfigurationError, match="capacity"):
        RetryQuota(capacity=-1)
    with pytest.raises(ConfigurationError, match="retry_cost"):
        RetryQuota(retry_cost=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout_retry_cost"):
        RetryQuota(timeout_retry_cost=-3)
    with pytest.raises(ConfigurationError, match="quota must be a RetryQuota"):
        StandardRetryStrategy(quota=500)  # type: ignore[arg-type]
    assert repr(RetryQuota(capacity=7)) == "RetryQuota(available=7, capacity=7)"


# ----------------------------------------------------------------------------- retry-after


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1500", 1.5),  # honoured when longer than the backoff
        ("100", 0.5),  # never shortens it
        ("60000", 5.5),  # at most 5 s more than the backoff
        ("-5", 0.5),  # ignored when malformed
        ("soon", 0.5),
    ],
)
def test_retry_after_header(header: str, expected: float, fixed_random: Any) -> None:
    strategy = StandardRetryStrategy(rng=fixed_random(0.5))
    token = strategy.acquire_initial_token("Encrypt")
    retry = strategy.refresh_token_for_retry(token, throttle({"X-Amz-Retry-After": header}))
    assert retry is not None
    assert retry.delay == pytest.approx(expected)


def test_retry_after_never_exceeds_max_backoff(fixed_random: Any) -> None:
    strategy = StandardRetryStrategy(max_backoff=2.0, rng=fixed_random(0.5))
    token = strategy.acquire_initial_token("Encrypt")
    retry = strategy.refresh_token_for_retry(token, throttle({"x-amz-retry-after": "9000"}))
    assert retry is not None
    assert retry.delay == 2.0


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"max_attempts": "3"}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_attempts": 2.0}, "max_attempts"),
        ({"max_backoff": -1}, "max_backoff"),
        ({"max_backoff": math.nan}, "max_backoff"),
        ({"max_backoff": math.inf}, "max_backoff"),
        ({"base": -0.1}, "base"),
        ({"throttling_base": "1"}, "throttling_base"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{field} must be") as info:
        StandardRetryStrategy(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_repr_and_sibling_keep_settings() -> None:
    strategy = StandardRetryStrategy(4, max_backoff=7.0)
    sibling = strategy.sibling()
    assert (sibling.max_attempts, sibling.max_backoff) == (4, 7.0)
    assert sibling is not strategy
    assert "max_attempts=4" in repr(strategy)
