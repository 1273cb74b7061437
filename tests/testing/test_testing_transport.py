"""MockTransport: the wire checks KMS makes, and answers written with the real codec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kms_mrk import (
    Credentials,
    DescribeKeyCommand,
    DescribeKeyResponse,
    DisabledException,
    EncryptCommand,
    KeyMetadata,
    KMSClient,
    KMSInternalException,
    NotFoundException,
    ReadTimeoutError,
    ServiceUnavailableException,
    UpdatePrimaryRegionCommand,
)
from kms_mrk.auth import SigV4Signer
from kms_mrk.schema import Command
from kms_mrk.testing import (
    TEST_CREDENTIALS,
    InvalidStubError,
    KmsMock,
    MockTransport,
    service_error,
    service_response,
)
from kms_mrk.testing._common import isolated_environ
from tests.testing._helpers import KEY_ARN, KEY_ID, error_of, raw_request

OTHER = Credentials("AKIAOTHEROTHEROTHER1", "other-secret-other-secret-other-secret-12")


def client_for(transport: MockTransport, region: str = "us-east-1") -> KMSClient:
    return KMSClient(
        region,
        credentials=TEST_CREDENTIALS,
        transport=transport,
        sleep=lambda s: None,
        environ=isolated_environ(),
    )


# -- the handler -------------------------------------------------------------------------------


def test_the_handler_gets_the_typed_command_and_the_region_of_the_signature() -> None:
    seen: list[tuple[Command[Any], str]] = []

    def handler(command: Command[Any], region: str) -> dict[str, Any]:
        seen.append((command, region))
        return {"KeyMetadata": {"KeyId": KEY_ID, "Arn": KEY_ARN}}

    transport = MockTransport(handler)
    output = client_for(transport).for_region("eu-west-1").describe_key(key_id=KEY_ID)

    assert seen == [(DescribeKeyCommand(key_id=KEY_ID), "eu-west-1")]
    assert type(seen[0][0]) is DescribeKeyCommand
    assert output == DescribeKeyResponse(key_metadata=KeyMetadata(key_id=KEY_ID, arn=KEY_ARN))


@pytest.mark.parametrize(
    "answer",
    [
        DescribeKeyResponse(key_metadata=KeyMetadata(key_id=KEY_ID)),
        {"KeyMetadata": {"KeyId": KEY_ID}},
        {"key_metadata": {"key_id": KEY_ID}},
    ],
    ids=["typed", "wire-names", "python-names"],
)
def test_answers_may_be_typed_or_dicts(answer: Any) -> None:
    transport = MockTransport(lambda command, region: answer)
    output = client_for(transport).describe_key(key_id=KEY_ID)
    assert output.key_metadata == KeyMetadata(key_id=KEY_ID)


def test_a_none_answer_is_an_empty_output() -> None:
    transport = MockTransport(lambda command, region: None)
    output = client_for(transport).update_primary_region(key_id=KEY_ID, primary_region="eu-west-1")
    assert output.to_dict() == {}


def test_the_response_is_what_kms_sends() -> None:
    transport = MockTransport(lambda command, region: {"KeyMetadata": {"KeyId": KEY_ID}})
    response = transport.send(raw_request("DescribeKey", {"KeyId": KEY_ID}))

    assert response.status == 200
    assert response.header("content-type") == "application/x-amz-json-1.1"
    assert response.header("x-amzn-requestid")
    assert response.header("content-length") == str(len(response.body))
    assert json.loads(response.body) == {"KeyMetadata": {"KeyId": KEY_ID}}


def test_request_ids_differ_and_reach_the_client() -> None:
    transport = MockTransport(lambda command, region: {})
    client = client_for(transport)
    first = client.describe_key(key_id=KEY_ID).metadata.request_id
    second = client.describe_key(key_id=KEY_ID).metadata.request_id
    assert first
    assert second
    assert first != second


def test_a_modeled_exception_becomes_the_error_response() -> None:
    def handler(command: Command[Any], region: str) -> None:
        raise NotFoundException(f"Key '{KEY_ARN}' does not exist")

    transport = MockTransport(handler)
    response = transport.send(raw_request("DescribeKey", {"KeyId": KEY_ID}))
    assert error_of(response) == (400, "NotFoundException", f"Key '{KEY_ARN}' does not exist")

    with pytest.raises(NotFoundException) as raised:
        client_for(transport).describe_key(key_id=KEY_ID)
    assert raised.value.message == f"Key '{KEY_ARN}' does not exist"
    assert raised.value.http_status == 400
    assert raised.value.request_id


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (KMSInternalException("boom"), 500),
        (ServiceUnavailableException("later"), 503),
        (NotFoundException("gone", http_status=404), 404),
    ],
)
def test_server_faults_are_5xx_and_a_given_status_wins(error: Exception, status: int) -> None:
    def handler(command: Command[Any], region: str) -> None:
        raise error

    response = MockTransport(handler).send(raw_request("DescribeKey", {"KeyId": KEY_ID}))
    assert response.status == status


def test_a_transport_error_from_the_handler_is_raised_by_send() -> None:
    def handler(command: Command[Any], region: str) -> None:
        raise ReadTimeoutError("kms.us-east-1.amazonaws.com", "slow")

    with pytest.raises(ReadTimeoutError):
        MockTransport(handler).send(raw_request("DescribeKey", {"KeyId": KEY_ID}))


def test_an_answer_that_does_not_fit_the_output_fails_the_test() -> None:
    transport = MockTransport(lambda command, region: {"KeyMetadata": {"KeyState": "Enabled"}})
    with pytest.raises(InvalidStubError, match=r"KeyMetadata\.KeyId: required member is missing"):
        client_for(transport).describe_key(key_id=KEY_ID)


def test_an_error_the_operation_cannot_answer_fails_the_test() -> None:
    def handler(command: Command[Any], region: str) -> None:
        raise DisabledException("no")

    with pytest.raises(InvalidStubError, match="DescribeKey never answers DisabledException"):
        client_for(MockTransport(handler)).describe_key(key_id=KEY_ID)


def test_without_a_handler_a_request_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="no handler"):
        MockTransport().send(raw_request("DescribeKey", {"KeyId": KEY_ID}))


def test_the_handler_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        MockTransport("nope")  # type: ignore[arg-type]


# -- what KMS refuses before looking at the input ----------------------------------------------


def answer_anything(command: Command[Any], region: str) -> dict[str, Any]:
    raise AssertionError("a malformed request must not reach the handler")


@pytest.mark.parametrize(
    ("request_kwargs", "code"),
    [
        ({"method": "GET"}, "UnknownOperationException"),
        ({"url": "https://kms.us-east-1.amazonaws.com/keys"}, "UnknownOperationException"),
        ({"headers": {"X-Amz-Target": "TrentService.MakeCoffee"}}, "UnknownOperationException"),
        ({"headers": {"X-Amz-Target": "Other.DescribeKey"}}, "UnknownOperationException"),
        ({"headers": {"Content-Type": "application/json"}}, "SerializationException"),
        ({"credentials": None}, "MissingAuthenticationTokenException"),
    ],
    ids=["GET", "path", "operation", "prefix", "content-type", "unsigned"],
)
def test_malformed_requests_get_the_services_answer(
    request_kwargs: dict[str, Any], code: str
) -> None:
    response = MockTransport(answer_anything).send(
        raw_request("DescribeKey", {"KeyId": KEY_ID}, **request_kwargs)
    )
    status, error_code, _ = error_of(response)
    assert (status, error_code) == (400, code)


def test_a_tampered_body_fails_signature_verification() -> None:
    request = raw_request("DescribeKey", {"KeyId": KEY_ID})
    tampered = request.replace(body=b'{"KeyId":"alias/other"}')
    response = MockTransport(answer_anything, credentials=TEST_CREDENTIALS).send(tampered)
    assert error_of(response)[:2] == (400, "InvalidSignatureException")


def test_a_wrong_secret_key_fails_signature_verification() -> None:
    wrong = Credentials(TEST_CREDENTIALS.access_key_id, "not-the-secret-not-the-secret-000000")
    request = raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=wrong)
    response = MockTransport(answer_anything, credentials=TEST_CREDENTIALS).send(request)
    assert error_of(response)[:2] == (400, "InvalidSignatureException")


def test_other_access_keys_are_checked_for_form_only() -> None:
    transport = MockTransport(lambda c, r: {}, credentials=TEST_CREDENTIALS)
    response = transport.send(raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=OTHER))
    assert response.status == 200


def test_a_signature_for_another_service_is_refused() -> None:
    request = raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=None)
    signed = SigV4Signer("s3").sign(request, TEST_CREDENTIALS, "us-east-1")
    response = MockTransport(answer_anything).send(signed)
    assert error_of(response)[:2] == (400, "InvalidSignatureException")


def test_a_malformed_authorization_header_is_refused() -> None:
    request = raw_request("DescribeKey", {"KeyId": KEY_ID}).with_header(
        "Authorization", "AWS4-HMAC-SHA256 nonsense"
    )
    response = MockTransport(answer_anything).send(request)
    assert error_of(response)[:2] == (400, "IncompleteSignatureException")


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        (b"{not json", "SerializationException", "not valid JSON"),
        (b"[]", "SerializationException", "JSON object"),
        (b'{"KeyId": 7}', "SerializationException", "KeyId: expected a string"),
        (
            b"{}",
            "ValidationException",
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            b'{"KeyId": ""}',
            "ValidationException",
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        ),
    ],
)
def test_the_input_is_decoded_and_validated_again(body: bytes, code: str, detail: str) -> None:
    response = MockTransport(answer_anything).send(raw_request("DescribeKey", body))
    status, error_code, message = error_of(response)
    assert (status, error_code) == (400, code)
    assert message is not None
    assert detail in message


def test_kms_mock_keeps_the_rejected_requests() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves({})
    response = mock.transport.send(raw_request("DescribeKey", b'{"KeyId": ""}'))

    assert response.status == 400
    [rejected] = mock.rejected_requests
    assert rejected.code == "ValidationException"
    assert mock.calls() == []
    with pytest.raises(AssertionError, match="1 malformed request"):
        mock.verify()


# -- service_response / service_error ----------------------------------------------------------


def test_service_response_is_checked_and_encoded() -> None:
    response = service_response(DescribeKeyCommand, {"key_metadata": {"key_id": KEY_ID}})
    assert response.status == 200
    assert json.loads(response.body) == {"KeyMetadata": {"KeyId": KEY_ID}}
    with pytest.raises(InvalidStubError, match="KeyMetdata"):
        service_response(DescribeKeyCommand, {"KeyMetdata": {}})


def test_service_error_uses_the_status_of_the_fault() -> None:
    assert error_of(service_error(DescribeKeyCommand, NotFoundException, "gone")) == (
        400,
        "NotFoundException",
        "gone",
    )
    assert service_error(EncryptCommand, "KMSInternalException").status == 500
    assert service_error(EncryptCommand, "ThrottlingException", status=429).status == 429
    with pytest.raises(InvalidStubError, match="UpdatePrimaryRegion never answers"):
        service_error(UpdatePrimaryRegionCommand, "InvalidCiphertextException")
