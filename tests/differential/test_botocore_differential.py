"""Our serializer and parser against botocore's, driven by the same vendored KMS model.

For every operation, hypothesis builds valid inputs from the model; the request bodies and
headers we produce must equal what botocore's JSON serializer produces for the same
parameters (compared as JSON). Likewise, generated responses must parse to the same values.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kms_mrk.commands
from codegen.vendor import SERVICE_FILE
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Command, Shape
from kms_mrk.transport import HttpResponse
from tests._strategies import values

botocore_model = pytest.importorskip("botocore.model")
botocore_serialize = pytest.importorskip("botocore.serialize")
botocore_parsers = pytest.importorskip("botocore.parsers")

OPERATIONS = sorted(kms_mrk.commands.OPERATIONS)


@cache
def _service() -> Any:
    return botocore_model.ServiceModel(json.loads(SERVICE_FILE.read_text()), "kms")


def _command(op: str) -> type[Command[Any]]:
    cls: type[Command[Any]] = getattr(kms_mrk.commands, kms_mrk.commands.OPERATIONS[op])
    return cls


def _normalize(value: Any) -> Any:
    if isinstance(value, Shape):
        return _normalize(value.to_dict())
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dt.datetime):
        return round(value.timestamp(), 6)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    return value


@pytest.mark.parametrize("op", OPERATIONS)
@settings(max_examples=15)
@given(data=st.data())
def test_request_matches_botocore(op: str, data: st.DataObject) -> None:
    cls = _command(op)
    command = data.draw(values(cls.__schema__).map(lambda v: cls.from_dict(v.to_dict())))
    ours = awsjson11.serialize_request(
        "TrentService", op, cls.__schema__, command, "https://kms.us-east-1.amazonaws.com"
    )
    serializer = botocore_serialize.create_serializer("json", include_validation=False)
    theirs = serializer.serialize_to_request(command.to_dict(), _service().operation_model(op))
    assert json.loads(ours.body) == json.loads(theirs["body"])
    assert ours.method == theirs["method"]
    assert ours.header("X-Amz-Target") == theirs["headers"]["X-Amz-Target"]
    assert ours.header("Content-Type") == theirs["headers"]["Content-Type"]
    assert ours.url.endswith(theirs["url_path"])


@pytest.mark.parametrize("op", OPERATIONS)
@settings(max_examples=15)
@given(data=st.data())
def test_response_parse_matches_botocore(op: str, data: st.DataObject) -> None:
    cls = _command(op)
    schema = cls.output_type.__schema__
    value = data.draw(values(schema))
    body = awsjson11.encode_body(schema, value)
    response = HttpResponse(200, {"x-amzn-requestid": "r-1"}, body)
    ours = awsjson11.deserialize_response(schema, response)
    op_model = _service().operation_model(op)
    if op_model.output_shape is None:
        assert ours.to_dict() == {}
        return
    parser = botocore_parsers.create_parser("json")
    theirs = parser.parse(
        {"status_code": 200, "headers": {"x-amzn-requestid": "r-1"}, "body": body},
        op_model.output_shape,
    )
    theirs.pop("ResponseMetadata", None)
    assert _normalize(ours) == _normalize(theirs)
    assert ours == value
