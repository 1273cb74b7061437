"""Which errors are retried, and why: the classification table."""

from __future__ import annotations

from typing import ClassVar

import pytest

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialsError,
    Fault,
    KMSServiceException,
    ParamValidationError,
    ReadTimeoutError,
    ResponseParseError,
    TransportError,
    ValidationProblem,
)
from kms_mrk.retries import (
    NON_IDEMPOTENT_OPERATIONS,
    StandardRetryStrategy,
    classify,
    is_throttling_error,
    is_transient_error,
)

HOST = "kms.us-east-1.amazonaws.com"


# Doubles shaped like the generated KMS exceptions (code, fault and retryable from the model).
class KMSInternalException(KMSServiceException):
    code: ClassVar[str] = "KMSInternalException"  # type: ignore[misc]
    fault: ClassVar[Fault] = "server"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


class DependencyTimeoutException(KMSServiceException):
    code: ClassVar[str] = "DependencyTimeoutException"  # type: ignore[misc]
    fault: ClassVar[Fault] = "server"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


class KeyUnavailableException(KMSServiceException):
    code: ClassVar[str] = "KeyUnavailableException"  # type: ignore[misc]
    fault: ClassVar[Fault] = "server"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


class LimitExceededException(KMSServiceException):
    code: ClassVar[str] = "LimitExceededException"  # type: ignore[misc]


class NotFoundException(KMSServiceException):
    code: ClassVar[str] = "NotFoundException"  # type: ignore[misc]


class KMSInvalidStateException(KMSServiceException):
    code: ClassVar[str] = "KMSInvalidStateException"  # type: ignore[misc]


class ClientRetryable(KMSServiceException):
    """A client fault wrongly marked retryable: client faults still are not retried."""

    code: ClassVar[str] = "SomeClientError"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


def service(code: str, status: int, fault: Fault | None = None) -> KMSServiceException:
    """An unmodeled error as the protocol layer would build it."""
    if fault is None:
        fault = "server" if status >= 500 else "client"
    return KMSServiceException("boom", code=code, http_status=status, fault=fault)


THROTTLING_CODES = [
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
]

# (error, operation, expected classify result)
TABLE: list[tuple[BaseException, str, str | None]] = [
    *[(service(code, 400), "Decrypt", "throttling") for code in THROTTLING_CODES],
    (service("ThrottlingException", 400), "CreateKey", "throttling"),
    (service("SomethingElse", 429), "Encrypt", "throttling"),
    (service("", 429), "Encrypt", "throttling"),
    # transient: status codes, codes, modeled retryable server errors
    (service("InternalFailure", 500), "Encrypt", "transient"),
    (service("BadGateway", 502), "Encrypt", "transient"),
    (service("ServiceUnavailable", 503), "Encrypt", "transient"),
    (service("GatewayTimeout", 504), "CreateKey", "transient"),
    (service("RequestTimeout", 400), "Encrypt", "transient"),
    (service("RequestTimeoutException", 408), "Encrypt", "transient"),
    (service("InternalError", 500), "Encrypt", "transient"),
    (KMSInternalException("x", http_status=500), "CreateKey", "transient"),
    (DependencyTimeoutException("x", http_status=503), "Decrypt", "transient"),
    (KeyUnavailableException("x", http_status=500), "Sign", "transient"),
    # the KMS codes are retried even when no generated class caught them
    (service("KMSInternalException", 500), "Encrypt", "transient"),
    (service("DependencyTimeoutException", 503), "Encrypt", "transient"),
    (service("KeyUnavailableException", 500), "Encrypt", "transient"),
    # a 5xx is the server's fault whatever the object claims
    (service("Odd", 503, fault="client"), "Encrypt", "transient"),
    # not retried: other server answers, client faults, LimitExceededException
    (service("NotImplemented", 501), "Encrypt", None),
    (service("HTTPVersionNotSupported", 505), "Encrypt", None),
    (service("ValidationException", 400), "Encrypt", None),
    (service("AccessDeniedException", 400), "Encrypt", None),
    (service("UnrecognizedClientException", 400), "Encrypt", None),
    (NotFoundException("x", http_status=400), "DescribeKey", None),
    (KMSInvalidStateException("x", http_status=400), "UpdatePrimaryRegion", None),
    (ClientRetryable("x", http_status=400), "Encrypt", None),
    (LimitExceededException("x", http_status=400), "CreateKey", None),
    (service("LimitExceededException", 400), "CreateAlias", None),
    (service("LimitExceededException", 429), "CreateGrant", None),
    # transport failures: "timeout" when a resend is safe
    (ConnectError(HOST), "CreateKey", "timeout"),
    (ConnectTimeoutError(HOST), "CreateKey", "timeout"),
    (ConnectTimeoutError(HOST), "Decrypt", "timeout"),
    (ReadTimeoutError(HOST), "Decrypt", "timeout"),
    (ConnectionClosedError(HOST), "GenerateDataKeyPair", "timeout"),
    (TransportError(HOST, "reset"), "Encrypt", "timeout"),
    (ReadTimeoutError(HOST), "CreateKey", None),
    (ConnectionClosedError(HOST), "ReplicateKey", None),
    (TransportError(HOST, "reset"), "UpdatePrimaryRegion", None),
    # parse failures: only when the status says the server failed or throttled
    (ResponseParseError("not JSON", http_status=200, body=b"<html>"), "Encrypt", None),
    (ResponseParseError("not JSON", http_status=502, body=b"<html>"), "Encrypt", "transient"),
    (ResponseParseError("not JSON", http_status=429, body=b"<html>"), "Encrypt", "throttling"),
    (ResponseParseError("not JSON", http_status=None), "Encrypt", None),
    # never retried: everything else
    (ValueError("bad"), "Encrypt", None),
    (RuntimeError("bug"), "Encrypt", None),
    (KeyboardInterrupt(), "Encrypt", None),
    (ParamValidationError("Encrypt", [ValidationProblem("KeyId", "required")]), "Encrypt", None),
    (ConfigurationError("no region"), "Encrypt", None),
    (CredentialsError("expired"), "Encrypt", None),
    (OSError("disk"), "Encrypt", None),
]


