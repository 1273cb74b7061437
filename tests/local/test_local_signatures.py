"""Optional SigV4 verification: errors named as real AWS names them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kms_mrk.auth import Credentials, SigV4Signer
from kms_mrk.local import LocalKMS
from kms_mrk.transport import HttpRequest
from tests.local._calls import make_client, raw_call

KEYS = {"AKIDGOOD": "good-secret"}


@pytest.fixture
def strict() -> LocalKMS:
    return LocalKMS(verify_signatures=True, access_keys=KEYS)


def code(result: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    return result[0], result[1]["__type"]


def test_good_signatures_pass(strict: LocalKMS) -> None:
    client = make_client(strict, "eu-west-1", Credentials("AKIDGOOD", "good-secret"))
    meta = client.call("CreateKey").key_metadata
    assert meta.arn.startswith("arn:aws:kms:eu-west-1:")


def test_wrong_secret_is_invalid_signature(strict: LocalKMS) -> None:
    result = raw_call(strict, "ListKeys", {}, credentials=Credentials("AKIDGOOD", "wrong"))
    assert code(result) == (400, "InvalidSignatureException")
    assert "signature we calculated does not match" in result[1]["message"]


def test_unknown_access_key_is_unrecognized_client(strict: LocalKMS) -> None:
    result = raw_call(strict, "ListKeys", {}, credentials=Credentials("AKIDWHO", "x"))
    assert code(result) == (400, "UnrecognizedClientException")
    assert result[1]["message"] == "The security token included in the request is invalid"


def test_unsigned_request_is_missing_authentication_token(strict: LocalKMS) -> None:
    assert code(raw_call(strict, "ListKeys", {}, sign=False)) == (
        400,
        "MissingAuthenticationTokenException",
    )


def test_malformed_authorization_is_incomplete_signature(strict: LocalKMS) -> None:
    request = HttpRequest(
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        {"X-Amz-Target": "TrentService.ListKeys", "Authorization": "AWS4-HMAC-SHA256 Credential=x"},
        b"{}",
    )
    response = strict.send(request)
    assert response.status == 400
    assert b"IncompleteSignatureException" in response.body


def test_a_signature_from_long_ago_is_refused(strict: LocalKMS) -> None:
    request = HttpRequest(
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
        b"{}",
    )
    old = SigV4Signer().sign(
        request,
        Credentials("AKIDGOOD", "good-secret"),
        "us-east-1",
        timestamp=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
    )
    response = strict.send(old)
    assert response.status == 400
    assert b"InvalidSignatureException" in response.body
    assert b"Signature expired" in response.body


def test_without_verification_any_signature_routes_by_region(kms: LocalKMS) -> None:
    result = raw_call(
        kms, "CreateKey", {}, region="ap-northeast-2", credentials=Credentials("AKIDANY", "x")
    )
    assert result[0] == 200
    assert result[1]["KeyMetadata"]["Arn"].startswith("arn:aws:kms:ap-northeast-2:")
