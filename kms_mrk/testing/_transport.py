"""MockTransport: the service side of the wire, answered by test code.

Plugged into ``KMSClient(transport=...)``, it receives the real signed request that came out of
the client's serializer and signer, and checks it as KMS would before anything else runs:

* ``POST /`` with ``Content-Type: application/x-amz-json-1.1`` and
  ``X-Amz-Target: TrentService.<Operation>`` naming a KMS operation;
* a well-formed SigV4 ``Authorization`` header scoped to ``kms`` and a Region, with
  ``X-Amz-Date`` (a repeated or unknown part is refused); when the transport knows the secret
  key of the access key used, the signature itself is verified (against the request's own
  date, so no wall clock is involved) and must cover ``host``, ``x-amz-date`` and
  ``x-amz-target``;
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

Every check above, the error statuses and the response headers are the service side of the
protocol (:mod:`kms_mrk.protocol._service`), shared with the local KMS: the two answer the same
malformed request with the same status, headers and body. This module builds on the transport
interface and the protocol layer only; it knows nothing of the client that calls it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from kms_mrk._validation import validate
from kms_mrk.errors import ERRORS_BY_CODE, ValidationException
from kms_mrk.errors._base import ServiceException
from kms_mrk.protocol import _service
from kms_mrk.protocol._service import (
    TARGET_PREFIX,
    ServiceSide,
    check_content_type,
    operation_of,
)
from kms_mrk.protocol.awsjson11 import encode_body
from kms_mrk.schema import Command, Response
from kms_mrk.testing._errors import KmsMockError
from kms_mrk.testing._shapes import (
    ErrorAnswer,
    coerce_response,
    command_type_for,
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


def _rejected(exc: ServiceException) -> _Rejected:
    cls = ERRORS_BY_CODE.get(exc.code, type(exc))
    status = exc.http_status or _service.status_for(exc.code)
    return _Rejected(ErrorAnswer(cls, exc.code, exc.message, status))


def _command_type(operation: str) -> type[Command[Any]]:
    from kms_mrk import commands

    found: type[Command[Any]] = getattr(commands, commands.OPERATIONS[operation])
    return found


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
        self._service = self._service_side()
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
    def _service_side(self) -> ServiceSide:
        """The shared service side, strict: signed requests only, JSON 1.1 Content-Type."""
        known = self._credentials
        verifier = None
        if known is not None:
            secrets = {known.access_key_id: known.secret_access_key}
            tokens = (
                {known.access_key_id: known.session_token}
                if known.session_token is not None
                else None
            )
            verifier = ServiceSide.sigv4_verifier(
                secrets.get, clock=None, session_tokens=tokens, only_known=True
            )
        return ServiceSide(default_region=None, strict=True, verifier=verifier, patterns=True)

    def _decode(self, request: HttpRequest) -> WireRequest:
        """The typed view of ``request``; raises an internal rejection when it is malformed.

        The checks are the service side shared with the local KMS
        (:mod:`kms_mrk.protocol._service`).
        """
        service = self._service
        try:
            operation = operation_of(request)
            check_content_type(request)
            access_key_id, region = service.identity(request)
            command_type = _command_type(operation)
            schema = command_type.__schema__
            decoded = service.decode(
                schema, request.body, operation, checks=self.service_validation
            )
        except ServiceException as exc:
            raise _rejected(exc) from None
        if not self.service_validation:
            problems = validate(schema, decoded)
            if problems:
                detail = "; ".join(str(p) for p in problems)
                raise _rejected(
                    ValidationException(
                        f"{len(problems)} validation error(s) detected in the {operation} "
                        f"request: {_service.echo(detail, 1024)}"
                    )
                )
        command = command_type(**{name: getattr(decoded, name) for name in schema.py_names})
        return WireRequest(request, operation, command_type, command, region, access_key_id)

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
    operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
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
    return _service.ok_response(body, request_id)


def error_response(answer: ErrorAnswer, request_id: str) -> HttpResponse:
    """The error JSON AWS JSON 1.1 services send, with the answer's HTTP status."""
    return _service.error_response(
        answer.code, answer.message, request_id, status=answer.status, members=answer.members
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
