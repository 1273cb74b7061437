"""Differential test: our signer and botocore's SigV4Auth agree on KMS-shaped requests.

botocore (1.44) takes the signing time from ``botocore.auth.get_current_datetime()`` (naive
UTC), so the test patches that function with the example's timestamp. The generated requests
avoid the few inputs where we differ from botocore on purpose (see kms_mrk/auth/_sigv4.py):
a ``Date`` header, a stale ``X-Amz-Security-Token`` header, and query strings that are not
already percent-encoded.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms_mrk.auth import Credentials, SigV4Signer, verify
from kms_mrk.transport._types import HttpRequest

REGIONS = st.one_of(
    st.sampled_from(["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "us-gov-west-1"]),
    st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True),
)
ODD_ORIGINS = st.sampled_from(
    [
        "https://kms.us-east-1.amazonaws.com:443",
        "https://kms-fips.us-east-1.amazonaws.com:8443",
        "http://localhost:8080",
        "http://127.0.0.1:80",
        "http://127.0.0.1:4566",
        "https://KMS.Eu-West-1.AmazonAWS.com",
        "https://[::1]:4566",
        "https://[fd00::1]",
        "https://kms.cn-north-1.amazonaws.com.cn",
    ]
)
# Path segments: anything URL-safe enough to survive urlsplit, plus dot segments.
SEGMENT = st.one_of(
    st.sampled_from([".", "..", "", "%20", "a%2Fb", "~user"]),
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
            blacklist_characters="?#/\\%",
        ),
        min_size=1,
        max_size=8,
    ),
)
PATH = st.one_of(
    st.just("/"),
    st.just(""),
    st.lists(SEGMENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
QUERY_TEXT = st.text(max_size=6, alphabet=st.characters(blacklist_categories=["Cs"]))
QUERY = st.lists(st.tuples(QUERY_TEXT.filter(bool), QUERY_TEXT), max_size=4).map(
    lambda pairs: "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
)

RESERVED = {"authorization", "x-amz-date", "x-amz-security-token", "date", "host"}
HEADER_NAME = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
        lambda n: n.lower() not in RESERVED
    ),
    # names botocore never signs: both signers must leave them out
    st.sampled_from(
        ["User-Agent", "Expect", "X-Amzn-Trace-Id", "Connection", "traceparent", "TE", "Baggage"]
    ),
)
# Odd whitespace (tabs, runs, vertical tab, NBSP, NEL, em space) and non-ASCII, no CR/LF.
HEADER_VALUE = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from(list(" \t\x0b\x0c\xa0\x85\u2003\u3000éß€ሴ")),
    ),
    max_size=24,
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
BODY = st.one_of(
    st.just(b""),
    st.dictionaries(st.text(max_size=10), JSON_VALUE, max_size=4).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8")
    ),
)
TIMESTAMP = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.just(timezone.utc),
)
ACCESS_KEY = st.from_regex(r"(AKIA|ASIA)[A-Z0-9]{12,16}", fullmatch=True)
SECRET = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
TOKEN = st.none() | st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1
)


@st.composite
def kms_requests(draw: st.DrawFn) -> tuple[str, HttpRequest]:
    region = draw(REGIONS)
    if draw(st.booleans()):
        origin = f"https://kms.{region}.amazonaws.com"
        path = "/"
        query = ""
    else:
        origin = draw(ODD_ORIGINS)
        path = draw(PATH)
        query = draw(QUERY)
    url = origin + path + (f"?{query}" if query else "")
    body = draw(BODY)
    headers = {
        "X-Amz-Target": f"TrentService.{draw(st.sampled_from(['DescribeKey', 'Encrypt']))}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    if draw(st.booleans()):
        headers["Content-Length"] = str(len(body))
    for name, value in draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=5)):
        headers[name] = value  # names differing only in case stay separate entries
    if draw(st.booleans()):
        explicit = origin.split("://", 1)[1]
        headers["Host"] = draw(st.sampled_from([explicit, explicit.upper(), f" {explicit} "]))
    if draw(st.integers(0, 9)) == 0:
        headers["X-Amz-Content-SHA256"] = draw(
            st.sampled_from([hashlib.sha256(body).hexdigest(), "UNSIGNED-PAYLOAD"])
        )
    return region, HttpRequest("POST", url, headers, body)


def botocore_sign(
    request: HttpRequest, credentials: Credentials, region: str, when: datetime
) -> Any:
    boto_request = AWSRequest(
        method=request.method, url=request.url, headers=dict(request.headers), data=request.body
    )
    auth = botocore.auth.SigV4Auth(
        BotoCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        "kms",
        region,
    )
    naive = when.astimezone(timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive):
        auth.add_auth(boto_request)
    return boto_request


SIGNER = SigV4Signer("kms")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=kms_requests(),
    access_key=ACCESS_KEY,
    secret=SECRET,
    token=TOKEN,
    when=TIMESTAMP,
)
def test_same_headers_as_botocore(
    request: tuple[str, HttpRequest],
    access_key: str,
    secret: str,
    token: str | None,
    when: datetime,
) -> None:
    region, http_request = request
    credentials = Credentials(access_key, secret, token)
    ours = SIGNER.sign(http_request, credentials, region, timestamp=when)
    theirs = botocore_sign(http_request, credentials, region, when)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        assert ours.header(name) == theirs.headers.get(name), name
    # our verifier accepts what botocore signed
    signed_by_botocore = HttpRequest(
        "POST", http_request.url, dict(theirs.headers.items()), http_request.body
    )
    if http_request.header("x-amz-content-sha256") in (
        None,
        hashlib.sha256(http_request.body).hexdigest(),
    ):
        verify(signed_by_botocore, {access_key: secret}.get, now=when, service="kms")


def test_botocore_timestamp_hook_still_exists() -> None:
    # If botocore renamed the hook, the patch above would silently stop fixing the time.
    assert callable(botocore.auth.get_current_datetime)
    when = datetime(2031, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    signed = botocore_sign(
        HttpRequest("POST", "https://kms.us-east-1.amazonaws.com/"),
        Credentials("AKIDEXAMPLE", "secret"),
        "us-east-1",
        when,
    )
    assert signed.headers["X-Amz-Date"] == "20310203T040506Z"


def test_date_header_signed_by_botocore_verifies() -> None:
    # botocore replaces a Date header and then sends no X-Amz-Date; verify() must accept it.
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    request = HttpRequest(
        "POST",
        "https://kms.eu-west-1.amazonaws.com/",
        {"Date": "whatever", "X-Amz-Target": "TrentService.ListKeys"},
        b"{}",
    )
    theirs = botocore_sign(request, Credentials("AKIDEXAMPLE", "s3cr3t"), "eu-west-1", when)
    assert "X-Amz-Date" not in theirs.headers
    signed = HttpRequest("POST", request.url, dict(theirs.headers.items()), request.body)
    auth = verify(signed, {"AKIDEXAMPLE": "s3cr3t"}.get, now=when)
    assert auth.region == "eu-west-1"
    assert "date" in auth.signed_headers
