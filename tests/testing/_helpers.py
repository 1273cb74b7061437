"""Helpers shared by the testing toolkit's tests: hand-made KMS requests, signed or not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kms_mrk.auth import Credentials, SigV4Signer
from kms_mrk.testing import TEST_CREDENTIALS
from kms_mrk.transport import HttpRequest, HttpResponse

KEY_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}"


def raw_request(
    operation: str,
    body: bytes | Mapping[str, Any] = b"{}",
    *,
    region: str = "us-east-1",
    credentials: Credentials | None = TEST_CREDENTIALS,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    url: str | None = None,
) -> HttpRequest:
    """A KMS request as a client would send it; signed unless ``credentials`` is None."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = HttpRequest(
        method,
        url or f"https://kms.{region}.amazonaws.com/",
        {
            "X-Amz-Target": f"TrentService.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            **(headers or {}),
        },
        payload,
    )
    if credentials is None:
        return request
    return SigV4Signer("kms").sign(request, credentials, region)


def error_of(response: HttpResponse) -> tuple[int, str, str | None]:
    """(status, __type, message) of an error response."""
    data = json.loads(response.body)
    return response.status, data["__type"], data.get("message")
