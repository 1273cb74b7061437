"""The server side of SigV4 (used by the local KMS and the testing toolkit).

:func:`parse_authorization`, :func:`region_from_authorization` and :func:`verify`;
``verify`` returns the parsed :class:`SigV4Authorization` when the signature checks out and
raises :class:`SignatureVerificationError` otherwise; its ``failure`` (a
:class:`VerificationFailure`) says which AWS error code to answer with. Kept apart from the
signer (:mod:`kms_mrk.auth._sigv4`, which also gives these names) so that a client, which
only signs, does not build these classes at start.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import NamedTuple

from kms_mrk.auth._sigv4 import (
    _HEX,
    ALGORITHM,
    amz_date,
    build_canonical_request,
    build_string_to_sign,
    derive_signing_key,
)
from kms_mrk.errors._base import ConfigurationError, KmsMrkError
from kms_mrk.transport._types import HttpRequest

__all__ = [
    "SigV4Authorization",
    "SignatureVerificationError",
    "VerificationFailure",
    "parse_authorization",
    "region_from_authorization",
    "verify",
]


class SigV4Authorization(NamedTuple):
    """The parts of a SigV4 ``Authorization`` header."""

    access_key_id: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


class VerificationFailure(Enum):
    """Why :func:`verify` rejected a request; ``error_code`` is the AWS error to answer with."""

    MISSING_AUTHENTICATION = "missing_authentication"
    INCOMPLETE_SIGNATURE = "incomplete_signature"
    UNRECOGNIZED_CLIENT = "unrecognized_client"
    INVALID_SIGNATURE = "invalid_signature"
    SIGNATURE_EXPIRED = "signature_expired"

    @property
    def error_code(self) -> str:
        return _ERROR_CODES[self]


_ERROR_CODES = {
    VerificationFailure.MISSING_AUTHENTICATION: "MissingAuthenticationTokenException",
    VerificationFailure.INCOMPLETE_SIGNATURE: "IncompleteSignatureException",
    VerificationFailure.UNRECOGNIZED_CLIENT: "UnrecognizedClientException",
    VerificationFailure.INVALID_SIGNATURE: "InvalidSignatureException",
    VerificationFailure.SIGNATURE_EXPIRED: "InvalidSignatureException",
}


class SignatureVerificationError(KmsMrkError):
    """A request failed SigV4 verification.

    ``failure`` says why, ``code`` is the AWS error code a server answers with and ``message``
    the text for its body (never a secret). On a signature mismatch ``string_to_sign`` holds
    what the server computed (it contains no secret) to help debug the client.
    """

    def __init__(
        self,
        failure: VerificationFailure,
        message: str,
        *,
        string_to_sign: str | None = None,
    ) -> None:
        self.failure = failure
        self.code = failure.error_code
        self.message = message
        self.string_to_sign = string_to_sign
        super().__init__(f"{self.code}: {message}")


class _MalformedAuthorization(ValueError):
    pass


def _parse(value: str) -> SigV4Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _MalformedAuthorization(f"Unsupported Authorization algorithm; expected {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, field = part.strip().partition("=")
        if not eq or not name:
            raise _MalformedAuthorization(
                "Authorization header parts must be 'Name=value' separated by commas"
            )
        fields[name] = field
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise _MalformedAuthorization(f"Authorization header requires '{required}' parameter")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not all(scope) or scope[4] != "aws4_request":
        raise _MalformedAuthorization(
            "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/"
            "aws4_request"
        )
    akid, date, region, service, _ = scope
    if len(date) != 8 or not date.isdigit() or not date.isascii():
        raise _MalformedAuthorization("Credential scope date must be YYYYMMDD")
    signed = tuple(fields["SignedHeaders"].split(";"))
    if not all(signed) or any(name != name.lower() for name in signed):
        raise _MalformedAuthorization(
            "SignedHeaders must be lower-case header names separated by ';'"
        )
    signature = fields["Signature"]
    if len(signature) != 64 or not _HEX.issuperset(signature):
        raise _MalformedAuthorization("Signature must be 64 lower-case hex digits")
    return SigV4Authorization(akid, date, region, service, signed, signature)


def parse_authorization(header_value: str) -> SigV4Authorization | None:
    """Parse a SigV4 ``Authorization`` header value; ``None`` if it is not a valid one."""
    try:
        return _parse(header_value)
    except (_MalformedAuthorization, AttributeError):
        return None


def region_from_authorization(header_value: str) -> str | None:
    """The Region in a SigV4 ``Authorization`` header's credential scope, if well formed."""
    parsed = parse_authorization(header_value)
    return None if parsed is None else parsed.region


