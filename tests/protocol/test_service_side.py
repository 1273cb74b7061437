"""The one service side: LocalKMS and MockTransport answer the same inputs the same way.

Both read requests through :mod:`kms_mrk.protocol._service`; these tests send each the same
malformed, hostile or refused request and compare status, headers and body, and check the
one status table against the model and the real-AWS recordings.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.auth import Credentials, SigV4Signer
from kms_mrk.commands import CreateKeyCommand, DescribeKeyCommand
from kms_mrk.errors import (
    ERRORS_BY_CODE,
    SerializationException,
    ServiceException,
    ThrottlingException,
    ValidationException,
)
from kms_mrk.errors._generated import MODELED_ERRORS
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS
from kms_mrk.protocol._service import (
    INCORRECT_SIGNATURE_MESSAGE,
    STATUS_BY_CODE,
    ServiceSide,
    echo,
    parse_scope,
    status_for,
)
from kms_mrk.schema import Command
from kms_mrk.testing import TEST_CREDENTIALS, MockTransport
from kms_mrk.transport import HttpRequest, HttpResponse
from tests.testing._helpers import KEY_ID, raw_request

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
MODEL = Path(__file__).resolve().parents[2] / "codegen" / "model" / "kms-2014-11-01.service.json"
B64 = base64.b64encode(b"x" * 32).decode()


@pytest.fixture
def local() -> Iterator[LocalKMS]:
    kms = LocalKMS(
        verify_signatures=True,
        access_keys={TEST_CREDENTIALS.access_key_id: TEST_CREDENTIALS.secret_access_key},
    )
    yield kms
    kms.close()


def never(command: Command[Any], region: str) -> None:
    raise AssertionError("a refused request must not reach the handler")


def shape(response: HttpResponse) -> tuple[int, list[str], str, str | None, int]:
    """What must agree: status, header names, error code, message, Content-Length."""
    data = json.loads(response.body)
    assert set(data) <= {"__type", "message"}
    assert int(response.headers["content-length"]) == len(response.body)
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.headers["x-amzn-requestid"]
    return (
        response.status,
        sorted(response.headers),
        data["__type"],
        data.get("message"),
        len(response.body),
    )


def unsigned_target(request: HttpRequest) -> HttpRequest:
    """Signed with SignedHeaders that leave out x-amz-target (a re-targetable request)."""
    bare = HttpRequest(
        request.method,
        request.url,
        {k: v for k, v in request.headers.items() if k.lower() != "x-amz-target"},
        request.body,
    )
    signed = SigV4Signer("kms").sign(bare, TEST_CREDENTIALS, "us-east-1")
    return signed.with_header("X-Amz-Target", "TrentService.DisableKey")


def duplicated_credential(request: HttpRequest) -> HttpRequest:
    header = request.header("authorization") or ""
    algorithm, _, rest = header.partition(" ")
    forged = f"{algorithm} Credential=AKIDFORGED/20200101/eu-west-1/kms/aws4_request, {rest}"
    return request.with_header("Authorization", forged)


WRONG = Credentials(TEST_CREDENTIALS.access_key_id, "not-the-secret-not-the-secret-0000000")
DEEP = b'{"KeyId": ' + b"[" * 5000 + b"]" * 5000 + b"}"

CASES: dict[str, HttpRequest] = {
    "GET": raw_request("DescribeKey", {"KeyId": KEY_ID}, method="GET"),
    "path": raw_request(
        "DescribeKey", {"KeyId": KEY_ID}, url="https://kms.us-east-1.amazonaws.com/keys"
    ),
    "unknown operation": raw_request(
        "DescribeKey", {"KeyId": KEY_ID}, headers={"X-Amz-Target": "TrentService.MakeCoffee"}
    ),
    "other prefix": raw_request(
        "DescribeKey", {"KeyId": KEY_ID}, headers={"X-Amz-Target": "Other.DescribeKey"}
    ),
    "huge target": raw_request(
        "DescribeKey", {"KeyId": KEY_ID}, headers={"X-Amz-Target": "T" * 100_000}
    ),
    "unsigned": raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=None),
    "malformed authorization": raw_request("DescribeKey", {"KeyId": KEY_ID}).with_header(
        "Authorization", "AWS4-HMAC-SHA256 nonsense"
    ),
    "duplicated Credential": duplicated_credential(raw_request("DescribeKey", {"KeyId": KEY_ID})),
    "other service": SigV4Signer("s3").sign(
        raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=None),
        TEST_CREDENTIALS,
        "us-east-1",
    ),
    "no region": raw_request("DescribeKey", {"KeyId": KEY_ID}, region="nowhere"),
    "wrong secret": raw_request("DescribeKey", {"KeyId": KEY_ID}, credentials=WRONG),
    "tampered body": raw_request("DescribeKey", {"KeyId": KEY_ID}).replace(
        body=b'{"KeyId":"alias/other"}'
    ),
    "x-amz-target not signed": unsigned_target(raw_request("DescribeKey", {"KeyId": KEY_ID})),
    "not JSON": raw_request("DescribeKey", b"{not json"),
    "not an object": raw_request("DescribeKey", b"[]"),
    "deeply nested": raw_request("DescribeKey", DEEP),
    "wrong type": raw_request("DescribeKey", b'{"KeyId": 7}'),
    "missing member": raw_request("DescribeKey", b"{}"),
    "too short": raw_request("DescribeKey", {"KeyId": ""}),
    "900 KB value": raw_request("DescribeKey", {"KeyId": "k" * 900_000}),
    "enum": raw_request("CreateKey", {"KeySpec": "RSA_2049"}),
    "pattern": raw_request("CreateAlias", {"AliasName": "alias/no spaces", "TargetKeyId": KEY_ID}),
    "many problems": raw_request(
        "CreateKey", {"Tags": [{"TagKey": "", "TagValue": "v" * 300}] * 2000}
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_local_kms_and_mock_transport_refuse_alike(local: LocalKMS, case: str) -> None:
    request = CASES[case]
    mock = MockTransport(never, credentials=TEST_CREDENTIALS)
    from_local = shape(local.send(request))
    from_mock = shape(mock.send(request))
    assert from_local == from_mock
    status, _, code, message, size = from_local
    assert status == 400
    assert code in ERRORS_BY_CODE
    assert message
    assert size < 4096, f"{case}: a {size}-byte error body"


def test_the_refusals_are_the_ones_kms_gives(local: LocalKMS) -> None:
    codes = {case: shape(local.send(request))[2] for case, request in CASES.items()}
    assert codes == {
        "GET": "UnknownOperationException",
        "path": "UnknownOperationException",
        "unknown operation": "UnknownOperationException",
        "other prefix": "UnknownOperationException",
        "huge target": "UnknownOperationException",
        "unsigned": "MissingAuthenticationTokenException",
        "malformed authorization": "IncompleteSignatureException",
        "duplicated Credential": "IncompleteSignatureException",
        "other service": "InvalidSignatureException",
        "no region": "InvalidSignatureException",
        "wrong secret": "InvalidSignatureException",
        "tampered body": "InvalidSignatureException",
        "x-amz-target not signed": "IncompleteSignatureException",
        "not JSON": "SerializationException",
        "not an object": "SerializationException",
        "deeply nested": "SerializationException",
        "wrong type": "SerializationException",
        "missing member": "ValidationException",
        "too short": "ValidationException",
        "900 KB value": "ValidationException",
        "enum": "ValidationException",
        "pattern": "ValidationException",
        "many problems": "ValidationException",
    }
    message = shape(local.send(CASES["wrong secret"]))[3]
    assert message == INCORRECT_SIGNATURE_MESSAGE
    assert message.endswith("Consult the service documentation for details.")
    assert "X-Amz-Target" in (shape(local.send(CASES["x-amz-target not signed"]))[3] or "")
    assert "more than one 'Credential='" in (
        shape(local.send(CASES["duplicated Credential"]))[3] or ""
    )
    huge = shape(local.send(CASES["900 KB value"]))[3] or ""
    assert "[900000 characters]" in huge and "at 'keyId'" in huge


# -- injected and handler errors: one status table ---------------------------------------------

KEY = {"KeyId": KEY_ID}
BODIES: dict[str, dict[str, Any]] = {
    "DescribeKey": KEY,
    "CreateKey": {},
    "ListKeys": {},
    "RetireGrant": {},
    "CreateAlias": {"AliasName": "alias/x", "TargetKeyId": KEY_ID},
    "CreateCustomKeyStore": {"CustomKeyStoreName": "store"},
    "UpdateCustomKeyStore": {"CustomKeyStoreId": "cks-1234567890abcdef0"},
    "DeleteCustomKeyStore": {"CustomKeyStoreId": "cks-1234567890abcdef0"},
    "RotateKeyOnDemand": KEY,
    "CreateGrant": {
        "KeyId": KEY_ID,
        "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
        "Operations": ["Decrypt"],
    },
    "ImportKeyMaterial": {"KeyId": KEY_ID, "ImportToken": B64, "EncryptedKeyMaterial": B64},
    "Decrypt": {"CiphertextBlob": B64},
    "Verify": {
        "KeyId": KEY_ID,
        "Message": B64,
        "Signature": B64,
        "SigningAlgorithm": "RSASSA_PSS_SHA_256",
    },
    "VerifyMac": {"KeyId": KEY_ID, "Message": B64, "Mac": B64, "MacAlgorithm": "HMAC_SHA_256"},
}


def operation_answering(code: str) -> str:
    from kms_mrk import commands

    if code not in MODELED_ERRORS:
        return "DescribeKey"
    for operation in BODIES:
        command = getattr(commands, commands.OPERATIONS[operation])
        if code in {e.code for e in command.errors}:
            return operation
    raise AssertionError(f"no operation in BODIES answers {code}")


# Aliases (ServiceUnavailable -> ServiceUnavailableException) are left out: a class sends its
# own code.
@pytest.mark.parametrize("code", sorted(c for c, cls in ERRORS_BY_CODE.items() if cls.code == c))
def test_every_error_has_one_status_from_local_kms_and_mock_transport(code: str) -> None:
    message = f"{code} (injected)"
    kms = LocalKMS(faults=FaultInjector([FaultRule(error=code, message=message)]))
    operation = operation_answering(code)

    def handler(command: Command[Any], region: str) -> None:
        raise ERRORS_BY_CODE[code](message)

    try:
        from_local = shape(kms.send(raw_request("DescribeKey", KEY)))
    finally:
        kms.close()
    from_mock = shape(MockTransport(handler).send(raw_request(operation, BODIES[operation])))
    assert from_local[:3] == from_mock[:3] == (status_for(code), from_local[1], code)
    assert from_local[3] == from_mock[3] == message


def test_the_status_table() -> None:
    assert STATUS_BY_CODE["DependencyTimeoutException"] == 503
    assert STATUS_BY_CODE["KMSInternalException"] == 500
    assert STATUS_BY_CODE["KeyUnavailableException"] == 500
    assert STATUS_BY_CODE["ServiceUnavailableException"] == 503
    assert STATUS_BY_CODE["ThrottlingException"] == 400
    # The model marks exactly the server faults; every other modeled error is a 400.
    model = json.loads(MODEL.read_text())
    for name, shape_ in model["shapes"].items():
        if shape_.get("exception"):
            expected = {400} if not shape_.get("fault") else {500, 503}
            assert STATUS_BY_CODE[name] in expected, name


def errors_recorded_against_aws() -> dict[str, set[int]]:
    path = VECTORS / "localstack-kms-snapshots" / "test_kms.snapshot.json"
    found: dict[str, set[int]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            error, meta = node.get("Error"), node.get("ResponseMetadata")
            if isinstance(error, dict) and isinstance(meta, dict):
                found.setdefault(error["Code"], set()).add(meta["HTTPStatusCode"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(path.read_text()))
    return found


def test_the_status_table_agrees_with_the_recordings_of_real_kms() -> None:
    recorded = errors_recorded_against_aws()
    assert len(recorded) >= 10
    for code, statuses in recorded.items():
        assert statuses == {STATUS_BY_CODE[code]}, code


def test_echo_shortens_long_values_only() -> None:
    assert echo("short") == "short"
    long = "x" * 1000
    shown = echo(long)
    assert shown.startswith("x" * 128) and shown.endswith("[1000 characters]")
    assert len(shown) < 160


def test_a_raised_status_still_wins() -> None:
    def handler(command: Command[Any], region: str) -> None:
        raise ThrottlingException("slow down", http_status=429)

    response = MockTransport(handler).send(raw_request("DescribeKey", KEY))
    assert response.status == 429


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("DependencyTimeoutException", 503),
        ("KMSInternalException", 500),
        ("KeyUnavailableException", 500),
        ("ThrottlingException", 400),
        ("NotFoundException", 400),
    ],
)
def test_kms_mock_and_local_kms_inject_errors_with_the_same_status(code: str, status: int) -> None:
    """The disagreement that started it: KmsMock answered DependencyTimeoutException with 500."""
    from kms_mrk.testing import KmsMock

    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects(code, allow_unmodeled=True)
    from_mock = mock.transport.send(raw_request("DescribeKey", KEY))
    kms = LocalKMS(faults=FaultInjector([FaultRule(error=code)]))
    try:
        from_local = kms.send(raw_request("DescribeKey", KEY))
    finally:
        kms.close()
    assert from_mock.status == from_local.status == status
    assert json.loads(from_mock.body)["__type"] == json.loads(from_local.body)["__type"] == code


# -- properties: whatever arrives, the answer is a KMS error, never a crash -------------------

JSON_ISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=300))
def test_any_authorization_header_is_a_scope_or_a_kms_error(header: str) -> None:
    try:
        scope = parse_scope(header)
    except ServiceException as exc:
        assert exc.code in ("IncompleteSignatureException", "InvalidSignatureException")
        assert len(exc.message or "") < 1024
    else:
        assert scope.service == "kms"


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        JSON_ISH.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["KeyId", "KeySpec", "Tags", "Policy", "GrantTokens"]), JSON_ISH
        ).map(lambda v: json.dumps(v).encode()),
    ),
    command=st.sampled_from([DescribeKeyCommand, CreateKeyCommand]),
)
def test_any_body_decodes_or_is_refused_in_kms_words(body: bytes, command: Any) -> None:
    side = ServiceSide(default_region="us-east-1", strict=False)
    try:
        decoded = side.decode(command.__schema__, body, command.operation_name)
    except (SerializationException, ValidationException) as exc:
        assert exc.message
        assert len(exc.message) < 4096
    else:
        assert isinstance(decoded, command.input_type)
