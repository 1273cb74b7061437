"""Optional SigV4 verification: errors named as real AWS names them."""

from __future__ import annotations

import datetime as dt
import json
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


def _with_authorization(
    region: str, authorization: str, operation: str = "ListKeys"
) -> HttpRequest:
    return HttpRequest(
        "POST",
        f"https://kms.{region}.amazonaws.com/",
        {
            "X-Amz-Target": f"TrentService.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": authorization,
        },
        b"{}",
    )


def _signed_header(region: str) -> str:
    request = HttpRequest(
        "POST",
        f"https://kms.{region}.amazonaws.com/",
        {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
        b"{}",
    )
    signed = SigV4Signer("kms").sign(request, Credentials("AKIDANY", "x"), region)
    return signed.headers["Authorization"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.rsplit("Signature=", 1)[0] + "Signature=00",  # too short
        lambda h: h.rsplit("Signature=", 1)[0] + "Signature=" + "A" * 64,  # not lower-case hex
        lambda h: h.replace("SignedHeaders=", "Headers="),  # a required part missing
        lambda h: h.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),  # another algorithm
        lambda h: h.replace("/aws4_request", ""),  # a truncated credential scope
        lambda _h: "Bearer abc",
    ],
)
def test_a_malformed_authorization_is_incomplete_signature_even_unverified(
    kms: LocalKMS, mangle: Any
) -> None:
    """Without verification the Region still comes from the header: no silent default Region."""
    good = _signed_header("eu-west-1")
    # The same credential scope parsed once, then a malformed header in that scope.
    assert kms.send(_with_authorization("eu-west-1", good)).status == 200
    response = kms.send(_with_authorization("eu-west-1", mangle(good), "CreateKey"))
    assert response.status == 400
    body = json.loads(response.body)
    assert body["__type"] == "IncompleteSignatureException"
    assert "Authorization" in body["message"]
    assert kms.snapshot()["accounts"] == {}  # nothing was created in any Region


def test_the_scope_cache_still_routes_every_well_formed_header(kms: LocalKMS) -> None:
    for region in ("eu-west-1", "ap-south-1", "eu-west-1"):
        for _ in range(2):
            response = kms.send(_with_authorization(region, _signed_header(region), "CreateKey"))
            assert response.status == 200
            assert json.loads(response.body)["KeyMetadata"]["Arn"].startswith(
                f"arn:aws:kms:{region}:"
            )
    blank = _with_authorization("eu-west-1", "   ", "CreateKey")
    assert json.loads(kms.send(blank).body)["KeyMetadata"]["Arn"].startswith(
        "arn:aws:kms:us-east-1:"
    )  # an empty header is no header: the default Region


# -- a captured request cannot be re-targeted or re-scoped -------------------------------------


def _send_raw(port: int, request: HttpRequest) -> tuple[int, dict[str, Any]]:
    import socket

    head = f"{request.method} / HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()
    )
    head += f"Content-Length: {len(request.body)}\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + request.body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.partition(b"\r\n\r\n")[2])


def test_over_http_a_signature_must_cover_x_amz_target() -> None:
    """DescribeKey signed without x-amz-target, replayed as DisableKey: refused, key unchanged."""
    from kms_mrk.local import serve

    credentials = Credentials("AKIDGOOD", "good-secret")
    with serve(port=0, verify_signatures=True, access_keys=KEYS) as server:
        client = make_client(server.kms, "us-east-1", credentials)
        key_id = client.call("CreateKey").key_metadata.key_id
        body = json.dumps({"KeyId": key_id}).encode()
        url = f"http://127.0.0.1:{server.port}/"
        bare = HttpRequest("POST", url, {"Content-Type": "application/x-amz-json-1.1"}, body)
        signed = SigV4Signer("kms").sign(bare, credentials, "us-east-1")
        assert "x-amz-target" not in (signed.header("authorization") or "")
        replayed = signed.with_header("X-Amz-Target", "TrentService.DisableKey")

        status, answer = _send_raw(server.port, replayed)
        assert (status, answer["__type"]) == (400, "IncompleteSignatureException")
        assert answer["message"] == "'X-Amz-Target' must be a SignedHeader in the AWS Authorization"
        assert client.call("DescribeKey", KeyId=key_id).key_metadata.enabled is True

        # the same request signed properly goes through
        proper = SigV4Signer("kms").sign(
            bare.with_header("X-Amz-Target", "TrentService.DescribeKey"), credentials, "us-east-1"
        )
        assert _send_raw(server.port, proper)[0] == 200


def test_duplicated_or_unknown_authorization_parts_are_refused(strict: LocalKMS) -> None:
    credentials = Credentials("AKIDGOOD", "good-secret")
    request = HttpRequest(
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
        b"{}",
    )
    signed = SigV4Signer("kms").sign(request, credentials, "us-east-1")
    header = signed.header("authorization") or ""
    algorithm, _, rest = header.partition(" ")
    for forged, part in (
        (
            f"{algorithm} Credential=AKIDOTHER/20200101/eu-west-1/kms/aws4_request, {rest}",
            "Credential",
        ),
        (f"{header}, SignedHeaders=host", "SignedHeaders"),
        (f"{header}, Signature={'0' * 64}", "Signature"),
    ):
        response = strict.send(signed.with_header("Authorization", forged))
        answer = json.loads(response.body)
        assert (response.status, answer["__type"]) == (400, "IncompleteSignatureException")
        assert f"more than one '{part}=' part" in answer["message"]
    response = strict.send(signed.with_header("Authorization", f"{header}, Extra=1"))
    assert b"unknown part 'Extra'" in response.body
    assert strict.send(signed).status == 200


def test_a_wrong_secret_gets_kms_full_message(strict: LocalKMS) -> None:
    result = raw_call(strict, "ListKeys", {}, credentials=Credentials("AKIDGOOD", "wrong"))
    assert result[1]["message"] == (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details."
    )
