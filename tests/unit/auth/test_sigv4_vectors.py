"""Both public SigV4 test suites, every case, every stage.

Suites (see ../shared/vectors/aws-sig-v4-test-suite/README.md):

* ``botocore-aws4_testsuite``: ``.req`` raw request, ``.creq`` canonical request, ``.sts``
  string to sign, ``.authz`` Authorization header, ``.sreq`` signed request.
* ``aws-c-auth-v4``: ``context.json``, ``request.txt`` and the ``header-*`` files. The
  ``query-*`` files describe presigned (query-auth) URLs, which this signer does not make.

How the suites' options map onto our signer (all documented in docs/credentials.md):

* ``normalize: false`` -> ``SigV4Signer(normalize_path=False)``.
* ``sign_body: true`` -> the caller sets ``X-Amz-Content-SHA256`` itself before signing.
* a session token the request must not sign (``post-sts-header-after``) -> sign with
  token-less credentials, then add ``X-Amz-Security-Token``.
* repeated header lines are folded into one comma-joined value (an ``HttpRequest`` maps each
  name to one value, as HTTP allows).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kms_mrk.auth import Credentials, SigV4Signer, parse_authorization, verify
from kms_mrk.auth._sigv4 import build_canonical_request, build_string_to_sign
from kms_mrk.transport._types import HttpRequest

REPO = Path(__file__).resolve().parents[3]
SUITES = REPO / ".." / "shared" / "vectors" / "aws-sig-v4-test-suite"
BOTOCORE = SUITES / "botocore-aws4_testsuite"
AWS_C_AUTH = SUITES / "aws-c-auth-v4"

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
WHEN = datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc)
TOKEN_HEADER = "x-amz-security-token"

# botocore's published .sreq for this case carries a signature that matches neither its own
# .authz nor its .sts (a data error in the suite); the .authz/.sts/.creq are still checked.
BROKEN_SREQ = {"get-vanilla-with-session-token"}


@dataclass(frozen=True)
class Raw:
    method: str
    target: str
    headers: dict[str, str]  # name as first seen -> comma-joined values
    body: bytes

    def lower_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            out[key] = value if key not in out else f"{out[key]},{value}"
        return out

    def to_request(self) -> HttpRequest:
        host = self.lower_headers()["host"]
        return HttpRequest(self.method, f"https://{host}{self.target}", self.headers, self.body)


def parse_raw(text: str) -> Raw:
    """Parse a raw HTTP/1.1 request as the suites write it (LF line ends, obs-fold allowed)."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target, _, version = rest.rpartition(" ")
    assert version.upper() == "HTTP/1.1", lines[0]
    fields: list[list[str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # obs-fold: the line continues the previous field value
            fields[-1][1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        assert colon, f"not a header line: {line!r}"
        fields.append([name, value.strip()])
    headers: dict[str, str] = {}
    for name, value in fields:
        same = next((n for n in headers if n.lower() == name.lower()), None)
        if same is None:
            headers[name] = value
        else:
            headers[same] = f"{headers[same]},{value}"
    return Raw(method, target, headers, body.encode("utf-8"))


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    request: str
    canonical_request: str
    string_to_sign: str
    authorization: str | None  # botocore: the .authz file
    signature: str
    signed_request: str
    token: str | None
    token_after_signing: bool
    normalize: bool
    sign_body: bool
    region: str = REGION
    service: str = SERVICE
    timestamp: datetime = WHEN
    access_key_id: str = AKID
    secret: str = SECRET


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def _creq_token(creq: str) -> str | None:
    for line in creq.split("\n"):
        if line.startswith(TOKEN_HEADER + ":"):
            return line.partition(":")[2]
    return None


def botocore_cases() -> list[Case]:
    cases = []
    for req in sorted(BOTOCORE.rglob("*.req")):
        stem = req.with_suffix("")
        creq = _read(stem.with_suffix(".creq"))
        sreq = _read(stem.with_suffix(".sreq"))
        authz = _read(stem.with_suffix(".authz")).strip()
        signed_token = parse_raw(sreq).lower_headers().get(TOKEN_HEADER)
        token = _creq_token(creq)
        cases.append(
            Case(
                suite="botocore",
                name=req.stem,
                request=_read(req),
                canonical_request=creq,
                string_to_sign=_read(stem.with_suffix(".sts")),
                authorization=authz,
                signature=authz.rpartition("Signature=")[2],
                signed_request=sreq,
                # The suite states no credentials: a token is in play when the canonical
                # request signs one, or (post-sts-header-after) when only the .sreq has it.
                token=token if token is not None else signed_token,
                token_after_signing=token is None and signed_token is not None,
                normalize=True,
                sign_body=False,
            )
        )
    return cases


def aws_c_auth_cases() -> list[Case]:
    cases = []
    for context_file in sorted(AWS_C_AUTH.glob("*/context.json")):
        folder = context_file.parent
        context = json.loads(context_file.read_text(encoding="utf-8"))
        credentials = context["credentials"]
        cases.append(
            Case(
                suite="aws-c-auth",
                name=folder.name,
                request=_read(folder / "request.txt"),
                canonical_request=_read(folder / "header-canonical-request.txt"),
                string_to_sign=_read(folder / "header-string-to-sign.txt"),
                authorization=None,
                signature=_read(folder / "header-signature.txt").strip(),
                signed_request=_read(folder / "header-signed-request.txt"),
                token=credentials.get("token"),
                token_after_signing=bool(context.get("omit_session_token", False)),
                normalize=bool(context["normalize"]),
                sign_body=bool(context["sign_body"]),
                region=context["region"],
                service=context["service"],
                timestamp=datetime.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=timezone.utc
                ),
                access_key_id=credentials["access_key_id"],
                secret=credentials["secret_access_key"],
            )
        )
    return cases


ALL_CASES = botocore_cases() + aws_c_auth_cases()


def test_every_case_was_found() -> None:
    # The README promises 34 + 38 cases; losing some silently would hide failures.
    assert len([c for c in ALL_CASES if c.suite == "botocore"]) == 34
    assert len([c for c in ALL_CASES if c.suite == "aws-c-auth"]) == 38


@dataclass(frozen=True)
class Outcome:
    before_signing: HttpRequest  # with X-Amz-Date/token exactly as signed
    signed: HttpRequest  # what goes on the wire


def run(case: Case) -> Outcome:
    request = parse_raw(case.request).to_request()
    if case.sign_body:
        request = request.with_header(
            "x-amz-content-sha256", hashlib.sha256(request.body).hexdigest()
        )
    signing_token = None if case.token_after_signing else case.token
    credentials = Credentials(case.access_key_id, case.secret, signing_token)
    signer = SigV4Signer(case.service, normalize_path=case.normalize)
    signed = signer.sign(request, credentials, case.region, timestamp=case.timestamp)
    before = signed.replace(
        headers={k: v for k, v in signed.headers.items() if k.lower() != "authorization"}
    )
    if case.token_after_signing:
        assert case.token is not None
        signed = signed.with_header("X-Amz-Security-Token", case.token)
    return Outcome(before, signed)


def _ids(cases: list[Case]) -> list[str]:
    return [f"{c.suite}/{c.name}" for c in cases]


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_canonical_request(case: Case) -> None:
    outcome = run(case)
    canonical, signed_headers = build_canonical_request(
        outcome.before_signing, normalize_path=case.normalize
    )
    assert canonical == case.canonical_request
    assert signed_headers == case.canonical_request.split("\n")[-2]


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_string_to_sign(case: Case) -> None:
    stamp = case.timestamp.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{stamp[:8]}/{case.region}/{case.service}/aws4_request"
    assert build_string_to_sign(stamp, scope, case.canonical_request) == case.string_to_sign
    # and from our own canonical request, end to end
    ours, _ = build_canonical_request(run(case).before_signing, normalize_path=case.normalize)
    assert build_string_to_sign(stamp, scope, ours) == case.string_to_sign


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_authorization_and_signature(case: Case) -> None:
    signed = run(case).signed
    authorization = signed.header("Authorization")
    assert authorization is not None
    if case.authorization is not None:
        assert authorization == case.authorization
    parsed = parse_authorization(authorization)
    assert parsed is not None
    assert parsed.signature == case.signature
    assert parsed.signed_headers == tuple(case.canonical_request.split("\n")[-2].split(";"))
    assert signed.header("X-Amz-Date") == case.timestamp.strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_signed_request(case: Case) -> None:
    if case.suite == "botocore" and case.name in BROKEN_SREQ:
        pytest.skip(
            "botocore suite data error: this .sreq's signature disagrees with the case's own "
            ".authz and .sts (both of which this module checks)"
        )
    expected = parse_raw(case.signed_request)
    signed = run(case).signed
    ours = Raw(signed.method, expected.target, dict(signed.headers), signed.body)
    assert signed.url == expected.to_request().url
    assert (ours.method, ours.body) == (expected.method, expected.body)
    assert ours.lower_headers() == expected.lower_headers()


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_verify_accepts_the_signed_request(case: Case) -> None:
    def lookup(access_key_id: str) -> str | None:
        return case.secret if access_key_id == case.access_key_id else None

    signed = run(case).signed
    auth = verify(
        signed,
        lookup,
        now=case.timestamp,
        service=case.service,
        normalize_path=case.normalize,
    )
    assert (auth.access_key_id, auth.region, auth.service) == (
        case.access_key_id,
        case.region,
        case.service,
    )


def test_aws_c_auth_query_signed_parts() -> None:
    assert sorted(AWS_C_AUTH.glob("*/query-signature.txt")), "suite files missing"
    pytest.skip(
        "aws-c-auth query-*.txt files (all 38 cases) describe presigned query-string auth; "
        "kms-mrk signs KMS calls with the Authorization header only"
    )
