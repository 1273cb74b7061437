"""The `responses` recipe of docs/testing.md: mocking KMS at the HTTP level with RequestsTransport.

``responses`` patches ``requests`` in process, so nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses
from responses import matchers

from kms_mrk import (
    ConnectError,
    DescribeKeyCommand,
    KMSClient,
    KMSInternalException,
    NotFoundException,
)
from kms_mrk.testing import TEST_CREDENTIALS, service_error, service_response
from kms_mrk.testing._common import isolated_environ
from kms_mrk.transport import RequestsTransport

URL = "https://kms.us-east-1.amazonaws.com/"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> Iterator[KMSClient]:
    with KMSClient(
        "us-east-1",
        credentials=TEST_CREDENTIALS,
        transport=RequestsTransport(),
        retry=1,
        environ=isolated_environ(),
    ) as client:
        yield client


def test_a_plain_json_answer(rsps: responses.RequestsMock, client: KMSClient) -> None:
    rsps.add(
        responses.POST,
        URL,
        json={"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}},
        headers={"x-amzn-RequestId": "req-1"},
        match=[
            matchers.header_matcher({"X-Amz-Target": "TrentService.DescribeKey"}),
            matchers.json_params_matcher({"KeyId": "alias/app"}),
        ],
    )

    output = client.describe_key(key_id="alias/app")

    assert output.key_metadata is not None
    assert output.key_metadata.key_id == "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert output.metadata.request_id == "req-1"
    [call] = rsps.calls
    assert str(call.request.headers["Authorization"]).startswith("AWS4-HMAC-SHA256 Credential=")
    body = call.request.body
    assert isinstance(body, bytes)
    assert json.loads(body) == {"KeyId": "alias/app"}


def test_an_error_answer_becomes_the_modeled_exception(
    rsps: responses.RequestsMock, client: KMSClient
) -> None:
    rsps.add(
        responses.POST,
        URL,
        status=400,
        json={"__type": "NotFoundException", "message": "Alias alias/app is not found."},
    )
    with pytest.raises(NotFoundException, match="is not found"):
        client.describe_key(key_id="alias/app")


def test_bodies_built_and_checked_by_the_toolkit(
    rsps: responses.RequestsMock, client: KMSClient
) -> None:
    ok = service_response(DescribeKeyCommand, {"KeyMetadata": {"KeyId": "k"}})
    failed = service_error(DescribeKeyCommand, KMSInternalException, "try again")
    rsps.add(responses.POST, URL, body=failed.body, status=failed.status)
    rsps.add(responses.POST, URL, body=ok.body, status=ok.status, headers=dict(ok.headers))

    with pytest.raises(KMSInternalException):
        client.describe_key(key_id="k")
    output = client.describe_key(key_id="k")
    assert output.key_metadata is not None
    assert output.key_metadata.key_id == "k"


def test_an_unmatched_request_is_a_connection_error(
    rsps: responses.RequestsMock, client: KMSClient
) -> None:
    rsps.add(responses.POST, "https://kms.eu-west-1.amazonaws.com/", json={})
    with pytest.raises(ConnectError):
        client.describe_key(key_id="k")
    rsps.assert_all_requests_are_fired = False
