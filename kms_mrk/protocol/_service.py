"""The service side of AWS JSON 1.1 as KMS speaks it, written once.

The local KMS (:class:`~kms_mrk.local.LocalKMS`) and the testing toolkit's
:class:`~kms_mrk.testing.MockTransport` both answer KMS requests; both read them through a
:class:`ServiceSide` and write their answers with :func:`ok_response` and
:func:`error_response`, so the two cannot disagree on a status, a header or a message::

    POST / + X-Amz-Target: TrentService.<Op>   operation_of()      UnknownOperationException
    Content-Type (strict sides only)           check_content_type  SerializationException
    Authorization -> access key, Region        identity()          MissingAuthenticationToken /
                                                                   IncompleteSignature /
                                                                   InvalidSignature /
                                                                   UnrecognizedClient
    body -> typed input, KMS's validation      decode()            SerializationException /
                                                                   ValidationException
    answer -> 200 body / error body + status   ok_response(), error_response()

HTTP statuses come from one table (:func:`status_for`). The vendored model (botocore's JSON
form) only says ``"fault": true`` for the three server errors; the status codes are the ones
KMS's Smithy model declares for them (``DependencyTimeoutException`` 503,
``KMSInternalException`` and ``KeyUnavailableException`` 500). Client errors are 400 on the
wire even where the Smithy model declares another code for the query protocol
(``NotFoundException`` 404, ``DisabledException`` 409...): every client error in the real-AWS
recordings under ``vectors/localstack-kms-snapshots`` came back with HTTP 400.
``ThrottlingException`` is 400 as well; ``ServiceUnavailableException`` is 503 and
``InternalFailure`` 500.

Layering: this module sits on the protocol layer (codec, model, errors, transport types).
Two imports go beyond it, both narrow and both allowed by the architecture test for this
module only: :func:`kms_mrk._json.loads_bounded` (standard library only) so that request
bodies are bounded before anything walks them, and the SigV4 verifier of
:mod:`kms_mrk.auth` (imported lazily, when a side verifies signatures), because checking a
signature is part of answering as the service does.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kms_mrk._json import JsonLimitError, loads_bounded
from kms_mrk._service import REGION_RE, SIGNING_NAME
from kms_mrk._service import TARGET_PREFIX as _TARGET_PREFIX
from kms_mrk.commands import OPERATIONS
from kms_mrk.errors import (
    ERRORS_BY_CODE,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    SerializationException,
    ServiceException,
    UnknownOperationException,
    UnrecognizedClientException,
)
from kms_mrk.protocol._service_validate import (
    echo,
    pattern_problems,
    problems,
    required_missing,
    validation_error,
)
from kms_mrk.protocol.awsjson11 import CONTENT_TYPE, _Bad, _decoder, _reason, encode_error
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kms_mrk.schema import Schema, Shape

__all__ = [
    "INCORRECT_SIGNATURE_MESSAGE",
    "MAX_BODY_DEPTH",
    "SERVICE",
    "STATUS_BY_CODE",
    "TARGET_PREFIX",
    "Caller",
    "Scope",
    "ServiceSide",
    "SigV4Verifier",
    "echo",
    "error_response",
    "exception_response",
    "ok_response",
    "operation_of",
    "status_for",
]

SERVICE: Final = SIGNING_NAME
TARGET_PREFIX: Final = f"{_TARGET_PREFIX}."
#: How deep a request body may nest arrays and objects (KMS's deepest input nests 4).
MAX_BODY_DEPTH: Final = 32
#: The most characters of a message in an error body, whatever built it.
MAX_MESSAGE: Final = 8192

#: KMS's full message for a signature computed with another secret key.
INCORRECT_SIGNATURE_MESSAGE: Final = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)
_MALFORMED_AUTHORIZATION: Final = (
    "The Authorization header is not a valid AWS Signature Version 4 header; expected "
    "'AWS4-HMAC-SHA256 Credential=<access key id>/<YYYYMMDD>/<region>/kms/aws4_request, "
    "SignedHeaders=<header names>, Signature=<64 lower-case hex digits>'"
)
_AUTH_PARTS: Final = ("Credential", "SignedHeaders", "Signature")
#: Headers a verified signature must cover: without ``x-amz-target`` a captured request
#: could be sent again as another operation.
_MUST_SIGN: Final = (("host", "Host"), ("x-amz-target", "X-Amz-Target"))
_REGION: Final = REGION_RE
_SIGNATURE: Final = re.compile(r"[0-9a-f]{64}")
_SCOPE_CACHE_SIZE: Final = 256
_JSON: Final = json.JSONDecoder()

# --------------------------------------------------------------------------------------
# HTTP statuses

_SERVER_STATUS: Final[Mapping[str, int]] = {
    "DependencyTimeoutException": 503,
    "KMSInternalException": 500,
    "KeyUnavailableException": 500,
    "ServiceUnavailableException": 503,
    "ServiceUnavailable": 503,
    "InternalFailure": 500,
}


def status_for(code: str) -> int:
    """The HTTP status KMS answers the error ``code`` with (see the module docstring)."""
    status = _SERVER_STATUS.get(code)
    if status is not None:
        return status
    cls = ERRORS_BY_CODE.get(code)
    return 500 if cls is not None and cls.fault == "server" else 400


#: Every error code the client knows, with its HTTP status: the one table.
STATUS_BY_CODE: Final[Mapping[str, int]] = {code: status_for(code) for code in ERRORS_BY_CODE}

# --------------------------------------------------------------------------------------
# responses


def _headers(body: bytes, request_id: str) -> dict[str, str]:
    return {
        "content-type": CONTENT_TYPE,
        "content-length": str(len(body)),
        "x-amzn-requestid": request_id,
    }


def ok_response(body: bytes, request_id: str) -> HttpResponse:
    """HTTP 200 with an already encoded JSON body."""
    return HttpResponse(200, _headers(body, request_id), body)


def error_response(
    code: str,
    message: str | None,
    request_id: str,
    *,
    status: int | None = None,
    members: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """The error JSON AWS JSON 1.1 services send, with ``status`` or the code's own status.

    The message is cut to :data:`MAX_MESSAGE` characters whatever built it.
    """
    if message is not None and len(message) > MAX_MESSAGE:
        message = echo(message, MAX_MESSAGE)
    body = encode_error(code, message, **(members or {}))
    return HttpResponse(status or status_for(code), _headers(body, request_id), body)


def exception_response(exc: ServiceException, request_id: str) -> HttpResponse:
    """:func:`error_response` for a raised service exception (its status wins if it has one)."""
    return error_response(exc.code, exc.message, request_id, status=exc.http_status)


# --------------------------------------------------------------------------------------
# reading a request


def _header(request: HttpRequest, canonical: str, lower: str) -> str | None:
    headers = request.headers
    return headers.get(canonical) or headers.get(lower) or request.header(lower)


def _path(url: str) -> str:
    """The path of an absolute URL ("/" when empty), without its query."""
    if url[-1:] == "/" and url.count("/") == 3:  # scheme://host/ : the usual case
        return "/"
    rest = url.partition("://")[2] or url
    slash = rest.find("/")
    if slash < 0:
        return "/"
    return rest[slash:].partition("?")[0].partition("#")[0] or "/"


def operation_of(request: HttpRequest) -> str:
    """The KMS operation a request names; UnknownOperationException when it names none.

    KMS answers ``POST /`` with ``X-Amz-Target: TrentService.<Operation>``; the operation
    must be one of the model's.
    """
    target = _header(request, "X-Amz-Target", "x-amz-target") or ""
    operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
    path = _path(request.url)
    if request.method != "POST" or operation not in OPERATIONS or path != "/":
        raise UnknownOperationException(
            f"KMS answers POST / with X-Amz-Target: TrentService.<Operation>; got "
            f"{echo(request.method, 16)} {echo(path, 64)} with X-Amz-Target "
            f"'{echo(target, 64)}'"
        )
    return operation


def check_content_type(request: HttpRequest) -> None:
    """SerializationException unless the body is declared ``application/x-amz-json-1.1``."""
    declared = _header(request, "Content-Type", "content-type") or ""
    content_type = declared.split(";")[0].strip()
    if content_type != CONTENT_TYPE:
        raise SerializationException(
            f"Content-Type must be {CONTENT_TYPE}; got '{echo(content_type, 64)}'"
        )


class Scope(NamedTuple):
    """What an Authorization header says, checked for form only."""

    access_key_id: str
    region: str
    service: str
    signed_headers: tuple[str, ...]


class Caller(NamedTuple):
    """Who sent a request and for which Region (``access_key_id`` is "" when unsigned)."""

    access_key_id: str
    region: str


#: Checks the signature of ``request`` whose header reads ``scope``; raises a KMS exception.
SigV4Verifier = Callable[[HttpRequest, Scope], None]


def _check_parts(header: str) -> None:
    """Refuse a header whose parts are not exactly Credential, SignedHeaders, Signature."""
    _algorithm, _, rest = header.strip().partition(" ")
    seen: set[str] = set()
    for part in rest.split(","):
        name = part.strip().partition("=")[0].strip()
        if not name:
            raise IncompleteSignatureException(_MALFORMED_AUTHORIZATION)
        if name not in _AUTH_PARTS:
            raise IncompleteSignatureException(
                f"The Authorization header has an unknown part '{echo(name, 32)}'; "
                f"{_MALFORMED_AUTHORIZATION}"
            )
        if name in seen:
            raise IncompleteSignatureException(
                f"The Authorization header has more than one '{name}=' part; "
                f"{_MALFORMED_AUTHORIZATION}"
            )
        seen.add(name)


def parse_scope(header: str) -> Scope:
    """The scope of a SigV4 Authorization header; IncompleteSignatureException when it is
    malformed (a duplicated or unknown part included), InvalidSignatureException when it is
    scoped to another service or to something that is no Region."""
    from kms_mrk.auth._sigv4 import parse_authorization

    _check_parts(header)
    parsed = parse_authorization(header)
    if parsed is None:
        raise IncompleteSignatureException(_MALFORMED_AUTHORIZATION)
    if parsed.service != SERVICE:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    if not _REGION.fullmatch(parsed.region):
        raise InvalidSignatureException("Credential should be scoped to a valid region.")
    return Scope(parsed.access_key_id, parsed.region, parsed.service, parsed.signed_headers)


class ServiceSide:
    """How one double of KMS reads requests: strict (MockTransport) or lenient (local KMS).

    ``default_region``: the Region of unsigned requests; ``None`` refuses them with
    ``MissingAuthenticationTokenException``. ``strict``: also require the JSON 1.1
    Content-Type and an ``X-Amz-Date``. ``verifier``: check signatures (see
    :meth:`sigv4_verifier`). ``patterns``: check the model's regular expressions too.
    """

    def __init__(
        self,
        *,
        default_region: str | None,
        strict: bool,
        verifier: SigV4Verifier | None = None,
        patterns: bool = True,
    ) -> None:
        self.default_region = default_region
        self.strict = strict
        self.verifier = verifier
        self.patterns = patterns
        self._scopes: dict[str, Scope] = {}

    # -- who ------------------------------------------------------------------------------
    def identity(self, request: HttpRequest) -> Caller:
        """(access key id, Region) of a request, its signature checked when verifying."""
        header = _header(request, "Authorization", "authorization")
        if header is None or not header.strip():
            if self.default_region is None or self.verifier is not None:
                raise MissingAuthenticationTokenException("Missing Authentication Token")
            return Caller("", self.default_region)
        scope = self._scope(header)
        if self.strict and _parse_amz_date(_header(request, "X-Amz-Date", "x-amz-date")) is None:
            raise IncompleteSignatureException(
                "Authorization header requires existence of a valid 'X-Amz-Date' header "
                "(YYYYMMDDTHHMMSSZ)"
            )
        if self.verifier is not None:
            self.verifier(request, scope)
        return Caller(scope.access_key_id, scope.region)

    def _scope(self, header: str) -> Scope:
        """:func:`parse_scope`, cached by the header up to its ``Signature=`` part: every
        header that hits the cache differs from one that parsed completely only in a
        signature that is itself well formed."""
        at = header.rfind("Signature=")
        prefix = header[:at] if at >= 0 and _SIGNATURE.fullmatch(header, at + 10) else None
        if prefix is not None:
            hit = self._scopes.get(prefix)
            if hit is not None:
                return hit
        scope = parse_scope(header)
        if prefix is not None:
            if len(self._scopes) >= _SCOPE_CACHE_SIZE:
                self._scopes.clear()
            self._scopes[prefix] = scope
        return scope

    # -- what -----------------------------------------------------------------------------
    def decode(self, schema: Schema, body: bytes, operation: str, *, checks: bool = True) -> Shape:
        """The typed input of ``operation``, checked as KMS checks it.

        The body is bounded (nesting) before anything walks it; every problem is reported
        in KMS's words, offending values shortened by :func:`echo`. ``checks=False`` stops
        after decoding (required members are still required): the caller validates.
        """
        data: Any = {}
        if body.strip():
            # A body with few brackets cannot nest deeply: no depth walk (the hot path). Any
            # other body, or one that fails to parse, goes through the bounded loader, whose
            # error names the rule broken.
            parsed = False
            if body.count(b"[") + body.count(b"{") <= MAX_BODY_DEPTH:
                try:
                    data = _JSON.decode(body.decode("utf-8"))
                    parsed = True
                except (ValueError, UnicodeDecodeError):
                    pass
            if not parsed:
                try:
                    data = loads_bounded(body, what="The request body", max_depth=MAX_BODY_DEPTH)
                except JsonLimitError as exc:
                    raise SerializationException(echo(str(exc), 256)) from None
        if type(data) is not dict:
            raise SerializationException("The request body must be a JSON object")
        try:
            decoded: Shape = _decoder(schema)(data)
        except _Bad as bad:
            missing = required_missing(schema, data)
            if missing:
                raise validation_error(missing) from None
            raise SerializationException(
                f"Cannot read the {operation} request: {echo(_reason(bad), 256)}"
            ) from None
        if not checks:
            return decoded
        found = problems(schema, decoded)
        if self.patterns:
            found.extend(pattern_problems(schema, decoded))
        if found:
            raise validation_error(found)
        return decoded

    # -- verification ---------------------------------------------------------------------
    @staticmethod
    def sigv4_verifier(
        secrets: Callable[[str], str | None],
        *,
        clock: Callable[[], float] | None = None,
        session_tokens: Mapping[str, str] | None = None,
        only_known: bool = False,
    ) -> SigV4Verifier:
        """A verifier checking SigV4 signatures against ``secrets`` (access key -> secret).

        ``clock`` gives the server's time in epoch seconds (``None``: trust the request's own
        date, as a test double does). ``only_known`` checks unknown access keys for form
        only. ``session_tokens`` maps access keys to the session token they must carry.
        The signature must cover ``host``, ``x-amz-date`` and ``x-amz-target``.
        """
        from kms_mrk.auth._sigv4 import SignatureVerificationError, VerificationFailure, verify

        def check(request: HttpRequest, scope: Scope) -> None:
            secret = secrets(scope.access_key_id)
            if secret is None and only_known:
                return
            for name, shown in _MUST_SIGN:
                if name not in scope.signed_headers:
                    raise IncompleteSignatureException(
                        f"'{shown}' must be a SignedHeader in the AWS Authorization"
                    )
            if clock is None:
                now = _parse_amz_date(_header(request, "X-Amz-Date", "x-amz-date"))
                if now is None:
                    raise IncompleteSignatureException(
                        "Authorization header requires existence of a valid 'X-Amz-Date' "
                        "header (YYYYMMDDTHHMMSSZ)"
                    )
            else:
                now = _dt.datetime.fromtimestamp(clock(), _dt.timezone.utc)
            try:
                verify(request, secrets, now=now, service=SERVICE)
            except SignatureVerificationError as exc:
                message = exc.message
                if exc.failure is VerificationFailure.INVALID_SIGNATURE and message.startswith(
                    "The request signature we calculated"
                ):
                    message = INCORRECT_SIGNATURE_MESSAGE
                cls = ERRORS_BY_CODE[exc.code]
                raise cls(echo(message, 512)) from None
            if session_tokens is not None:
                token = session_tokens.get(scope.access_key_id)
                if token is not None and (
                    _header(request, "X-Amz-Security-Token", "x-amz-security-token") != token
                ):
                    raise UnrecognizedClientException("The security token included is invalid")

        return check


def _parse_amz_date(value: str | None) -> _dt.datetime | None:
    """``YYYYMMDDTHHMMSSZ`` as an aware datetime (strptime is slow on the per-call path)."""
    if value is None:
        return None
    text = value.strip()
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not text.isascii():
        return None
    digits = text[:8] + text[9:15]
    if not digits.isdigit():
        return None
    try:
        return _dt.datetime(
            int(digits[0:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            int(digits[12:14]),
            tzinfo=_dt.timezone.utc,
        )
    except ValueError:
        return None
