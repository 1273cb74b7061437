"""What the local KMS answers to bad requests: always a JSON error as real KMS sends it."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kms_mrk.errors import ConnectError, UnknownOperationException, UnsupportedOperationException
from kms_mrk.local import LocalKMS, _handlers
from kms_mrk.models import DescribeKeyRequest, ListKeysRequest
from kms_mrk.transport import HttpRequest
from tests.local._calls import raw_call


def error(status_and_body: tuple[int, dict[str, Any]]) -> tuple[int, str, str | None]:
    status, body = status_and_body
    return status, body["__type"], body.get("message")


def test_unknown_target_is_unknown_operation(kms: LocalKMS) -> None:
    status, code, _ = error(raw_call(kms, "Nope", {}))
    assert (status, code) == (400, "UnknownOperationException")
    status, code, _ = error(raw_call(kms, "DescribeKey", {}, target="Foo.DescribeKey"))
    assert (status, code) == (400, "UnknownOperationException")


def test_model_operations_not_implemented_are_unsupported(
    kms: LocalKMS, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every operation of the model may be served: take one away to see the answer.
    monkeypatch.delitem(_handlers.HANDLERS, "CreateGrant")
    status, code, message = error(raw_call(kms, "CreateGrant", {"KeyId": "x"}))
    assert (status, code) == (400, "UnsupportedOperationException")
    assert message == "CreateGrant is not implemented by the kms-mrk local KMS"


def test_get_requests_get_a_json_error(kms: LocalKMS) -> None:
    response = kms.send(HttpRequest("GET", "http://localhost:4566/"))
    assert response.status == 400
    assert response.header("content-type") == "application/x-amz-json-1.1"
    assert b"UnknownOperationException" in response.body


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"null", b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object_are_serialization_errors(
    kms: LocalKMS, body: bytes
) -> None:
    status, code, _ = error(raw_call(kms, "DescribeKey", body))
    assert (status, code) == (400, "SerializationException")


def test_members_of_the_wrong_type_are_serialization_errors(kms: LocalKMS) -> None:
    status, code, message = error(raw_call(kms, "DescribeKey", {"KeyId": 5}))
    assert (status, code) == (400, "SerializationException")
    assert message is not None and "KeyId" in message


def test_missing_members_are_validation_errors_in_kms_words(kms: LocalKMS) -> None:
    assert error(raw_call(kms, "DescribeKey", {})) == (
        400,
        "ValidationException",
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
        "Member must not be null",
    )
    assert error(raw_call(kms, "DescribeKey", b"")) == error(raw_call(kms, "DescribeKey", {}))
    _, code, message = error(raw_call(kms, "ReplicateKey", {}))
    assert code == "ValidationException"
    assert message == (
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: "
        "Member must not be null; Value null at 'replicaRegion' failed to satisfy constraint: "
        "Member must not be null"
    )
    _, code, message = error(
        raw_call(kms, "TagResource", {"KeyId": "k", "Tags": [{"TagKey": "a"}]})
    )
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value null at 'tags.1.member.tagValue' failed to "
        "satisfy constraint: Member must not be null",
    )


def test_constraint_errors_quote_the_value(kms: LocalKMS) -> None:
    _, code, message = error(raw_call(kms, "DescribeKey", {"KeyId": ""}))
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    )
    _, _, message = error(
        raw_call(kms, "GenerateMac", {"KeyId": "k", "Message": "bQ==", "MacAlgorithm": "INVALID"})
    )
    assert message == (
        "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy "
        "constraint: Member must satisfy enum value set: "
        "[HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512]"
    )


def test_empty_body_is_fine_for_operations_without_required_members(kms: LocalKMS) -> None:
    status, body = raw_call(kms, "ListKeys", b"")
    assert (status, body) == (200, {"Keys": [], "Truncated": False})


def test_internal_errors_are_generic_logged_and_never_a_traceback(
    kms: LocalKMS, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(ctx: Any, request: Any) -> Any:
        raise RuntimeError("boom with details")

    monkeypatch.setattr(_handlers.HANDLERS["ListKeys"], "function", broken)
    with caplog.at_level(logging.ERROR, logger="kms_mrk.local"):
        status, code, message = error(raw_call(kms, "ListKeys", {}))
    assert (status, code) == (500, "KMSInternalException")
    assert message is not None and "boom" not in message and "Traceback" not in message
    assert any("boom with details" in (r.exc_text or "") for r in caplog.records)


def test_error_responses_carry_a_request_id(kms: LocalKMS) -> None:
    request = HttpRequest(
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        {"X-Amz-Target": "TrentService.DescribeKey"},
        b"{}",
    )
    first, second = kms.send(request), kms.send(request)
    assert first.header("x-amzn-requestid") != second.header("x-amzn-requestid")
    assert len(first.header("x-amzn-requestid") or "") == 36


def test_unsigned_requests_use_the_default_region() -> None:
    kms = LocalKMS(default_region="eu-central-1")
    status, body = raw_call(kms, "CreateKey", {}, sign=False)
    assert status == 200
    assert body["KeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-central-1:111122223333:key/")


def test_region_and_partition_come_from_the_signature_scope(kms: LocalKMS) -> None:
    _, body = raw_call(kms, "CreateKey", {}, region="cn-north-1")
    assert body["KeyMetadata"]["Arn"].startswith("arn:aws-cn:kms:cn-north-1:")
    status, code, message = error(raw_call(kms, "CreateKey", {}, region="nowhere"))
    assert (status, code) == (400, "InvalidSignatureException")
    assert message == "Credential should be scoped to a valid region."


def test_closed_local_kms_refuses_requests(kms: LocalKMS) -> None:
    kms.close()
    with pytest.raises(ConnectError):
        raw_call(kms, "ListKeys", {})
    with pytest.raises(ConnectError):
        kms.handle("ListKeys", "us-east-1", ListKeysRequest())


def test_handle_checks_its_arguments(kms: LocalKMS, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="DescribeKeyRequest"):
        kms.handle("DescribeKey", "us-east-1", ListKeysRequest())
    with pytest.raises(ValueError, match="Region"):
        kms.handle("ListKeys", "Narnia", ListKeysRequest())
    with pytest.raises(UnknownOperationException):
        kms.handle("Frobnicate", "us-east-1", ListKeysRequest())
    monkeypatch.delitem(_handlers.HANDLERS, "CreateGrant")
    with pytest.raises(UnsupportedOperationException):
        kms.handle("CreateGrant", "us-east-1", ListKeysRequest())
    with pytest.raises(ValueError, match="principal"):
        kms.handle("ListKeys", "us-east-1", ListKeysRequest(), principal="bob")
    from kms_mrk.errors import ValidationException

    with pytest.raises(ValidationException, match="Value '' at 'keyId'"):
        kms.handle("DescribeKey", "us-east-1", DescribeKeyRequest(key_id=""))


def test_configuration_errors_are_clear() -> None:
    from kms_mrk.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="account_id"):
        LocalKMS(account_id="123")
    with pytest.raises(ConfigurationError, match="default_region"):
        LocalKMS(default_region="moon")
    with pytest.raises(ConfigurationError, match="access_keys"):
        LocalKMS(verify_signatures=True)
    with pytest.raises(ConfigurationError, match="principals"):
        LocalKMS(principals={"AKID": "bob"})
    with pytest.raises(ConfigurationError, match="updating_seconds"):
        LocalKMS(updating_seconds=-1)