def _parse_amz_date(value: str) -> datetime | None:
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _request_time(request: HttpRequest, signed: tuple[str, ...]) -> tuple[str, datetime]:
    """The request's ``X-Amz-Date`` (or ``Date``) as (SigV4 string, datetime)."""
    incomplete = VerificationFailure.INCOMPLETE_SIGNATURE
    raw = request.header("x-amz-date")
    if raw is not None:
        header = "x-amz-date"
        parsed = _parse_amz_date(raw.strip())
        if parsed is None:
            raise SignatureVerificationError(
                incomplete, "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDDTHHMMSSZ"
            )
    else:
        raw = request.header("date")
        if raw is None:
            raise SignatureVerificationError(
                incomplete,
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header",
            )
        header = "date"
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None:
            raise SignatureVerificationError(incomplete, "Date header is not an HTTP date")
        # "-0000" (what email.utils.formatdate writes) parses naive but means UTC.
        parsed = (
            parsed.replace(tzinfo=timezone.utc)
            if parsed.tzinfo is None
            else parsed.astimezone(timezone.utc)
        )
    if header not in signed:
        raise SignatureVerificationError(
            incomplete, f"'{header}' must be a SignedHeader in the AWS Authorization"
        )
    return amz_date(parsed), parsed


def verify(
    request: HttpRequest,
    secret_lookup: Callable[[str], str | None],
    *,
    now: datetime,
    max_skew: timedelta = timedelta(minutes=5),
    service: str | None = None,
    normalize_path: bool = True,
) -> SigV4Authorization:
    """Check the SigV4 signature of ``request`` as a service would.

    ``secret_lookup`` maps an access key id to its secret key, or ``None`` when the key is
    unknown. ``now`` is the server's aware current time; a request dated more than
    ``max_skew`` away from it is rejected. ``service``, when given, must match the credential
    scope. Returns the parsed Authorization; raises :class:`SignatureVerificationError`.
    """
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ConfigurationError("verify: now must be a timezone-aware datetime")
    header = request.header("authorization")
    if header is None or not header.strip():
        raise SignatureVerificationError(
            VerificationFailure.MISSING_AUTHENTICATION, "Missing Authentication Token"
        )
    try:
        auth = _parse(header)
    except _MalformedAuthorization as exc:
        raise SignatureVerificationError(
            VerificationFailure.INCOMPLETE_SIGNATURE, str(exc)
        ) from None
    if "host" not in auth.signed_headers:
        raise SignatureVerificationError(
            VerificationFailure.INCOMPLETE_SIGNATURE,
            "'Host' must be a SignedHeader in the AWS Authorization",
        )
    stamp, when = _request_time(request, auth.signed_headers)
    invalid = VerificationFailure.INVALID_SIGNATURE
    if auth.date != stamp[:8]:
        raise SignatureVerificationError(
            invalid,
            f"Date in Credential scope does not match YYYYMMDD from the request date: "
            f"{auth.date} != {stamp[:8]}",
        )
    if service is not None and auth.service != service:
        raise SignatureVerificationError(
            invalid, f"Credential should be scoped to correct service: '{service}'"
        )
    now_stamp = amz_date(now)
    if when < now - max_skew:
        raise SignatureVerificationError(
            VerificationFailure.SIGNATURE_EXPIRED,
            f"Signature expired: {stamp} is now earlier than {amz_date(now - max_skew)} "
            f"({now_stamp} - {_minutes(max_skew)})",
        )
    if when > now + max_skew:
        raise SignatureVerificationError(
            VerificationFailure.SIGNATURE_EXPIRED,
            f"Signature not yet current: {stamp} is still later than "
            f"{amz_date(now + max_skew)} ({now_stamp} + {_minutes(max_skew)})",
        )
    secret = secret_lookup(auth.access_key_id)
    if not secret:
        raise SignatureVerificationError(
            VerificationFailure.UNRECOGNIZED_CLIENT,
            "The security token included in the request is invalid",
        )
    declared = request.header("x-amz-content-sha256")
    if declared is not None:
        actual = hashlib.sha256(request.body).hexdigest()
        if declared.strip() != actual:
            raise SignatureVerificationError(
                invalid, "The x-amz-content-sha256 header does not match the request body"
            )
    canonical, _ = build_canonical_request(
        request, normalize_path=normalize_path, signed_headers=auth.signed_headers
    )
    scope = f"{auth.date}/{auth.region}/{auth.service}/aws4_request"
    string_to_sign = build_string_to_sign(stamp, scope, canonical)
    key = derive_signing_key(secret, auth.date, auth.region, auth.service)
    expected = hmac.digest(key, string_to_sign.encode("utf-8"), "sha256").hex()
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureVerificationError(
            invalid,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
            string_to_sign=string_to_sign,
        )
    return auth


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} s"
