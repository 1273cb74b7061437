"""The AWS JSON 1.1 codec as KMS uses it, and its behaviour on hostile responses."""

from __future__ import annotations

import base64
import functools
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kms_mrk
import kms_mrk.commands
from kms_mrk.errors import ERRORS_BY_CODE, KMSServiceException, ResponseParseError, ServiceException
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import BLOB, LIST, MAP, STRING, STRUCTURED_TYPES, TIMESTAMP, Schema
from kms_mrk.transport import HttpResponse

ENDPOINT = "https://kms.us-west-1.amazonaws.com"


def _request(command: kms_mrk.Command) -> kms_mrk.HttpRequest:  # type: ignore[type-arg]
    return awsjson11.serialize_request(
        "TrentService", command.operation_name, command.__schema__, command, ENDPOINT
    )


def test_request_shape() -> None:
    request = _request(
        kms_mrk.UpdatePrimaryRegionCommand(
            key_id="arn:aws:kms:us-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            primary_region="eu-central-1",
        )
    )
    assert request.method == "POST"
    assert request.url == ENDPOINT + "/"
    assert request.header("x-amz-target") == "TrentService.UpdatePrimaryRegion"
    assert request.header("content-type") == "application/x-amz-json-1.1"
    assert json.loads(request.body) == {
        "KeyId": "arn:aws:kms:us-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "PrimaryRegion": "eu-central-1",
    }


def test_empty_input_is_an_empty_object_and_none_is_omitted() -> None:
    assert _request(kms_mrk.ListKeysCommand()).body == b"{}"
    body = json.loads(_request(kms_mrk.ListKeysCommand(limit=5, marker=None)).body)
    assert body == {"Limit": 5}


def test_blobs_are_base64_and_timestamps_epoch_seconds() -> None:
    import datetime as dt

    command = kms_mrk.ImportKeyMaterialCommand(
        key_id="k",
        import_token=b"\x00\xff",
        encrypted_key_material=b"abc",
        valid_to=dt.datetime(2030, 1, 1, 0, 0, 0, 500000, tzinfo=dt.timezone.utc),
    )
    body = json.loads(_request(command).body)
    assert body["ImportToken"] == "AP8="
    assert body["EncryptedKeyMaterial"] == "YWJj"
    assert body["ValidTo"] == 1893456000.5


def test_special_floats_are_written_as_strings() -> None:
    from kms_mrk.schema import Schema

    schema = Schema("D", "double")
    encode = awsjson11._encoder(schema)
    assert encode is not None
    assert [encode(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]


def test_empty_or_brace_body_for_operations_without_output() -> None:
    schema = kms_mrk.UpdatePrimaryRegionCommand.output_type.__schema__
    for body in (b"", b"{}", b"  ", b'{"Unknown": 1}'):
        result = awsjson11.deserialize_response(schema, HttpResponse(200, {}, body))
        assert result == kms_mrk.UpdatePrimaryRegionResponse()


def test_unknown_members_are_ignored() -> None:
    schema = kms_mrk.DescribeKeyResponse.__schema__
    body = b'{"KeyMetadata": {"KeyId": "k", "Future": {"x": 1}}, "Extra": []}'
    result = awsjson11.deserialize_response(schema, HttpResponse(200, {}, body))
    assert result.key_metadata == kms_mrk.KeyMetadata(key_id="k")


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"X-Amzn-Errortype": "NotFoundException:http://internal/"}, b"", "NotFoundException"),
        ({}, b'{"code": "com.amazon#DisabledException"}', "DisabledException"),
        ({}, b'{"__type": "TrentService#KMSInvalidStateException"}', "KMSInvalidStateException"),
        (
            {"x-amzn-errortype": "NotFoundException"},
            b'{"__type": "DisabledException"}',
            "NotFoundException",
        ),
    ],
)
def test_error_code_sources_in_order(headers: dict[str, str], body: bytes, code: str) -> None:
    error = awsjson11.deserialize_error(
        HttpResponse(400, headers, body), ERRORS_BY_CODE, KMSServiceException
    )
    assert error.code == code
    assert type(error) is ERRORS_BY_CODE[code]


