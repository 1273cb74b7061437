"""Property tests: bounds that hold for every sequence of errors, and a quota state machine."""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from kms_mrk.errors._base import (
    ConnectError,
    KMSServiceException,
    ReadTimeoutError,
    ResponseParseError,
)
from kms_mrk.retries import (
    AdaptiveRetryStrategy,
    RetryQuota,
    RetryToken,
    StandardRetryStrategy,
    classify,
)

HOST = "kms.eu-west-1.amazonaws.com"

ERRORS: dict[str, Callable[[], BaseException]] = {
    "throttle": lambda: KMSServiceException("slow", code="ThrottlingException", http_status=400),
    "throttle-429": lambda: KMSServiceException("slow", code="Unknown", http_status=429),
    "internal": lambda: KMSServiceException(
        "oops", code="KMSInternalException", http_status=500, fault="server"
    ),
    "unavailable": lambda: KMSServiceException(
        "down", code="ServiceUnavailable", http_status=503, fault="server"
    ),
    "retry-after": lambda: KMSServiceException(
        "slow", code="Throttling", http_status=400, headers={"x-amz-retry-after": "30000"}
    ),
    "not-found": lambda: KMSServiceException("gone", code="NotFoundException", http_status=400),
    "limit": lambda: KMSServiceException("full", code="LimitExceededException", http_status=400),
    "connect": lambda: ConnectError(HOST),
    "read-timeout": lambda: ReadTimeoutError(HOST),
    "html-502": lambda: ResponseParseError("html", http_status=502, body=b"<html>"),
    "bug": lambda: ValueError("bug"),
}
OPERATIONS = ["Encrypt", "Decrypt", "DescribeKey", "CreateKey", "ReplicateKey", "CreateGrant"]

outcomes = st.lists(st.sampled_from([*ERRORS, "ok"]), max_size=12)
settings_ = st.fixed_dictionaries(
    {
        "max_attempts": st.integers(min_value=1, max_value=8),
        "max_backoff": st.floats(min_value=0.0, max_value=30.0, allow_nan=False),
        "capacity": st.integers(min_value=0, max_value=60),
        "seed": st.integers(min_value=0, max_value=2**32),
        "adaptive": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(config=settings_, names=st.lists(outcomes, min_size=1, max_size=5), data=st.data())
def test_delays_and_attempts_stay_within_bounds(
    config: dict[str, object], names: list[list[str]], data: st.DataObject
) -> None:
    now = [1000.0]
    quota = RetryQuota(capacity=config["capacity"])  # type: ignore[arg-type]
    common = {
        "max_backoff": config["max_backoff"],
        "quota": quota,
        "rng": random.Random(config["seed"]),  # type: ignore[arg-type]
    }
    if config["adaptive"]:
        strategy: StandardRetryStrategy = AdaptiveRetryStrategy(
            config["max_attempts"],  # type: ignore[arg-type]
            clock=lambda: now[0],
            **common,  # type: ignore[arg-type]
        )
        # the bucket refills at 0.5 token/s at worst: one token is at most 2 s away
        limit = max(strategy.max_backoff, 2.0)
    else:
        strategy = StandardRetryStrategy(config["max_attempts"], **common)  # type: ignore[arg-type]
        limit = strategy.max_backoff

    for call in names:  # several calls in a row share the quota and the limiter
        operation = data.draw(st.sampled_from(OPERATIONS))
        token = strategy.acquire_initial_token(operation)
        attempts = 0
        while True:
            assert 0.0 <= token.delay <= limit
            if not config["adaptive"] and token.attempt == 1:
                assert token.delay == 0.0
            now[0] += token.delay
            attempts += 1
            assert token.attempt == attempts <= strategy.max_attempts
            name = call[attempts - 1] if attempts <= len(call) else "ok"
            if name == "ok":
                strategy.record_success(token)
                break
            error = ERRORS[name]()
            before = quota.available
            retry = strategy.refresh_token_for_retry(token, error)
            kind = classify(error, operation)
            if retry is None:
                # stopped: not retryable, out of attempts, or out of quota
                assert (
                    kind is None
                    or attempts == strategy.max_attempts
                    or before < quota.cost_of(kind)
                )
                assert quota.available == before
                break
            assert kind is not None
            assert retry.reason == kind
            assert retry.operation == operation
            assert quota.available == before - quota.cost_of(kind)
            token = retry
        assert 0 <= quota.available <= quota.capacity


class QuotaMachine(RuleBasedStateMachine):
    """Interleaved calls against one strategy; a simple model predicts the quota."""

    tokens = Bundle("tokens")

    def __init__(self) -> None:
        super().__init__()
        self.capacity = 40
        self.max_attempts = 4
        self.strategy = StandardRetryStrategy(
            self.max_attempts, quota=RetryQuota(capacity=self.capacity), rng=random.Random(0)
        )
        self.model = self.capacity
        self.costs: dict[int, int] = {}  # id of a retry token -> units it took

    @rule(target=tokens, operation=st.sampled_from(OPERATIONS))
    def start(self, operation: str) -> RetryToken:
        token = self.strategy.acquire_initial_token(operation)
        assert token.attempt == 1
        return token

    @rule(target=tokens, token=consumes(tokens), name=st.sampled_from(sorted(ERRORS)))
    def fail(self, token: RetryToken, name: str) -> RetryToken:
        error = ERRORS[name]()
        self.costs.pop(id(token), None)
        retry = self.strategy.refresh_token_for_retry(token, error)
        kind = classify(error, token.operation)
        cost = None if kind is None else self.strategy.quota.cost_of(kind)
        if cost is None or token.attempt >= self.max_attempts or cost > self.model:
            assert retry is None
            return self.strategy.acquire_initial_token(token.operation)  # a new call
        assert retry is not None
        assert retry.attempt == token.attempt + 1
        assert 0.0 <= retry.delay <= self.strategy.max_backoff
        self.model -= cost
        self.costs[id(retry)] = cost
        return retry

    @rule(token=consumes(tokens))
    def succeed(self, token: RetryToken) -> None:
        self.strategy.record_success(token)
        refund = self.costs.pop(id(token)) if token.attempt > 1 else 1
        self.model = min(self.capacity, self.model + refund)

    @invariant()
    def quota_matches_the_model(self) -> None:
        assert self.strategy.quota.available == self.model
        assert 0 <= self.model <= self.capacity


QuotaMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
test_quota_state_machine = QuotaMachine.TestCase
