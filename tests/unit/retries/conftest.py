"""Fixtures for the retry strategy tests: a fake clock and a driver that runs the pipeline loop."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from kms_mrk.retries import RetryStrategy


class FakeClock:
    """A monotonic clock that only moves when told to; usable as the pipeline's sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.now += seconds


class FixedRandom(random.Random):
    """A random source whose random() always returns ``value`` (pins the jitter)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@dataclass
class CallResult:
    attempts: int = 0
    delays: list[float] = field(default_factory=list)
    error: BaseException | None = None
    response: object = None


def drive(
    strategy: RetryStrategy,
    operation: str,
    outcomes: Sequence[BaseException | object],
    sleep: Callable[[float], None] = lambda _s: None,
    on_attempt: Callable[[], None] = lambda: None,
) -> CallResult:
    """Run the pipeline's retry loop; attempt ``n`` raises/returns ``outcomes[n-1]``.

    Attempts past the end of ``outcomes`` succeed with "ok".
    """
    result = CallResult()
    token = strategy.acquire_initial_token(operation)
    while True:
        result.delays.append(token.delay)
        sleep(token.delay)
        result.attempts += 1
        assert token.attempt == result.attempts
        on_attempt()
        outcome = outcomes[result.attempts - 1] if result.attempts <= len(outcomes) else "ok"
        if isinstance(outcome, BaseException):
            next_token = strategy.refresh_token_for_retry(token, outcome)  # type: ignore[arg-type]
            if next_token is None:
                result.error = outcome
                return result
            token = next_token
            continue
        strategy.record_success(token)
        result.response = outcome
        return result


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fixed_random() -> Callable[[float], FixedRandom]:
    return FixedRandom


@pytest.fixture
def run_call() -> Callable[..., CallResult]:
    return drive
