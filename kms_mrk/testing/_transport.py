"""MockTransport: the service side of the wire, answered by test code.

Plugged into ``KMSClient(transport=...)``, it receives the real signed request that came out of
the client's serializer and signer, and checks it as KMS would before anything else runs:

* ``POST /`` with ``Content-Type: application/x-amz-json-1.1`` and
  ``X-Amz-Target: TrentService.<Operation>`` naming a KMS operation;
* a well-formed SigV4 ``Authorization`` header scoped to ``kms`` and a Region, with
  ``X-Amz-Date``; when the transport knows the secret key of the access key used, the signature
  itself is verified (against the request's own date, so no wall clock is involved);
* a body that the real codec decodes into the operation's typed input, and that passes the
  service's own validation: required members, lengths, ranges, enum membership and the model's
  patterns, which the client deliberately leaves to the service (so a stub can never accept an
  input the service would reject). The checks are the local KMS's, worded as KMS words them
  (:mod:`kms_mrk.testing._service_checks`); ``service_validation=False`` narrows them to what
  the client checks, for code that sends enum values newer than the model.

A request that fails these checks is answered as the service would answer it
(``UnknownOperationException``, ``MissingAuthenticationTokenException``,
``InvalidSignatureException``, ``SerializationException``, ``ValidationException``). A
well-formed one goes to the handler with its typed command and Region; what the handler returns
is checked against the operation's output model and written with the real codec (HTTP 200, a
JSON body, an ``x-amzn-RequestId``), and a :class:`~kms_mrk.errors.ServiceException` it raises
is written as the service's error JSON with its HTTP status (400 for client faults, 500 or 503
for server faults, or the status it carries). The client's own parser and error mapping then
run, exactly as against KMS. A :class:`~kms_mrk.errors.TransportError` raised by the handler is
raised by ``send`` (a timeout, a reset connection), which is how retry paths are exercised.
After :meth:`MockTransport.close`, ``send`` raises :class:`~kms_mrk.testing.KmsMockError`: a
client that outlived its test must not get answers meant for another.

This module builds on the transport interface and the protocol codec only; it knows nothing of
the client that calls it.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import attrs

from kms_mrk._validation import validate
from kms_mrk.errors import ERRORS_BY_CODE
from kms_mrk.errors._base import ResponseParseError, ServiceException
from kms_mrk.protocol.awsjson11 import CONTENT_TYPE, decode_body, encode_body, encode_error
from kms_mrk.schema import Command, Response
from kms_mrk.testing._errors import KmsMockError
from kms_mrk.testing._service_checks import (
    missing_required_message,
    request_problems,
    validation_message,
)
from kms_mrk.testing._shapes import (
    ErrorAnswer,
    coerce_response,
    command_type_for,
    default_status,
    error_answer,
)
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kms_mrk.auth import Credentials
    from kms_mrk.transport._in_memory import InMemoryAsyncView

__all__ = [
    "Handler",
    "MockTransport",
    "WireRequest",
    "describe_request",
    "service_error",
    "service_response",
]

_TARGET_PREFIX: Final = "TrentService."
_SERVICE: Final = "kms"

#: What a :class:`MockTransport` handler is: ``(typed command, Region) -> response``.
Handler = Callable[[Command[Any], str], "Response | Mapping[str, Any] | None"]


@attrs.frozen(slots=True)
class WireRequest:
    """A well-formed request as the transport decoded it."""

    request: HttpRequest
    operation: str
    command_type: type[Command[Any]]
    input: Command[Any]
    region: str
    access_key_id: str


class _Rejected(Exception):
    """Internal: the request is malformed; answer it with ``answer``."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.message)
        self.answer = answer


def _reject(code: str, message: str) -> _Rejected:
    cls = ERRORS_BY_CODE[code]
    return _Rejected(ErrorAnswer(cls, code, message, default_status(code, cls.fault)))


def _command_type(operation: str) -> type[Command[Any]] | None:
    from kms_mrk import commands

    name = commands.OPERATIONS.get(operation)
    if name is None:
        return None
    found: type[Command[Any]] = getattr(commands, name)
    return found


def _parse_amz_date(value: str) -> _dt.datetime | None:
    """``YYYYMMDDTHHMMSSZ`` as an aware datetime (strptime is slow on the per-call path)."""
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


