"""botocore's AWS JSON 1.1 protocol compliance suites, run through our serializer and parser.

The schemas are built at run time from each suite's botocore-format model with the same
machinery the generated KMS code uses (``codegen.model.build_schemas``), so these cases test
the codec, not a KMS special case.

Skipped, with reasons (also listed in docs/commands-and-errors.md):
- suite "PutWithContentEncoding": request compression (the ``requestcompression`` trait) is
  not used by KMS and not implemented; botocore skips the same suite.
Notes:
- ``requireHeaders: ["Content-Length"]``: the serializer leaves Content-Length to the
  transport (urllib3 and requests set it from the body), so it is not checked here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from codegen.model import build_schemas
from kms_mrk.errors import ResponseParseError, ServiceException
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Schema, Shape, shape_from_dict, shape_to_dict
from kms_mrk.transport import HttpResponse
from tests.conftest import VECTORS

SUITES = VECTORS / "botocore-protocols"
SKIPPED_SUITES = {
    "Test cases for PutWithContentEncoding operation": (
        "request compression (requestcompression trait) is not used by KMS"
    ),
}


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _cases(kind: str) -> list[Any]:
    out = []
    for suite in _load(SUITES / kind / "json.json"):
        for case in suite["cases"]:
            marks = []
            if suite["description"] in SKIPPED_SUITES:
                marks.append(pytest.mark.skip(reason=SKIPPED_SUITES[suite["description"]]))
            out.append(
                pytest.param(suite, case, id=case.get("id") or case["description"], marks=marks)
            )
    return out


def _special_floats(schema: Schema, value: Any) -> Any:
    """The suites write NaN/Infinity as strings in params and results."""
    if schema.type in ("float", "double") and isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    if schema.type in ("structure", "union") and isinstance(value, dict):
        return {
            k: _special_floats(schema.members_by_name[k].target, v)
            if k in schema.members_by_name
            else v
            for k, v in value.items()
        }
    if schema.type == "list" and isinstance(value, list):
        assert schema.member is not None
        return [_special_floats(schema.member, v) for v in value]
    if schema.type == "map" and isinstance(value, dict):
        assert schema.value is not None
        return {k: _special_floats(schema.value, v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    """Our parsed values in the suites' notation (blobs as text, timestamps as epoch)."""
    if isinstance(value, Shape):
        return {k: _plain(v) for k, v in shape_to_dict(value).items()}
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("suite", "case"), _cases("input"))
def test_input_case(suite: dict[str, Any], case: dict[str, Any]) -> None:
    schemas = build_schemas(suite["shapes"])
    operation = case["given"]
    input_ref = operation.get("input")
    schema = schemas[input_ref["shape"]] if input_ref else None
    value = None
    if schema is not None:
        assert schema.py_type is not None
        value = shape_from_dict(schema.py_type, _special_floats(schema, case["params"]))
    endpoint = suite.get("clientEndpoint") or "https://example.com"
    host_prefix = (operation.get("endpoint") or {}).get("hostPrefix")
    request = awsjson11.serialize_request(
        suite["metadata"]["targetPrefix"],
        operation["name"],
        schema,
        value,
        endpoint,
        host_prefix=host_prefix,
    )
    expected = case["serialized"]
    assert request.method == expected.get("method", "POST")
    scheme_host, _, path = request.url.partition("://")[2].partition("/")
    assert "/" + path == expected["uri"]
    if "host" in expected:
        assert (scheme_host + "/" + path).rstrip("/") == expected["host"].rstrip("/") or (
            scheme_host == expected["host"]
        )
    for name, val in expected.get("headers", {}).items():
        assert request.header(name) == val, name
    for name in expected.get("forbidHeaders", []):
        assert request.header(name) is None
    if "body" in expected:
        want = json.loads(expected["body"]) if expected["body"] else {}
        assert json.loads(request.body) == want


def _error_classes(schemas: dict[str, Schema]) -> dict[str, type[ServiceException]]:
    registry: dict[str, type[ServiceException]] = {}
    for name, schema in schemas.items():
        if not schema.exception:
            continue
        members = tuple(
            (m.name, m.py_name) for m in schema.members if m.name not in ("message", "Message")
        )
        cls = type(
            name,
            (ServiceException,),
            {
                "code": schema.error_code or name,
                "fault": "server" if schema.fault else "client",
                "_members": members,
                "__schema__": schema,
            },
        )
        registry[schema.error_code or name] = cls
    return registry


@pytest.mark.parametrize(("suite", "case"), _cases("output"))
def test_output_case(suite: dict[str, Any], case: dict[str, Any]) -> None:
    schemas = build_schemas(suite["shapes"])
    operation = case["given"]
    raw = case["response"]
    body = raw.get("body") or ""
    response = HttpResponse(raw["status_code"], raw.get("headers") or {}, body.encode("utf-8"))
    if "errorCode" in case:
        registry = _error_classes(schemas)
        error = awsjson11.deserialize_error(response, registry, ServiceException)
        assert error.code == case["errorCode"]
        if case.get("errorMessage"):
            assert error.message == case["errorMessage"]
        for wire, expected in case.get("error", {}).items():
            if wire in ("message", "Message"):
                assert error.message == expected
                continue
            schema = schemas.get(type(error).__name__)
            assert schema is not None
            member = schema.members_by_name[wire]
            assert _plain(getattr(error, member.py_name)) == expected
        return
    output_ref = operation.get("output")
    schema = schemas[output_ref["shape"]] if output_ref else None
    result = awsjson11.deserialize_response(schema, response)
    expected = case["result"]
    if schema is None:
        assert result is None
        return
    got = _plain(result)
    assert got == pytest.approx(expected) if _has_floats(expected) else got == expected
    if "X-Amzn-Requestid" in (raw.get("headers") or {}):
        assert awsjson11.request_id_from(response.headers) == raw["headers"]["X-Amzn-Requestid"]


def _has_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_floats(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_floats(v) for v in value)
    return False


def test_every_case_is_run_or_listed() -> None:
    """The suites are present, and no case is skipped without a reason."""
    total = 0
    for kind in ("input", "output"):
        for suite in _load(SUITES / kind / "json.json"):
            total += len(suite["cases"])
            assert suite["description"] in SKIPPED_SUITES or suite["cases"]
    assert total > 100


def test_input_round_trips_through_from_dict() -> None:
    """A params dict converted to a typed value converts back to the same wire names."""
    for suite in _load(SUITES / "input" / "json.json"):
        schemas = build_schemas(suite["shapes"])
        for case in suite["cases"]:
            ref = case["given"].get("input")
            if not ref or suite["description"] in SKIPPED_SUITES:
                continue
            schema = schemas[ref["shape"]]
            assert schema.py_type is not None
            params = {k: v for k, v in case["params"].items() if v is not None}
            value = shape_from_dict(schema.py_type, _special_floats(schema, params))
            again = shape_from_dict(schema.py_type, shape_to_dict(value))
            assert _plain(again) == _plain(value)


def test_malformed_output_is_a_library_error() -> None:
    suite = _load(SUITES / "output" / "json.json")[0]
    schemas = build_schemas(suite["shapes"])
    schema = schemas[suite["cases"][0]["given"]["output"]["shape"]]
    bad = HttpResponse(200, {"x-amzn-requestid": "rid"}, b"{not json")
    with pytest.raises(ResponseParseError) as info:
        awsjson11.deserialize_response(schema, bad)
    assert "rid" in str(info.value)
    assert "HTTP 200" in str(info.value)
