"""SigV4Signer behaviour beyond the vectors, and the server-side helpers."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.auth import (
    Credentials,
    SignatureVerificationError,
    SigV4Authorization,
    SigV4Signer,
    VerificationFailure,
    parse_authorization,
    region_from_authorization,
    verify,
)
from kms_mrk.auth._sigv4 import (
    _KeyedMac,
    amz_date,
    build_canonical_request,
    canonical_query,
    canonical_uri,
)
from kms_mrk.errors._base import ConfigurationError, KmsMrkError
from kms_mrk.transport._types import HttpRequest

WHEN = datetime(2024, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
CREDS = Credentials("AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
TEMP = Credentials("ASIAEXAMPLEKEY000002", "anotherSecretKey/abc+def", "FwoGZXIvYXdzEXAMPLE==")
SECRETS = {CREDS.access_key_id: CREDS.secret_access_key, TEMP.access_key_id: TEMP.secret_access_key}
URL = "https://kms.eu-west-2.amazonaws.com/"
REPO = Path(__file__).resolve().parents[3]


def kms_request(**headers: str) -> HttpRequest:
    base = {
        "X-Amz-Target": "TrentService.DescribeKey",
        "Content-Type": "application/x-amz-json-1.1",
        "User-Agent": "kms-mrk/test",
    }
    base.update(headers)
    return HttpRequest("POST", URL, base, b'{"KeyId": "alias/mrk-test"}')


def signed(
    credentials: Credentials = CREDS, *, when: datetime = WHEN, **headers: str
) -> HttpRequest:
    return SigV4Signer().sign(kms_request(**headers), credentials, "eu-west-2", timestamp=when)


def failure_of(
    request: HttpRequest, *, now: datetime = WHEN, **kwargs: object
) -> SignatureVerificationError:
    with pytest.raises(SignatureVerificationError) as info:
        verify(request, SECRETS.get, now=now, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- signer -------------------------------------------------------------------------------


def test_sign_adds_headers_and_leaves_the_input_alone() -> None:
    request = kms_request()
    out = SigV4Signer().sign(request, TEMP, "eu-west-2", timestamp=WHEN)
    assert "Authorization" not in request.headers
    assert "X-Amz-Date" not in request.headers
    assert out.header("X-Amz-Date") == "20240304T050607Z"
    assert out.header("X-Amz-Security-Token") == TEMP.session_token
    auth = parse_authorization(out.header("Authorization") or "")
    assert auth == SigV4Authorization(
        TEMP.access_key_id,
        "20240304",
        "eu-west-2",
        "kms",
        ("content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"),
        auth.signature if auth else "",
    )
    assert (out.method, out.url, out.body) == (request.method, request.url, request.body)


def test_signing_again_replaces_every_signer_header() -> None:
    first = signed(TEMP)
    later = WHEN + timedelta(seconds=30)
    again = SigV4Signer().sign(first, TEMP, "eu-west-2", timestamp=later)
    fresh = signed(TEMP, when=later)
    assert dict(again.headers) == dict(fresh.headers)
    assert sum(1 for name in again.headers if name.lower() == "authorization") == 1


def test_stale_session_token_is_dropped_for_long_term_credentials() -> None:
    out = SigV4Signer().sign(signed(TEMP), CREDS, "eu-west-2", timestamp=WHEN)
    assert out.header("X-Amz-Security-Token") is None
    assert "x-amz-security-token" not in (out.header("Authorization") or "")


def test_clock_is_used_when_no_timestamp_is_given() -> None:
    ticks = iter([WHEN, WHEN + timedelta(days=1)])
    signer = SigV4Signer(clock=lambda: next(ticks))
    assert signer.sign(kms_request(), CREDS, "eu-west-2").header("X-Amz-Date") == "20240304T050607Z"
    second = signer.sign(kms_request(), CREDS, "eu-west-2")
    assert second.header("X-Amz-Date") == "20240305T050607Z"
    assert "/20240305/eu-west-2/kms/aws4_request" in (second.header("Authorization") or "")


def test_default_clock_signs_with_the_current_time() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    out = SigV4Signer().sign(kms_request(), CREDS, "eu-west-2")
    after = datetime.now(timezone.utc)
    stamp = datetime.strptime(out.header("X-Amz-Date") or "", "%Y%m%dT%H%M%SZ")
    assert before <= stamp.replace(tzinfo=timezone.utc) <= after
    verify(out, SECRETS.get, now=after)


def test_non_utc_timestamps_are_converted_and_naive_ones_rejected() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert amz_date(datetime(2024, 3, 4, 7, 6, 7, tzinfo=plus_two)) == "20240304T050607Z"
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        SigV4Signer().sign(kms_request(), CREDS, "eu-west-2", timestamp=datetime(2024, 1, 1))


@pytest.mark.parametrize("region", ["", "eu/west", "eu west", "a,b", "\x00"])
def test_bad_region_is_rejected_before_signing(region: str) -> None:
    with pytest.raises(ConfigurationError, match="region"):
        SigV4Signer().sign(kms_request(), CREDS, region, timestamp=WHEN)


@pytest.mark.parametrize("service", ["", "k/ms", 3])
def test_bad_service_is_rejected(service: object) -> None:
    with pytest.raises(ConfigurationError, match="service"):
        SigV4Signer(service)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["/", "kms.us-east-1.amazonaws.com/", "https://h:99999/"])
def test_url_must_be_absolute_with_a_valid_port(url: str) -> None:
    with pytest.raises(ConfigurationError, match="URL"):
        SigV4Signer().sign(HttpRequest("POST", url), CREDS, "us-east-1", timestamp=WHEN)


def test_path_only_url_with_host_header_can_be_signed_and_verified() -> None:
    request = HttpRequest("POST", "/", {"Host": "localhost:4566"}, b"{}")
    out = SigV4Signer().sign(request, CREDS, "us-east-1", timestamp=WHEN)
    verify(out, SECRETS.get, now=WHEN)


def test_verify_needs_an_aware_now() -> None:
    with pytest.raises(ConfigurationError, match="now"):
        verify(signed(), SECRETS.get, now=datetime(2024, 3, 4, 5, 6, 7))


def test_credentials_must_be_ours() -> None:
    with pytest.raises(ConfigurationError, match="Credentials"):
        SigV4Signer().sign(kms_request(), ("AKID", "secret"), "eu-west-2")  # type: ignore[arg-type]


def test_signing_key_cache_is_bounded_and_secret_free_in_repr() -> None:
    signer = SigV4Signer()
    for i in range(40):
        signer.sign(
            kms_request(),
            Credentials("AKIDEXAMPLE", f"secret-{i:03d}"),
            "eu-west-2",
            timestamp=WHEN,
        )
    assert 0 < len(signer._keys) <= 16
    assert "secret" not in repr(signer)
    assert all("secret" not in repr(mac) for mac in signer._keys.values())


@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_keyed_mac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    mac = _KeyedMac(key)
    assert mac.hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert mac.hexdigest(message) == mac.hexdigest(message)  # the cached states stay untouched


def test_cached_key_gives_the_same_signature_as_a_fresh_signer() -> None:
    warm = SigV4Signer()
    for _ in range(3):
        assert (
            warm.sign(kms_request(), CREDS, "eu-west-2", timestamp=WHEN).headers == signed().headers
        )


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://kms.us-east-1.amazonaws.com:443/", "kms.us-east-1.amazonaws.com"),
        ("http://localhost:80/", "localhost"),
        ("http://localhost:443/", "localhost:443"),
        ("https://127.0.0.1:8443/", "127.0.0.1:8443"),
        ("https://KMS.Example.COM/", "kms.example.com"),
        ("https://[::1]:4566/", "[::1]:4566"),
        ("https://user@host.example/", "host.example"),
    ],
)
def test_host_comes_from_the_url_without_default_port(url: str, host: str) -> None:
    canonical, _ = build_canonical_request(HttpRequest("POST", url, {}, b""))
    assert f"\nhost:{host}\n" in canonical


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("b=2&a=1&a=0&c", "a=0&a=1&b=2&c="),
        ("a=1&&b=", "a=1&b="),
        ("%e1%88%b4=x", "%E1%88%B4=x"),
        ("a+b=c d/e", "a%2Bb=c%20d%2Fe"),
        ("Param-3=1&Param=2", "Param=2&Param-3=1"),  # sorted by name, not by "name=value"
        ("k=%7E~", "k=~~"),
    ],
)
def test_canonical_query(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


@pytest.mark.parametrize(
    ("path", "normalize", "canonical"),
    [
        ("", True, "/"),
        ("/a/./b/../c//d/", True, "/a/c/d/"),
        ("/../..", True, "/"),
        ("/%20x", True, "/%2520x"),
        ("//a/./", False, "//a/./"),
        ("/a b/ሴ", False, "/a%20b/%E1%88%B4"),
    ],
)
def test_canonical_uri(path: str, normalize: bool, canonical: str) -> None:
    assert canonical_uri(path, normalize) == canonical


def test_explicit_host_header_wins_over_the_url() -> None:
    request = HttpRequest(
        "POST", "https://127.0.0.1:4566/", {"Host": "kms.us-east-1.amazonaws.com"}
    )
    canonical, _ = build_canonical_request(request)
    assert "\nhost:kms.us-east-1.amazonaws.com\n" in canonical


def test_importing_auth_does_not_import_botocore() -> None:
    code = "import sys, kms_mrk.auth; sys.exit(1 if 'botocore' in sys.modules else 0)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- parse_authorization / region_from_authorization --------------------------------------

GOOD = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64
)


def test_parse_authorization() -> None:
    assert parse_authorization(GOOD) == (
        "AKIDEXAMPLE",
        "20150830",
        "us-east-1",
        "kms",
        ("host", "x-amz-date"),
        "a" * 64,
    )
    compact = GOOD.replace(", ", ",")
    assert parse_authorization(compact) == parse_authorization(GOOD)
    assert region_from_authorization(GOOD) == "us-east-1"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer abc",
        "AWS4-HMAC-SHA1 " + GOOD.split(" ", 1)[1],
        GOOD.replace("Credential=", "Cred="),
        GOOD.replace(", Signature=" + "a" * 64, ""),
        GOOD.replace("/kms/aws4_request", "/aws4_request"),
        GOOD.replace("aws4_request", "aws5_request"),
        GOOD.replace("20150830", "2015083"),
        GOOD.replace("20150830", "2015O830"),
        GOOD.replace("a" * 64, "A" * 64),
        GOOD.replace("a" * 64, "a" * 63),
        GOOD.replace("host;x-amz-date", "Host;x-amz-date"),
        GOOD.replace("host;x-amz-date", "host;;x-amz-date"),
        GOOD.replace("AKIDEXAMPLE/", "/"),
        GOOD + ", junk",
    ],
)
def test_malformed_authorization_is_none(value: str) -> None:
    assert parse_authorization(value) is None
    assert region_from_authorization(value) is None


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_parse_authorization_never_raises(value: str) -> None:
    parse_authorization(value)


# --- verify -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=200),
    extra=st.dictionaries(
        st.from_regex(r"X-[A-Za-z0-9]{1,10}", fullmatch=True),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10),
        max_size=3,
    ),
    credentials=st.sampled_from([CREDS, TEMP]),
    region=st.sampled_from(["us-east-1", "ap-northeast-3", "local"]),
    skew=st.integers(-300, 300),
)
def test_verify_round_trips_sign(
    body: bytes, extra: dict[str, str], credentials: Credentials, region: str, skew: int
) -> None:
    request = HttpRequest(
        "POST", f"https://kms.{region}.amazonaws.com/", {"X-Amz-Target": "T.Op", **extra}, body
    )
    out = SigV4Signer().sign(request, credentials, region, timestamp=WHEN)
    auth = verify(out, SECRETS.get, now=WHEN + timedelta(seconds=skew), service="kms")
    assert (auth.access_key_id, auth.region, auth.service, auth.date) == (
        credentials.access_key_id,
        region,
        "kms",
        "20240304",
    )


def test_headers_added_after_signing_that_are_not_signed_do_not_matter() -> None:
    out = signed().with_header("User-Agent", "proxy-rewrote-me").with_header("X-Amzn-Trace-Id", "1")
    verify(out, SECRETS.get, now=WHEN)


def test_missing_authorization() -> None:
    out = signed()
    request = out.replace(headers={k: v for k, v in out.headers.items() if k != "Authorization"})
    error = failure_of(request)
    assert error.failure is VerificationFailure.MISSING_AUTHENTICATION
    assert error.code == "MissingAuthenticationTokenException"
    assert isinstance(error, KmsMrkError)


@pytest.mark.parametrize(
    "authorization",
    ["AWS4-HMAC-SHA256", "Basic dXNlcjpwYXNz", GOOD.replace("Signature=", "Sig=")],
)
def test_malformed_authorization_is_incomplete(authorization: str) -> None:
    error = failure_of(signed().with_header("Authorization", authorization))
    assert error.failure is VerificationFailure.INCOMPLETE_SIGNATURE
    assert error.code == "IncompleteSignatureException"


def test_missing_date_is_incomplete() -> None:
    out = signed()
    request = out.replace(headers={k: v for k, v in out.headers.items() if k != "X-Amz-Date"})
    error = failure_of(request)
    assert error.failure is VerificationFailure.INCOMPLETE_SIGNATURE
    assert "X-Amz-Date" in error.message


def test_malformed_date_is_incomplete() -> None:
    error = failure_of(signed().with_header("X-Amz-Date", "2024-03-04T05:06:07Z"))
    assert error.failure is VerificationFailure.INCOMPLETE_SIGNATURE


def test_unsigned_host_is_incomplete() -> None:
    out = signed()
    header = (out.header("Authorization") or "").replace("content-type;host;", "content-type;")
    error = failure_of(out.with_header("Authorization", header))
    assert error.failure is VerificationFailure.INCOMPLETE_SIGNATURE
    assert "Host" in error.message


def test_unknown_access_key() -> None:
    out = SigV4Signer().sign(
        kms_request(), Credentials("AKIDUNKNOWN", "x"), "eu-west-2", timestamp=WHEN
    )
    error = failure_of(out)
    assert error.failure is VerificationFailure.UNRECOGNIZED_CLIENT
    assert error.code == "UnrecognizedClientException"


def test_wrong_secret_is_a_bad_signature() -> None:
    wrong = Credentials(CREDS.access_key_id, "not-the-right-secret")
    error = failure_of(SigV4Signer().sign(kms_request(), wrong, "eu-west-2", timestamp=WHEN))
    assert error.failure is VerificationFailure.INVALID_SIGNATURE
    assert error.code == "InvalidSignatureException"
    assert error.string_to_sign is not None
    assert error.string_to_sign.startswith("AWS4-HMAC-SHA256\n")
    assert "not-the-right-secret" not in str(error)
    assert CREDS.secret_access_key not in str(error)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.replace(body=r.body + b" "),
        lambda r: r.with_header("X-Amz-Target", "TrentService.ScheduleKeyDeletion"),
        lambda r: r.replace(url="https://kms.eu-west-2.amazonaws.com/other"),
        lambda r: r.replace(url="https://kms.eu-west-2.amazonaws.com/?a=b"),
        lambda r: r.replace(method="PUT"),
        lambda r: r.with_header("Host", "kms.eu-west-1.amazonaws.com"),
        lambda r: r.with_header("X-Amz-Security-Token", "other-token"),
    ],
    ids=["body", "signed-header", "path", "query", "method", "host", "token"],
)
def test_tampering_is_a_bad_signature(tamper: object) -> None:
    error = failure_of(tamper(signed(TEMP)))  # type: ignore[operator]
    assert error.failure is VerificationFailure.INVALID_SIGNATURE


def test_content_sha256_header_must_match_the_body() -> None:
    request = kms_request()
    out = SigV4Signer().sign(
        request.with_header("X-Amz-Content-SHA256", "0" * 64), CREDS, "eu-west-2", timestamp=WHEN
    )
    error = failure_of(out)
    assert error.failure is VerificationFailure.INVALID_SIGNATURE
    assert "x-amz-content-sha256" in error.message


def test_scope_date_must_match_request_date() -> None:
    out = signed()
    header = (out.header("Authorization") or "").replace("/20240304/", "/20240303/")
    error = failure_of(out.with_header("Authorization", header))
    assert error.failure is VerificationFailure.INVALID_SIGNATURE
    assert "Credential scope" in error.message


def test_service_must_match_when_asked() -> None:
    out = SigV4Signer("sts").sign(kms_request(), CREDS, "eu-west-2", timestamp=WHEN)
    verify(out, SECRETS.get, now=WHEN)  # no expectation: fine
    error = failure_of(out, service="kms")
    assert error.failure is VerificationFailure.INVALID_SIGNATURE
    assert "'kms'" in error.message


def test_too_old_signature_expired() -> None:
    error = failure_of(signed(), now=WHEN + timedelta(minutes=5, seconds=1))
    assert error.failure is VerificationFailure.SIGNATURE_EXPIRED
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("Signature expired: 20240304T050607Z is now earlier than")
    assert "5 min." in error.message
    verify(signed(), SECRETS.get, now=WHEN + timedelta(minutes=5))  # boundary is inclusive


def test_future_signature_not_yet_current() -> None:
    error = failure_of(signed(), now=WHEN - timedelta(minutes=6))
    assert error.failure is VerificationFailure.SIGNATURE_EXPIRED
    assert error.message.startswith("Signature not yet current")


def test_max_skew_is_configurable() -> None:
    later = WHEN + timedelta(minutes=14)
    verify(signed(), SECRETS.get, now=later, max_skew=timedelta(minutes=15))
    assert failure_of(signed(), now=later).failure is VerificationFailure.SIGNATURE_EXPIRED


def test_the_server_side_names_are_still_given_by_auth_and_sigv4() -> None:
    import kms_mrk.auth
    import kms_mrk.auth._sigv4 as sigv4
    from kms_mrk.auth import _sigv4_verify

    for name in _sigv4_verify.__all__:
        assert getattr(kms_mrk.auth, name) is getattr(_sigv4_verify, name)
        assert getattr(sigv4, name) is getattr(_sigv4_verify, name)
        assert name in dir(kms_mrk.auth)
        assert name in dir(sigv4)
    with pytest.raises(AttributeError, match="nothing_here"):
        sigv4.nothing_here  # noqa: B018
    with pytest.raises(AttributeError, match="nothing_here"):
        kms_mrk.auth.nothing_here  # noqa: B018