@pytest.mark.parametrize("key", ["message", "Message"])
def test_error_message_and_metadata(key: str) -> None:
    response = HttpResponse(
        400,
        {"X-Amzn-RequestId": "rid-1", "Content-Type": "application/x-amz-json-1.1"},
        json.dumps({"__type": "KMSInvalidStateException", key: "arn is updating."}).encode(),
    )
    error = awsjson11.deserialize_error(response, ERRORS_BY_CODE, KMSServiceException)
    assert isinstance(error, kms_mrk.KMSInvalidStateException)
    assert error.message == "arn is updating."
    assert error.request_id == "rid-1"
    assert error.http_status == 400
    assert error.fault == "client"
    assert error.headers["content-type"] == "application/x-amz-json-1.1"
    assert error.metadata.request_id == "rid-1"
    assert "rid-1" in str(error)


def test_unknown_error_code_keeps_the_code() -> None:
    error = awsjson11.deserialize_error(
        HttpResponse(400, {}, b'{"__type": "BrandNewException", "message": "m"}'),
        ERRORS_BY_CODE,
        KMSServiceException,
    )
    assert type(error) is KMSServiceException
    assert error.code == "BrandNewException"
    assert error.message == "m"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-amzn-RequestId", "a"),
        ("X-AMZN-REQUESTID", "b"),
        ("x-amz-request-id", "c"),
    ],
)
def test_request_id_any_case_and_fallbacks(header: str, value: str) -> None:
    response = HttpResponse(200, {header: value}, b"{}")
    assert awsjson11.request_id_from(response.headers) == value


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", "not valid JSON"),
        (503, b"", "empty body and no error code"),
        (400, b'{"message": "no code"}', "carries no error code"),
        (500, b'{"__type": "KMSInternal', "not valid JSON"),
    ],
)
def test_malformed_error_responses_are_library_errors(
    status: int, body: bytes, fragment: str
) -> None:
    response = HttpResponse(status, {"x-amzn-requestid": "r9"}, body)
    with pytest.raises(ResponseParseError) as info:
        awsjson11.deserialize_error(response, ERRORS_BY_CODE, KMSServiceException)
    assert fragment in str(info.value)
    assert f"HTTP {status}" in str(info.value)
    assert "r9" in str(info.value)
    assert info.value.http_status == status


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>proxy</html>", "not valid JSON"),
        (b'{"KeyMetadata": {"KeyId": "k"', "not valid JSON"),
        (b"[1, 2]", "expected a JSON object at the top level"),
        (b'{"KeyMetadata": {"KeyId": 42}}', "KeyMetadata.KeyId: expected a string, got number"),
        (b'{"KeyMetadata": {"Enabled": true}}', "KeyMetadata.KeyId: required member"),
        (
            b'{"KeyMetadata": {"KeyId": "k", "CreationDate": "yesterday"}}',
            "KeyMetadata.CreationDate: 'yesterday' is not a timestamp",
        ),
        (
            b'{"KeyMetadata": {"KeyId": "k", "EncryptionAlgorithms": "AES"}}',
            "KeyMetadata.EncryptionAlgorithms: expected an array, got string",
        ),
        (
            b'{"KeyMetadata": {"KeyId": "k", '
            b'"MultiRegionConfiguration": {"ReplicaKeys": [{"Arn": 1}]}}}',
            "KeyMetadata.MultiRegionConfiguration.ReplicaKeys[0].Arn: expected a string",
        ),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_success_responses_say_what_and_where(body: bytes, fragment: str) -> None:
    schema = kms_mrk.DescribeKeyResponse.__schema__
    with pytest.raises(ResponseParseError) as info:
        awsjson11.deserialize_response(
            schema, HttpResponse(200, {"x-amzn-requestid": "r1"}, body), operation="DescribeKey"
        )
    assert fragment in str(info.value)
    assert "DescribeKey" in str(info.value)


def test_parse_errors_never_quote_bodies_that_may_hold_secrets() -> None:
    body = b'{"Plaintext": "c2VjcmV0LXBsYWludGV4dA==", "KeyId": 7}'
    with pytest.raises(ResponseParseError) as info:
        awsjson11.deserialize_response(
            kms_mrk.DecryptResponse.__schema__, HttpResponse(200, {}, body)
        )
    assert "c2VjcmV0" not in str(info.value)
    assert "withheld" in str(info.value)


def test_bad_base64_is_a_parse_error() -> None:
    with pytest.raises(ResponseParseError, match="CiphertextBlob: is not valid base64"):
        awsjson11.deserialize_response(
            kms_mrk.EncryptResponse.__schema__,
            HttpResponse(200, {}, b'{"CiphertextBlob": "***"}'),
        )


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_member_names = st.sampled_from(
    [
        "KeyMetadata",
        "KeyId",
        "Arn",
        "KeyState",
        "MultiRegionConfiguration",
        "ReplicaKeys",
        "CreationDate",
        "Enabled",
        "__type",
        "code",
        "message",
    ]
)
_json_bodies = st.dictionaries(_member_names, _json_values, max_size=5).map(
    lambda d: json.dumps(d).encode()
)


