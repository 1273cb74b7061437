"""Our serializer and parser against botocore's, driven by the same vendored KMS model.

For every operation, hypothesis builds valid inputs from the model; the request bodies and
the whole header set we produce must equal what botocore's JSON serializer produces for the
same parameters (bodies compared as JSON). Likewise, responses must parse to the same values:
both bodies our encoder writes and wire bodies written here straight from the schema, with
the forms our encoder never writes (ISO 8601 timestamps with offsets and long fractions,
``null`` members, members the model does not know).
"""

from __future__ import annotations

import base64
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
from kms_mrk.schema import (
    BLOB,
    BOOLEAN,
    INTEGER_TYPES,
    LIST,
    MAP,
    STRING,
    STRUCTURED_TYPES,
    TIMESTAMP,
    Command,
    Schema,
    Shape,
)
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
    assert _headers(ours.headers) == _headers(theirs["headers"])
    assert ours.url.endswith(theirs["url_path"])


def _headers(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


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


# -- wire bodies written from the schema, not by our encoder ----------------------------------

_UTC = dt.timezone.utc
_MOMENTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(_UTC)
)


@st.composite
def _wire_timestamp(draw: st.DrawFn) -> Any:
    moment = draw(_MOMENTS)
    form = draw(st.sampled_from(["epoch", "epoch-ms", "iso-z", "iso-offset"]))
    if form == "epoch":
        return int(moment.timestamp())
    if form == "epoch-ms":
        return round(moment.timestamp(), 3)
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = f"{moment.microsecond:06d}123"[:digits]
    if form == "iso-z":
        local, suffix = moment, draw(st.sampled_from(["Z", "z", "+00:00"]))
    else:
        minutes = draw(st.integers(min_value=-14 * 60, max_value=14 * 60))
        local = moment.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
        sign = "-" if minutes < 0 else "+"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{local:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}{suffix}"


_TEXT = st.text(st.characters(exclude_categories=["Cs"], max_codepoint=0x2FFF), max_size=10)
_UNKNOWN = st.dictionaries(
    st.sampled_from(["FutureMember", "Zz", "__extra"]),
    st.none() | st.integers() | _TEXT | st.lists(st.integers(), max_size=2),
    max_size=2,
)


def _wire(schema: Schema, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON as a service could send it for ``schema`` (always valid for the model)."""
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        required = {m.name: _wire(m.target, depth + 1) for m in schema.members if m.required}
        optional = (
            {
                m.name: st.none() | _wire(m.target, depth + 1)
                for m in schema.members
                if not m.required
            }
            if depth < 3
            else {}
        )
        shaped = st.fixed_dictionaries(required, optional=optional)
        return st.tuples(shaped, _UNKNOWN).map(lambda pair: {**pair[1], **pair[0]})
    if kind == LIST:
        assert schema.member is not None
        return st.lists(_wire(schema.member, depth + 1), max_size=3 if depth < 3 else 0)
    if kind == MAP:
        assert schema.key is not None and schema.value is not None
        return st.dictionaries(_TEXT, _wire(schema.value, depth + 1), max_size=3)
    if kind == TIMESTAMP:
        return _wire_timestamp()
    if kind == BLOB:
        return st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode("ascii"))
    if kind == BOOLEAN:
        return st.booleans()
    if kind in INTEGER_TYPES:
        return st.integers(min_value=-(2**31), max_value=2**31 - 1)
    if kind == STRING:
        return st.sampled_from(list(schema.enum)) | _TEXT if schema.enum else _TEXT
    raise AssertionError(f"no wire strategy for {kind} ({schema.name})")


@pytest.mark.parametrize("op", OPERATIONS)
@settings(max_examples=15)
@given(data=st.data())
def test_wire_bodies_parse_like_botocore(op: str, data: st.DataObject) -> None:
    cls = _command(op)
    schema = cls.output_type.__schema__
    body = json.dumps(data.draw(_wire(schema))).encode()
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