@pytest.mark.parametrize(
    ("error", "operation", "expected"),
    TABLE,
    ids=[f"{type(e).__name__}-{getattr(e, 'code', '')}-{op}" for e, op, _ in TABLE],
)
def test_classification_table(error: BaseException, operation: str, expected: str | None) -> None:
    assert classify(error, operation) == expected
    assert is_throttling_error(error) == (expected == "throttling")
    if expected == "transient":
        assert is_transient_error(error)
    if expected is None and not isinstance(error, TransportError):
        assert not is_transient_error(error)


@pytest.mark.parametrize("code", THROTTLING_CODES)
def test_throttling_codes_are_throttling_but_not_limit_exceeded(code: str) -> None:
    assert is_throttling_error(service(code, 400))
    assert not is_throttling_error(service("LimitExceededException", 400))


def test_limit_exceeded_is_a_resource_quota_and_is_never_retried() -> None:
    # botocore treats LimitExceededException as throttling; KMS uses it for resource quotas
    # (keys, aliases, grants per key), which a retry cannot free. docs/retries.md.
    error = LimitExceededException("too many aliases", http_status=400)
    strategy = StandardRetryStrategy(5)
    token = strategy.acquire_initial_token("CreateAlias")
    assert strategy.refresh_token_for_retry(token, error) is None
    assert strategy.quota.available == strategy.quota.capacity
    assert not is_throttling_error(error)
    assert not is_transient_error(error)


def test_transport_errors_are_transient_by_nature_whatever_the_operation() -> None:
    # is_transient_error judges the error; classify adds the operation's idempotency.
    error = ReadTimeoutError(HOST)
    assert is_transient_error(error)
    assert classify(error, "CreateKey") is None
    assert classify(error, "CreateKey", non_idempotent_operations=()) == "timeout"
    assert classify(error, "Encrypt", non_idempotent_operations={"Encrypt"}) is None


def test_non_idempotent_set_covers_the_kms_operations_with_side_effects() -> None:
    for operation in ("CreateKey", "CreateGrant", "ReplicateKey", "UpdatePrimaryRegion"):
        assert operation in NON_IDEMPOTENT_OPERATIONS
    # pure reads and cryptographic operations are always safe to resend
    for operation in (
        "Encrypt",
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "DescribeKey",
        "ListKeys",
        "Sign",
        "Verify",
        "GenerateRandom",
        "PutKeyPolicy",
        "TagResource",
        "EnableKey",
        "DisableKey",
        "UpdateAlias",
    ):
        assert operation not in NON_IDEMPOTENT_OPERATIONS


def test_non_idempotent_names_are_real_kms_operations() -> None:
    import gzip
    import json
    from pathlib import Path

    import botocore

    model = Path(botocore.__file__).parent / "data/kms/2014-11-01/service-2.json.gz"
    operations = set(json.loads(gzip.decompress(model.read_bytes()))["operations"])
    assert operations >= NON_IDEMPOTENT_OPERATIONS


def test_generated_kms_exceptions_are_classified_as_the_model_says() -> None:
    generated = pytest.importorskip("kms_mrk.errors._generated")
    classes = [
        obj
        for obj in vars(generated).values()
        if isinstance(obj, type)
        and issubclass(obj, KMSServiceException)
        and obj is not KMSServiceException
    ]
    assert len(classes) >= 40
    retried = {"KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"}
    for cls in classes:
        status = 500 if cls.fault == "server" else 400
        error = cls("x", http_status=status)
        expected = "transient" if cls.code in retried else None
        assert classify(error, "Encrypt") == expected, cls.__name__
