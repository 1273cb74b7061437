"""The service's own checks: enum members and the model's patterns, in requests and stubs.

The client lets enum values and patterns through (services add values); the mock stands for
KMS, which refuses them with a ValidationException. Stubbed responses may only hold the enum
values the model knows, unless a test asks for unknown ones explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kms_mrk import (
    CreateAliasCommand,
    CreateCustomKeyStoreCommand,
    CreateGrantCommand,
    CreateKeyCommand,
    DescribeKeyCommand,
    DescribeKeyResponse,
    KeyMetadata,
    KeyState,
    KMSClient,
    UpdatePrimaryRegionCommand,
    ValidationException,
    XksProxyAuthenticationCredentialType,
)
from kms_mrk.schema import STRING, STRUCTURED_TYPES, Schema
from kms_mrk.testing import (
    TEST_CREDENTIALS,
    InvalidStubError,
    KmsMock,
    MockTransport,
    service_response,
)
from kms_mrk.testing._service_checks import PATTERNS
from tests.testing._helpers import KEY_ID, error_of, raw_request

MODEL = Path(__file__).resolve().parents[2] / "codegen" / "model" / "kms-2014-11-01.service.json"
SECRET = "SECRETsecretSECRETsecretSECRETsecretSECRET!!"  # 44 characters, '!' breaks the pattern


@pytest.fixture
def mock() -> KmsMock:
    stubbed = KmsMock()
    stubbed.on(UpdatePrimaryRegionCommand).resolves()
    stubbed.on(CreateAliasCommand).resolves()
    stubbed.on(CreateKeyCommand).resolves({"KeyMetadata": {"KeyId": KEY_ID}})
    return stubbed


# -- the pattern table -------------------------------------------------------------------------


def test_the_patterns_are_the_vendored_models() -> None:
    shapes = json.loads(MODEL.read_text())["shapes"]
    in_model = {name: shape["pattern"] for name, shape in shapes.items() if "pattern" in shape}
    assert dict(PATTERNS) == in_model


def test_every_pattern_names_a_string_shape_of_the_runtime_schema() -> None:
    from kms_mrk import commands

    names: set[str] = set()
    seen: set[int] = set()

    def walk(schema: Schema) -> None:
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if schema.type == STRING:
            names.add(schema.name)
        for member in schema.members if schema.type in STRUCTURED_TYPES else ():
            walk(member.target)
        for part in (schema.member, schema.key, schema.value):
            if part is not None:
                walk(part)

    for name in commands.__all__:
        command = getattr(commands, name)
        walk(command.__schema__)
        walk(command.output_type.__schema__)
    assert set(PATTERNS) <= names


# -- requests: answered as KMS answers them ----------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: c.update_primary_region(key_id=KEY_ID, primary_region="US_EAST_1"),
            "1 validation error detected: Value 'US_EAST_1' at 'primaryRegion' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$",
        ),
        (
            lambda c: c.create_alias(alias_name="alias/has space", target_key_id=KEY_ID),
            "1 validation error detected: Value 'alias/has space' at 'aliasName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9:/_-]+$",
        ),
        (
            lambda c: c.create_key(key_spec="RSA_2049"),
            "1 validation error detected: Value 'RSA_2049' at 'keySpec' failed to satisfy "
            "constraint: Member must satisfy enum value set: [RSA_2048, ",
        ),
    ],
    ids=["region-pattern", "alias-pattern", "key-spec-enum"],
)
def test_requests_kms_refuses_are_refused(mock: KmsMock, call: Any, message: str) -> None:
    with pytest.raises(ValidationException) as raised:
        call(mock.client)
    assert raised.value.http_status == 400
    assert str(raised.value.message).startswith(message)
    assert mock.calls() == []
    [rejected] = mock.rejected_requests
    assert rejected.code == "ValidationException"
    assert rejected.message == raised.value.message


def test_every_problem_is_listed_with_kms_paths(mock: KmsMock) -> None:
    mock.on(CreateGrantCommand).resolves()
    with pytest.raises(ValidationException) as raised:
        mock.client.create_grant(
            key_id=KEY_ID,
            operations=["Decrypt", "Bogus"],
            grantee_principal="arn:aws:iam::111122223333:role/app",
            name="has space",
        )
    message = str(raised.value.message)
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'Bogus' at 'operations.2.member' failed to satisfy constraint: Member " in (
        message
    )
    assert "Value 'has space' at 'name' failed to satisfy constraint: Member must satisfy " in (
        message
    )


def test_a_sensitive_value_is_never_quoted() -> None:
    mock = KmsMock()
    mock.on(CreateCustomKeyStoreCommand).resolves({"CustomKeyStoreId": "cks-1234567890abcdef0"})
    credential = XksProxyAuthenticationCredentialType(
        access_key_id="ABCDEFGHIJKLMNOPQRST", raw_secret_access_key=SECRET
    )
    with pytest.raises(ValidationException) as raised:
        mock.client.create_custom_key_store(
            custom_key_store_name="xks",
            custom_key_store_type="EXTERNAL_KEY_STORE",
            xks_proxy_uri_endpoint="https://xks.example.com",
            xks_proxy_uri_path="/kms/xks/v1",
            xks_proxy_connectivity="PUBLIC_ENDPOINT",
            xks_proxy_authentication_credential=credential,
        )
    message = str(raised.value.message)
    assert "Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed" in message
    assert SECRET not in message
    assert SECRET not in repr(mock.rejected_requests)


def test_missing_members_are_worded_as_kms_words_them() -> None:
    response = MockTransport(lambda command, region: None).send(
        raw_request("UpdatePrimaryRegion", {"KeyId": KEY_ID})
    )
    assert error_of(response) == (
        400,
        "ValidationException",
        "1 validation error detected: Value null at 'primaryRegion' failed to satisfy "
        "constraint: Member must not be null",
    )


def test_service_validation_may_be_turned_off_for_values_newer_than_the_model() -> None:
    mock = KmsMock(service_validation=False)
    mock.on(CreateKeyCommand, {"KeySpec": "RSA_9999"}).resolves({"KeyMetadata": {"KeyId": "k"}})
    mock.on(UpdatePrimaryRegionCommand).resolves()

    assert mock.client.create_key(key_spec="RSA_9999").key_metadata is not None
    mock.client.update_primary_region(key_id=KEY_ID, primary_region="US_EAST_1")

    assert mock.rejected_requests == []
    assert mock.call_count(CreateKeyCommand, {"KeySpec": "RSA_9999"}) == 1
    mock.assert_called_with(UpdatePrimaryRegionCommand, {"PrimaryRegion": "US_EAST_1"})
    # what the client checks is still checked
    response = mock.transport.send(raw_request("DescribeKey", {"KeyId": ""}))
    assert error_of(response)[:2] == (400, "ValidationException")


def test_the_bare_transport_checks_the_same_and_may_be_relaxed() -> None:
    def answer(command: Any, region: str) -> None:
        return None

    request = raw_request("UpdatePrimaryRegion", {"KeyId": KEY_ID, "PrimaryRegion": "Mars"})
    assert error_of(MockTransport(answer).send(request))[:2] == (400, "ValidationException")
    assert MockTransport(answer, service_validation=False).send(request).status == 200


# -- stub inputs: an expectation no valid request could meet -----------------------------------


@pytest.mark.parametrize(
    ("command", "expected", "problem"),
    [
        (
            CreateKeyCommand,
            {"KeySpec": "RSA_2049"},
            "KeySpec: 'RSA_2049' is not a KeySpec value (did you mean 'RSA_2048'?)",
        ),
        (
            UpdatePrimaryRegionCommand,
            {"primary_region": "US_EAST_1"},
            "PrimaryRegion: does not match the pattern ^([a-z]+-){2,3}\\d+$ of RegionType",
        ),
        (
            CreateGrantCommand,
            {"Operations": ["decrypt"]},
            "Operations[0]: 'decrypt' is not a GrantOperation value (did you mean 'Decrypt'?)",
        ),
    ],
)
def test_on_refuses_inputs_kms_would_refuse(
    mock: KmsMock, command: Any, expected: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidStubError) as raised:
        mock.on(command, expected)
    assert problem in str(raised.value)
    assert "KmsMock(service_validation=False)" in str(raised.value)


def test_assertions_and_history_filters_refuse_them_too(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="not a KeySpec value"):
        mock.assert_called_with(CreateKeyCommand, {"KeySpec": "RSA_2049"})
    with pytest.raises(InvalidStubError, match="not a KeySpec value"):
        mock.calls(CreateKeyCommand, {"KeySpec": "RSA_2049"})


def test_valid_enum_values_and_patterns_are_accepted(mock: KmsMock) -> None:
    mock.on(CreateKeyCommand, {"KeySpec": "RSA_2048"}).resolves({"KeyMetadata": {"KeyId": "r"}})
    mock.on(UpdatePrimaryRegionCommand, {"PrimaryRegion": "eu-west-1"}).resolves()
    created = mock.client.create_key(key_spec="RSA_2048").key_metadata
    assert created is not None
    assert created.key_id == "r"
    mock.client.update_primary_region(key_id=KEY_ID, primary_region="eu-west-1")
    assert mock.rejected_requests == []


# -- stubbed responses: enum values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (
            {"KeyState": "enabled"},
            "KeyMetadata.KeyState: 'enabled' is not a KeyState value (did you mean 'Enabled'?)",
        ),
        ({"KeyState": "Bogus"}, "KeyMetadata.KeyState: 'Bogus' is not a KeyState value"),
        (
            {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT", "NOPE"]},
            "KeyMetadata.EncryptionAlgorithms[1]: 'NOPE' is not a EncryptionAlgorithmSpec value",
        ),
    ],
)
def test_responses_with_unknown_enum_values_are_refused(
    mock: KmsMock, metadata: dict[str, Any], problem: str
) -> None:
    response = {"KeyMetadata": {"KeyId": KEY_ID, **metadata}}
    with pytest.raises(InvalidStubError) as raised:
        mock.on(DescribeKeyCommand).resolves(response)
    assert problem in str(raised.value)
    assert "allow_unknown_enums=True" in str(raised.value)
    with pytest.raises(InvalidStubError, match="is not a"):
        mock.on(DescribeKeyCommand).resolves_once(response)
    with pytest.raises(InvalidStubError, match="is not a"):
        service_response(DescribeKeyCommand, response)


def test_a_typed_response_is_checked_too(mock: KmsMock) -> None:
    typed = DescribeKeyResponse(key_metadata=KeyMetadata(key_id=KEY_ID, key_state="enabled"))
    with pytest.raises(InvalidStubError, match="did you mean 'Enabled'"):
        mock.on(DescribeKeyCommand).resolves(typed)
    ok = DescribeKeyResponse(key_metadata=KeyMetadata(key_id=KEY_ID, key_state=KeyState.ENABLED))
    mock.on(DescribeKeyCommand).resolves(ok)
    assert mock.client.describe_key(key_id=KEY_ID) == ok


def test_unknown_enum_values_may_be_allowed_to_test_forward_compatibility(mock: KmsMock) -> None:
    future = {"KeyMetadata": {"KeyId": KEY_ID, "KeyState": "Hibernating"}}
    mock.on(DescribeKeyCommand).resolves(future, allow_unknown_enums=True)
    metadata = mock.client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    assert metadata.key_state == "Hibernating"
    assert service_response(DescribeKeyCommand, future, allow_unknown_enums=True).status == 200


def test_a_fakes_answer_is_checked_unless_allowed(mock: KmsMock) -> None:
    def future(command: DescribeKeyCommand, region: str) -> dict[str, Any]:
        return {"KeyMetadata": {"KeyId": command.key_id, "KeyState": "Hibernating"}}

    mock.on(DescribeKeyCommand, {"KeyId": "strict"}).calls_fake(future)
    mock.on(DescribeKeyCommand, {"KeyId": "relaxed"}).calls_fake(future, allow_unknown_enums=True)
    with pytest.raises(InvalidStubError, match="'Hibernating' is not a KeyState value"):
        mock.client.describe_key(key_id="strict")
    relaxed = mock.client.describe_key(key_id="relaxed").key_metadata
    assert relaxed is not None
    assert relaxed.key_state == "Hibernating"


def test_a_bare_transport_handler_is_checked_unless_allowed() -> None:
    def handler(command: Any, region: str) -> dict[str, Any]:
        return {"KeyMetadata": {"KeyId": KEY_ID, "KeyState": "Hibernating"}}

    strict = KMSClient("us-east-1", credentials=TEST_CREDENTIALS, transport=MockTransport(handler))
    with pytest.raises(InvalidStubError, match="not a KeyState value"):
        strict.describe_key(key_id=KEY_ID)
    relaxed = KMSClient(
        "us-east-1",
        credentials=TEST_CREDENTIALS,
        transport=MockTransport(handler, allow_unknown_enums=True),
    )
    metadata = relaxed.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    assert metadata.key_state == "Hibernating"


def test_a_sensitive_enum_value_is_never_quoted_in_a_stub_error() -> None:
    from kms_mrk.testing._service_checks import service_rule

    secret = Schema("SecretChoice", "string", enum=["ALPHA", "BETA"], sensitive=True)
    assert service_rule(secret, "ALPHAX") == "is not a SecretChoice value"
    plain = Schema("Choice", "string", enum=["ALPHA", "BETA"])
    assert service_rule(plain, "ALPHAX") == "'ALPHAX' is not a Choice value (did you mean 'ALPHA'?)"
    assert service_rule(plain, "ALPHA") is None
