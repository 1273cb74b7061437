"""Fault injection: seeded error rates, latency through an injected sleep, per-operation rules."""

from __future__ import annotations

from typing import Any

import pytest

from kms_mrk.errors import (
    ConfigurationError,
    KMSInternalException,
    KmsMrkError,
    KMSServiceException,
    ThrottlingException,
)
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS
from kms_mrk.models import ListKeysRequest
from tests.local._calls import TestClient, raw_call


def outcomes(client: TestClient, operation: str, count: int) -> list[str]:
    out = []
    for _ in range(count):
        try:
            client.call(operation)
            out.append("ok")
        except KMSServiceException as exc:
            out.append(exc.code)
    return out


def test_seeded_rates_are_reproducible_and_near_the_rate(kms: LocalKMS, east: TestClient) -> None:
    kms.faults = FaultInjector([FaultRule(rate=0.3)], seed=42)
    first = outcomes(east, "ListKeys", 400)
    kms.faults = FaultInjector([FaultRule(rate=0.3)], seed=42)
    assert outcomes(east, "ListKeys", 400) == first
    throttled = first.count("ThrottlingException")
    assert 80 <= throttled <= 160
    assert set(first) == {"ok", "ThrottlingException"}


def test_errors_carry_the_status_and_message_kms_uses(kms: LocalKMS) -> None:
    kms.faults = FaultInjector([FaultRule(operation="ListKeys", error="ThrottlingException")])
    status, body = raw_call(kms, "ListKeys", {})
    assert (status, body) == (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    kms.faults = FaultInjector([FaultRule(error="KMSInternalException")])
    status, body = raw_call(kms, "ListKeys", {})
    assert (status, body["__type"]) == (500, "KMSInternalException")
    kms.faults = FaultInjector([FaultRule(error="ServiceUnavailableException", message="down")])
    assert raw_call(kms, "ListKeys", {}) == (
        503,
        {"__type": "ServiceUnavailableException", "message": "down"},
    )
    kms.faults = FaultInjector([FaultRule(error="ThrottlingException", status=429)])
    assert raw_call(kms, "ListKeys", {})[0] == 429


def test_rules_apply_per_operation_and_times_caps_them(kms: LocalKMS, east: TestClient) -> None:
    kms.faults = FaultInjector(
        [FaultRule(operation="CreateKey", error="KMSInternalException", times=2)]
    )
    assert outcomes(east, "ListKeys", 3) == ["ok"] * 3
    assert outcomes(east, "CreateKey", 3) == ["KMSInternalException", "KMSInternalException", "ok"]
    assert kms.faults.fired == (2,)
    kms.faults = None
    assert outcomes(east, "CreateKey", 1) == ["ok"]


def test_latency_goes_through_the_injected_sleep(kms: LocalKMS, east: TestClient) -> None:
    slept: list[float] = []
    kms.faults = FaultInjector(
        [
            FaultRule(error=None, latency_seconds=0.25),
            FaultRule(operation="ListKeys", error=None, latency_seconds=0.5),
        ],
        sleep=slept.append,
    )
    east.call("CreateKey")
    east.call("ListKeys")
    assert slept == [0.25, 0.75]


def test_faults_reach_the_typed_entry_too(kms: LocalKMS) -> None:
    kms.faults = FaultInjector([FaultRule(error="ThrottlingException")])
    with pytest.raises(ThrottlingException):
        kms.handle("ListKeys", "us-east-1", ListKeysRequest())
    kms.faults = FaultInjector([FaultRule(error="KMSInternalException")])
    with pytest.raises(KMSInternalException):
        kms.handle("ListKeys", "us-east-1", ListKeysRequest())


def test_rule_parsing() -> None:
    assert FaultRule.parse("op=Encrypt,error=ThrottlingException,rate=0.25") == FaultRule(
        operation="Encrypt", error="ThrottlingException", rate=0.25
    )
    assert FaultRule.parse("op=*,error=none,latency=0.5,times=3") == FaultRule(
        operation=None, error=None, latency_seconds=0.5, times=3
    )
    assert FaultRule.parse("error=KMSInternalException,status=500,message=oops").status == 500
    for bad in (
        "rate",
        "rate=2",
        "op=Encrypt,colour=red",
        "latency=-1",
        "times=0",
        "status=200",
        "error=a b",
    ):
        with pytest.raises(ValueError, match="fault rule"):
            FaultRule.parse(bad)


def test_rules_validate_their_fields() -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultRule(rate=1.5)
    with pytest.raises(ConfigurationError, match="FaultRule"):
        FaultInjector(["op=Encrypt"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError):
        LocalKMS().faults = "rules"  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("make", "field", "hint"),
    [
        (lambda: FaultRule(operation="Encryptt"), "operation", "Encrypt"),
        (lambda: FaultRule(operation="encrypt"), "operation", "Encrypt"),
        (lambda: FaultRule(error="Throttling"), "error", "ThrottlingException"),
        (lambda: FaultRule(error="NoSuchErrorAnywhere"), "error", "error code"),
        (lambda: FaultRule(rate=1.5), "rate", "0 to 1"),
        (lambda: FaultRule(latency_seconds=-1), "latency_seconds", ">= 0"),
        (lambda: FaultRule(status=200), "status", "400 to 599"),
        (lambda: FaultRule(times=0), "times", "positive"),
        (lambda: FaultRule(message=5), "message", "string"),  # type: ignore[arg-type]
    ],
)
def test_bad_rules_are_configuration_errors_naming_the_field(
    make: Any, field: str, hint: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make()
    assert isinstance(info.value, KmsMrkError)
    assert f"FaultRule.{field}" in str(info.value)
    assert hint in str(info.value)


def test_rules_accept_every_kms_operation_and_the_injectable_errors() -> None:
    from kms_mrk.commands import OPERATIONS

    for operation in OPERATIONS:
        assert FaultRule(operation=operation).operation == operation
    for code in ("ThrottlingException", "KMSInternalException", "ServiceUnavailableException",
                 "DependencyTimeoutException", "LimitExceededException", "RequestExpired",
                 "InternalFailure", "ServiceUnavailable"):  # fmt: skip
        assert FaultRule(error=code).error == code


def test_parsed_rules_are_checked_too() -> None:
    with pytest.raises(ConfigurationError, match=r"fault rule 'op=encrypt'.*Encrypt"):
        FaultRule.parse("op=encrypt")
    with pytest.raises(ConfigurationError, match=r"FaultRule\.error"):
        FaultRule.parse("op=Decrypt,error=Throttled")
    with pytest.raises(ConfigurationError, match="FaultRule"):
        FaultInjector(["op=Encrypt"])  # type: ignore[list-item]