@given(
    body=st.binary(max_size=200) | _json_bodies,
    status=st.sampled_from([200, 400, 403, 429, 500, 503]),
    headers=st.dictionaries(
        st.sampled_from(["x-amzn-errortype", "x-amzn-requestid", "content-type", "x-other"]),
        st.text(max_size=30),
        max_size=3,
    ),
)
def test_hostile_responses_only_raise_library_errors(
    body: bytes, status: int, headers: dict[str, str]
) -> None:
    response = HttpResponse(status, headers, body)
    try:
        if status == 200:
            awsjson11.deserialize_response(kms_mrk.DescribeKeyResponse.__schema__, response)
        else:
            error = awsjson11.deserialize_error(response, ERRORS_BY_CODE, KMSServiceException)
            assert isinstance(error, ServiceException)
            assert error.code
    except ResponseParseError as exc:
        assert str(exc)


# -- every output schema, values shaped like the schema but hostile at any member -------------

_OUTPUT_SCHEMAS = sorted(
    {
        getattr(kms_mrk.commands, name).output_type.__schema__
        for name in kms_mrk.commands.OPERATIONS.values()
    },
    key=lambda schema: schema.name,
)
_EXTREME_TIMES: list[Any] = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "Mon, 01 Jan 0001 00:00:00 +0100",
    "0000-01-01T00:00:00Z",
    "2015-02-30T00:00:00Z",
    "1e999",
    "NaN",
    "",
    1e300,
    -1e300,
    2**70,
    253402300800,
    -62135596801,
]
_WRONG = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@functools.cache
def _hostile(schema: Schema, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON shaped like ``schema``, where any member may hold a wrong or extreme value."""
    kind = schema.type
    right: st.SearchStrategy[Any]
    if depth > 4:
        return _WRONG
    if kind in STRUCTURED_TYPES:
        members = {m.name: _hostile(m.target, depth + 1) for m in schema.members}
        right = st.fixed_dictionaries({}, optional={**members, "UnknownMember": _WRONG})
    elif kind == LIST:
        assert schema.member is not None
        right = st.lists(_hostile(schema.member, depth + 1), max_size=3)
    elif kind == MAP:
        assert schema.value is not None
        right = st.dictionaries(st.text(max_size=4), _hostile(schema.value, depth + 1), max_size=3)
    elif kind == TIMESTAMP:
        right = st.sampled_from(_EXTREME_TIMES) | st.floats() | st.integers() | st.text(max_size=30)
    elif kind == BLOB:
        right = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()) | st.text(
            max_size=8
        )
    elif kind == STRING and schema.enum:
        right = st.sampled_from(list(schema.enum)) | st.text(max_size=8)
    else:
        right = _WRONG
    return right | _WRONG


@settings(max_examples=600)
@given(data=st.data())
def test_hostile_values_in_every_output_schema_only_raise_parse_errors(
    data: st.DataObject,
) -> None:
    schema = data.draw(st.sampled_from(_OUTPUT_SCHEMAS))
    payload = data.draw(_hostile(schema))
    body = json.dumps(payload, allow_nan=True).encode()
    try:
        result = awsjson11.deserialize_response(schema, HttpResponse(200, {}, body))
    except ResponseParseError as exc:
        assert str(exc)
    else:
        assert isinstance(result, schema.py_type)


@pytest.mark.parametrize("header", ["", ":", ":http://internal.amazon.com/", "aws#", " "])
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"code": "DisabledException"}', "DisabledException"),
        (b'{"__type": "com.amazonaws.kms#NotFoundException"}', "NotFoundException"),
        (b'{"code": ":", "__type": "NotFoundException"}', "NotFoundException"),
    ],
)
def test_an_empty_error_type_header_falls_through_to_the_body(
    header: str, body: bytes, code: str
) -> None:
    response = HttpResponse(400, {"X-Amzn-Errortype": header}, body)
    error = awsjson11.deserialize_error(response, ERRORS_BY_CODE, KMSServiceException)
    assert error.code == code
    assert type(error) is ERRORS_BY_CODE[code]
