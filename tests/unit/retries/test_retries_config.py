"""RetryConfig and resolve_retry: how the client's retry argument becomes a strategy."""

from __future__ import annotations

import pytest

from kms_mrk.errors._base import ConfigurationError
from kms_mrk.retries import (
    AdaptiveRetryStrategy,
    RetryConfig,
    RetryQuota,
    RetryToken,
    StandardRetryStrategy,
    resolve_retry,
)


def test_defaults() -> None:
    config = RetryConfig()
    assert (config.mode, config.max_attempts, config.max_backoff) == ("standard", 3, 20.0)
    strategy = config.build()
    assert type(strategy) is StandardRetryStrategy
    assert (strategy.max_attempts, strategy.max_backoff) == (3, 20.0)


def test_build_adaptive_with_a_shared_quota_and_a_clock() -> None:
    quota = RetryQuota()
    now = [5.0]
    strategy = RetryConfig(mode="adaptive", max_attempts=6, max_backoff=2.5).build(
        quota, clock=lambda: now[0]
    )
    assert isinstance(strategy, AdaptiveRetryStrategy)
    assert strategy.quota is quota
    assert (strategy.max_attempts, strategy.max_backoff) == (6, 2.5)
    assert RetryConfig().build(quota).quota is quota


def test_config_is_frozen_and_keyword_only() -> None:
    config = RetryConfig(max_attempts=5)
    with pytest.raises(AttributeError):
        config.max_attempts = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryConfig("adaptive")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fast"}, r"retry mode must be one of 'standard', 'adaptive'; got 'fast'"),
        ({"mode": "Standard"}, r"got 'Standard'"),
        ({"max_attempts": 0}, r"max_attempts must be an integer >= 1; got 0"),
        ({"max_attempts": "3"}, r"max_attempts must be an integer >= 1; got '3'"),
        ({"max_attempts": False}, r"max_attempts must be an integer >= 1; got False"),
        ({"max_backoff": -0.5}, r"max_backoff must be a finite number of seconds >= 0"),
    ],
)
def test_config_validation_names_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "mode", "max_attempts"),
    [
        (None, "standard", 3),
        ("adaptive", "adaptive", 3),
        ("ADAPTIVE", "adaptive", 3),
        (" standard ", "standard", 3),
        ("legacy", "standard", 3),
        (7, "standard", 7),
        (1, "standard", 1),
        (RetryConfig(mode="adaptive", max_attempts=2), "adaptive", 2),
    ],
)
def test_resolve_retry(value: object, mode: str, max_attempts: int) -> None:
    strategy = resolve_retry(value, mode_default="standard", max_attempts_default=3)  # type: ignore[arg-type]
    assert isinstance(strategy, StandardRetryStrategy)
    assert strategy.mode == mode
    assert strategy.max_attempts == max_attempts


def test_resolve_retry_uses_the_resolved_defaults() -> None:
    strategy = resolve_retry(None, mode_default="adaptive", max_attempts_default=5)
    assert isinstance(strategy, AdaptiveRetryStrategy)
    assert strategy.max_attempts == 5
    strategy = resolve_retry(2, mode_default="adaptive", max_attempts_default=5)
    assert isinstance(strategy, AdaptiveRetryStrategy)
    assert strategy.max_attempts == 2


def test_resolve_retry_shares_the_quota() -> None:
    quota = RetryQuota()
    strategy = resolve_retry(None, mode_default="standard", max_attempts_default=3, quota=quota)
    assert isinstance(strategy, StandardRetryStrategy)
    assert strategy.quota is quota


def test_resolve_retry_passes_strategies_through() -> None:
    class NeverRetry:
        max_attempts = 1

        def acquire_initial_token(self, operation: str) -> RetryToken:
            return RetryToken(operation=operation)

        def refresh_token_for_retry(self, token: RetryToken, error: Exception) -> None:
            return None

        def record_success(self, token: RetryToken) -> None:
            pass

    custom = NeverRetry()
    assert resolve_retry(custom, mode_default="standard", max_attempts_default=3) is custom
    standard = StandardRetryStrategy()
    assert resolve_retry(standard, mode_default="adaptive", max_attempts_default=9) is standard


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("fast", {}, r"retry mode 'fast' is not supported; expected one of 'standard', 'adaptive'"),
        ("", {}, r"retry mode '' is not supported"),
        (0, {}, r"max_attempts must be an integer >= 1; got 0"),
        (True, {}, r"max_attempts must be an integer >= 1; got True"),
        (2.5, {}, r"retry must be None, a mode name .*; got 2.5"),
        (object(), {}, r"retry must be None"),
        (None, {"mode_default": "turbo"}, r"retry mode 'turbo' is not supported"),
        (None, {"mode_default": 3}, r"retry mode must be a string; got 3"),
        (None, {"max_attempts_default": 0}, r"max_attempts must be an integer >= 1; got 0"),
        ("standard", {"max_attempts_default": "x"}, r"max_attempts .* got 'x'"),
    ],
)
def test_resolve_retry_rejects_bad_values(
    value: object, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"mode_default": "standard", "max_attempts_default": 3}
    arguments.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        resolve_retry(value, **arguments)  # type: ignore[arg-type]