class MockTransport:
    """A transport that answers KMS requests with a function of yours.

    ``handler(command, region)`` receives the typed command (``DescribeKeyCommand(...)``) and
    the Region from the signature, and returns the response: the typed output, a dict of its
    members (wire or Python names) or ``None`` for an empty output. It may raise a modeled
    exception (``NotFoundException("...")``), which the client receives as from KMS, or a
    transport error (``ReadTimeoutError(host)``), which the transport raises. The handler may
    be omitted and given later through :attr:`handler`.

    ``credentials``: when given, requests signed with that access key must carry a valid
    signature. ``service_validation`` (the default) checks each request as KMS does, enum
    members and the model's patterns included; ``False`` checks only what the client checks.
    ``allow_unknown_enums`` lets the handler answer enum values the model does not know.
    :class:`~kms_mrk.testing.KmsMock` is the friendlier layer on top of this class.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        credentials: Credentials | None = None,
        service_validation: bool = True,
        allow_unknown_enums: bool = False,
    ) -> None:
        if handler is not None and not callable(handler):
            raise TypeError(f"handler must be callable; got {type(handler).__name__}")
        self.handler = handler
        self.service_validation = bool(service_validation)
        self.allow_unknown_enums = bool(allow_unknown_enums)
        self._credentials = credentials
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(handler={self.handler!r})"

    # -- Transport -------------------------------------------------------------------------
    def send(self, request: HttpRequest) -> HttpResponse:
        """Check ``request`` as KMS would, answer it through the handler, encode the answer."""
        if self.closed:
            raise self._closed_error(request)
        with self._lock:
            request_id = f"00000000-0000-4000-8000-{next(self._ids):012x}"
        try:
            wire = self._decode(request)
        except _Rejected as rejected:
            self._malformed(request, rejected.answer)
            return error_response(rejected.answer, request_id)
        outcome = self._respond(wire, request_id)
        if isinstance(outcome, ErrorAnswer):
            return error_response(outcome, request_id)
        return ok_response(wire.command_type, outcome, request_id)

    def close(self) -> None:
        """Refuse every later request (with a :class:`KmsMockError` naming it)."""
        self.closed = True

    def _closed_error(self, request: HttpRequest) -> KmsMockError:
        return KmsMockError(
            f"{self!r} is closed, but a client sent it {describe_request(request)}. The client "
            f"outlived the transport it was given: create clients inside the test that "
            f"closes their transport."
        )

    # -- decoding --------------------------------------------------------------------------
    def _decode(self, request: HttpRequest) -> WireRequest:
        """The typed view of ``request``; raises an internal rejection when it is malformed."""
        target = request.header("x-amz-target") or ""
        path = urlsplit(request.url).path
        if request.method != "POST" or path not in ("", "/"):
            raise _reject(
                "UnknownOperationException",
                f"KMS answers POST / only; got {request.method} {path or '/'}",
            )
        operation = target[len(_TARGET_PREFIX) :] if target.startswith(_TARGET_PREFIX) else ""
        command_type = _command_type(operation) if operation else None
        if command_type is None:
            raise _reject(
                "UnknownOperationException",
                f"X-Amz-Target must be TrentService.<Operation>; got {target!r}",
            )
        content_type = (request.header("content-type") or "").split(";")[0].strip()
        if content_type != CONTENT_TYPE:
            raise _reject(
                "SerializationException",
                f"Content-Type must be {CONTENT_TYPE}; got {content_type!r}",
            )
        access_key_id, region = self._check_signature(request)
        schema = command_type.__schema__
        try:
            decoded = decode_body(schema, request.body)
        except ResponseParseError as exc:
            missing = missing_required_message(schema, request.body)
            if missing is not None:
                raise _reject("ValidationException", missing) from None
            raise _reject(
                "SerializationException", f"Cannot read the {operation} request: {exc.reason}"
            ) from None
        if self.service_validation:
            found = request_problems(schema, decoded)
            if found:
                raise _reject("ValidationException", validation_message(found))
        else:
            problems = validate(schema, decoded)
            if problems:
                detail = "; ".join(str(p) for p in problems)
                raise _reject(
                    "ValidationException",
                    f"{len(problems)} validation error(s) detected in the {operation} request: "
                    f"{detail}",
                )
        command = command_type(**{name: getattr(decoded, name) for name in schema.py_names})
        return WireRequest(request, operation, command_type, command, region, access_key_id)

    def _check_signature(self, request: HttpRequest) -> tuple[str, str]:
        from kms_mrk.auth import SignatureVerificationError, parse_authorization, verify

        header = request.header("authorization")
        if not header:
            raise _reject("MissingAuthenticationTokenException", "Missing Authentication Token")
        auth = parse_authorization(header)
        if auth is None:
            raise _reject(
                "IncompleteSignatureException", "The Authorization header is not a SigV4 one"
            )
        if auth.service != _SERVICE:
            raise _reject(
                "InvalidSignatureException",
                f"Credential should be scoped to correct service: '{_SERVICE}'",
            )
        from kms_mrk.endpoints import region_problem

        if region_problem(auth.region) is not None:
            raise _reject(
                "InvalidSignatureException", "Credential should be scoped to a valid region"
            )
        when = _parse_amz_date(request.header("x-amz-date") or "")
        if when is None:
            raise _reject(
                "IncompleteSignatureException", "The request has no valid X-Amz-Date header"
            )
        known = self._credentials
        if known is not None and auth.access_key_id == known.access_key_id:
            secrets = {known.access_key_id: known.secret_access_key}
            try:
                verify(request, secrets.get, now=when, service=_SERVICE)
            except SignatureVerificationError as exc:
                raise _reject(exc.code, exc.message) from None
            if known.session_token is not None and (
                request.header("x-amz-security-token") != known.session_token
            ):
                raise _reject(
                    "UnrecognizedClientException", "The security token included is invalid"
                )
        return auth.access_key_id, auth.region

    # -- hooks (KmsMock overrides them) ----------------------------------------------------
    def _respond(self, wire: WireRequest, request_id: str) -> Response | ErrorAnswer:
        handler = self.handler
        if handler is None:
            raise AssertionError(
                f"MockTransport has no handler; it received {wire.operation} in {wire.region}"
            )
        what = f"MockTransport handler for {wire.operation}"
        try:
            value = handler(wire.input, wire.region)
        except ServiceException as exc:
            return error_answer(wire.command_type, exc, what=what)
        return coerce_response(
            wire.command_type, value, what=what, allow_unknown_enums=self.allow_unknown_enums
        )

    def _malformed(self, request: HttpRequest, answer: ErrorAnswer) -> None:
        """Called for each request answered with an error before it reached the handler."""

    # -- AsyncTransport view ----------------------------------------------------------------
    def as_async(self) -> InMemoryAsyncView:
        """This transport as an ``AsyncTransport`` for ``AsyncKMSClient`` (answers in memory)."""
        from kms_mrk.transport._in_memory import InMemoryAsyncView

        return InMemoryAsyncView(self)


def describe_request(request: HttpRequest) -> str:
    """``DescribeKey in us-east-1``: what a request asks, read from its headers."""
    from kms_mrk.auth import region_from_authorization

    target = request.header("x-amz-target") or ""
    operation = target[len(_TARGET_PREFIX) :] if target.startswith(_TARGET_PREFIX) else ""
    region = region_from_authorization(request.header("authorization") or "")
    text = operation or "a request"
    return f"{text} in {region}" if region else text


# --------------------------------------------------------------------------------------
# encoding


def ok_response(
    command_type: type[Command[Any]], output: Response, request_id: str
) -> HttpResponse:
    """A 200 response carrying ``output``, written by the real codec."""
    body = encode_body(command_type.output_type.__schema__, output)
    return HttpResponse(
        200,
        {
            "content-type": CONTENT_TYPE,
            "content-length": str(len(body)),
            "x-amzn-requestid": request_id,
        },
        body,
    )


def error_response(answer: ErrorAnswer, request_id: str) -> HttpResponse:
    """The error JSON AWS JSON 1.1 services send, with the answer's HTTP status."""
    body = encode_error(answer.code, answer.message, **answer.members)
    return HttpResponse(
        answer.status,
        {
            "content-type": CONTENT_TYPE,
            "content-length": str(len(body)),
            "x-amzn-requestid": request_id,
        },
        body,
    )


def service_response(
    command: type[Command[Any]],
    response: Response | Mapping[str, Any] | None = None,
    *,
    request_id: str = "00000000-0000-4000-8000-000000000000",
    allow_unknown_enums: bool = False,
) -> HttpResponse:
    """The HTTP response KMS would send for ``command`` answering ``response``.

    ``response`` is checked against the operation's output model first (enum values included,
    unless ``allow_unknown_enums``). Use it to build bodies for ``responses`` or any other
    HTTP-level mock.
    """
    command_type = command_type_for(command, what="service_response()")
    output = coerce_response(
        command_type,
        response,
        what="service_response()",
        allow_unknown_enums=allow_unknown_enums,
    )
    return ok_response(command_type, output, request_id)


def service_error(
    command: type[Command[Any]],
    error: type[ServiceException] | ServiceException | str,
    message: str | None = None,
    *,
    status: int | None = None,
    request_id: str = "00000000-0000-4000-8000-000000000000",
) -> HttpResponse:
    """The HTTP error response KMS would send for ``command`` rejected with ``error``."""
    command_type = command_type_for(command, what="service_error()")
    answer = error_answer(command_type, error, message, status=status, what="service_error()")
    return error_response(answer, request_id)
