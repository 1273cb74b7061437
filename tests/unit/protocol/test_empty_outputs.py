"""Responses without output: HTTP 200 with ``null``, an empty body or ``{}``, for every
operation of the model (moto's server answers DisableKey, CreateAlias... with ``null``)."""

from __future__ import annotations

import json

import pytest

import kms_mrk
import kms_mrk.commands
from kms_mrk.errors import ResponseParseError
from kms_mrk.protocol import awsjson11
from kms_mrk.transport import HttpResponse

COMMANDS = sorted(
    (getattr(kms_mrk.commands, name) for name in kms_mrk.commands.__all__),
    key=lambda c: c.operation_name,
)


def test_every_operation_of_the_model_is_covered() -> None:
    assert len(COMMANDS) == 56
    assert len({c.operation_name for c in COMMANDS}) == 56


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.operation_name)
@pytest.mark.parametrize("body", [b"null", b" null\n", b"", b"  ", b"{}"])
def test_an_empty_answer_is_an_output_with_nothing_set(command: type, body: bytes) -> None:
    output = command.output_type
    schema = output.__schema__
    headers = {"x-amzn-requestid": "rid-1", "content-type": awsjson11.CONTENT_TYPE}
    result = awsjson11.deserialize_response(schema, HttpResponse(200, headers, body))
    assert type(result) is output
    assert result == output()
    assert all(getattr(result, m.py_name) is None for m in schema.members)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.operation_name)
@pytest.mark.parametrize("body", [b"[]", b'"null"', b"0", b"true", b"nul", b"null null"])
def test_other_top_level_values_are_still_refused(command: type, body: bytes) -> None:
    schema = command.output_type.__schema__
    with pytest.raises(ResponseParseError) as caught:
        awsjson11.deserialize_response(schema, HttpResponse(200, {}, body))
    assert "top level" in str(caught.value) or "not valid JSON" in str(caught.value)


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c.output_type.__schema__.members],
    ids=lambda c: c.operation_name,
)
def test_null_members_are_unset_members(command: type) -> None:
    schema = command.output_type.__schema__
    body = json.dumps({m.name: None for m in schema.members}).encode()
    result = awsjson11.deserialize_response(schema, HttpResponse(200, {}, body))
    assert result == command.output_type()


class _RawTransport:
    """Answers every request with HTTP 200 and the body ``null``, as moto's server does."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    def send(self, request: kms_mrk.HttpRequest) -> HttpResponse:
        self.targets.append(request.header("x-amz-target") or "")
        return HttpResponse(200, {"x-amzn-requestid": "rid-7"}, b"null")

    def close(self) -> None:
        pass


def test_the_client_accepts_null_for_an_operation_without_output() -> None:
    transport = _RawTransport()
    client = kms_mrk.KMSClient(
        "us-east-1", credentials=kms_mrk.Credentials("AKID", "secret"), transport=transport
    )
    response = client.disable_key(key_id="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert response.metadata.request_id == "rid-7"
    assert response.metadata.attempts == 1
    described = client.describe_key(key_id="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert described.key_metadata is None
    assert transport.targets == ["TrentService.DisableKey", "TrentService.DescribeKey"]
