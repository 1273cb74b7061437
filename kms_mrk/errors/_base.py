"""The exception tree. Every error kms-mrk raises derives from :class:`KmsMrkError`::

    KmsMrkError
    ├── ParamValidationError        a command broke the model's rules; raised before any I/O
    ├── ConfigurationError          bad or missing configuration (region, endpoint, retry mode)
    │   └── NoRegionError
    ├── CredentialsError            credentials could not be found or refreshed
    │   └── NoCredentialsError
    ├── TransportError              the HTTP exchange failed; says which host and which phase
    │   ├── ConnectError            could not connect (refused, DNS, TLS handshake)
    │   ├── ConnectTimeoutError
    │   ├── ReadTimeoutError
    │   ├── ConnectionClosedError   reset or closed after the request was sent
    │   └── CallTimeoutError        the call's own deadline (send(..., timeout=)) passed
    ├── ResponseParseError          the response is not what the protocol promises
    ├── ClosedError                 the client or transport was closed (never retried)
    └── ServiceException            the service answered with an error
        └── KMSServiceException     every KMS error; modeled ones are subclasses

Service exceptions carry ``code``, ``message``, ``http_status``, ``request_id``, ``fault``
("client" or "server"), ``retryable``, the response ``headers`` and ``metadata``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

if TYPE_CHECKING:
    from kms_mrk.errors._problem import ValidationProblem

__all__ = [
    "CallTimeoutError",
    "ClosedError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "CredentialsError",
    "KMSServiceException",
    "KmsMrkError",
    "NoCredentialsError",
    "NoRegionError",
    "ParamValidationError",
    "ReadTimeoutError",
    "ResponseMetadata",
    "ResponseParseError",
    "ServiceException",
    "TransportError",
    "ValidationProblem",
]

Fault = Literal["client", "server"]


def __getattr__(name: str) -> Any:
    if name == "ValidationProblem":  # defined apart, imported on first use
        from kms_mrk.errors._problem import ValidationProblem

        return ValidationProblem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@attrs.frozen(slots=True)
class ResponseMetadata:
    """What every response and every service error carries about its HTTP exchange.

    ``attempts`` counts every try, the first included; ``total_retry_delay`` is the time in
    seconds slept between them.
    """

    request_id: str | None = None
    http_status: int | None = None
    attempts: int = 1
    total_retry_delay: float = 0.0
    extended_request_id: str | None = None


class KmsMrkError(Exception):
    """Root of every exception raised by kms-mrk.

    Errors raised by a client call carry :attr:`metadata` (attempts made, time slept in
    retries, and the request id and HTTP status when a response was received).
    """

    metadata: ResponseMetadata | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle the message and the attributes as they are: subclasses' __init__ take other
        # arguments than the message, so they are not called again when unpickling.
        return (_restore_error, (type(self), self.args), self.__dict__ or None)


def _restore_error(cls: type[KmsMrkError], args: tuple[Any, ...]) -> KmsMrkError:
    error = cls.__new__(cls)
    error.args = args
    return error


class ParamValidationError(KmsMrkError, ValueError):
    """A command does not satisfy its model; every problem found is listed at once."""

    def __init__(self, operation: str, problems: Sequence[ValidationProblem]) -> None:
        self.operation = operation
        self.problems: tuple[ValidationProblem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"Invalid {operation} input, {len(self.problems)} {noun}:\n{lines}")


class ConfigurationError(KmsMrkError, ValueError):
    """Configuration is missing, contradictory or malformed."""


class NoRegionError(ConfigurationError):
    """No Region was given and none could be found in the environment or profile."""


class CredentialsError(KmsMrkError):
    """Credentials could not be loaded or refreshed."""


class NoCredentialsError(CredentialsError):
    """No credentials were found anywhere in the provider chain."""


class TransportError(KmsMrkError, OSError):
    """The HTTP exchange with ``host`` failed during ``phase``.

    ``request_sent`` is false when the failure happened before any byte of the request could
    have reached the server, which makes a retry always safe.
    """

    phase: ClassVar[str] = "send"
    request_sent: ClassVar[bool] = True

    def __init__(self, host: str, detail: str = "", *, phase: str | None = None) -> None:
        self.host = host
        self.detail = detail
        if phase is not None:
            self.phase = phase  # type: ignore[misc]
        message = f"{self._what()} {host} ({self.phase} phase)"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)

    def _what(self) -> str:
        return "HTTP exchange failed with"


class ConnectError(TransportError):
    """Could not open a connection: refused, unreachable, DNS or TLS handshake failure."""

    phase = "connect"
    request_sent = False

    def _what(self) -> str:
        return "Could not connect to"


class ConnectTimeoutError(ConnectError):
    """Opening the connection took longer than the connect timeout."""

    def _what(self) -> str:
        return "Timed out connecting to"


class ReadTimeoutError(TransportError):
    """The server did not answer within the read timeout."""

    phase = "read"

    def _what(self) -> str:
        return "Timed out waiting for a response from"


class ConnectionClosedError(TransportError):
    """The connection was reset or closed after the request was sent."""

    phase = "read"

    def _what(self) -> str:
        return "Connection closed by"


class CallTimeoutError(TransportError, TimeoutError):
    """The call's deadline passed (``send(command, timeout=...)`` or ``call_timeout=``).

    Raised by the call flow, never by a transport: the deadline spans every attempt and every
    backoff sleep, and the flow fails at once when the next backoff would cross it. Also a
    built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it as it catches
    ``asyncio`` timeouts. ``timeout`` is the deadline in seconds, ``attempts`` how many
    requests were sent, ``operation`` the KMS operation. ``request_sent`` is false when no
    attempt was started. The error that ended the last attempt, if any, is ``__cause__``.
    """

    phase = "deadline"

    def __init__(
        self,
        host: str,
        detail: str = "",
        *,
        operation: str | None = None,
        timeout: float | None = None,
        attempts: int = 0,
        request_sent: bool = True,
    ) -> None:
        self.operation = operation
        self.timeout = timeout
        self.attempts = attempts
        self.request_sent = request_sent  # type: ignore[misc]
        if not detail and operation is not None and timeout is not None:
            noun = "attempt" if attempts == 1 else "attempts"
            detail = (
                f"the {operation} call's deadline of {timeout:g}s passed after {attempts} {noun}"
            )
        super().__init__(host, detail)

    def _what(self) -> str:
        return "Call deadline exceeded talking to"


class ClosedError(KmsMrkError, RuntimeError):
    """A call was made on a client or transport after ``close()``; it is never retried."""


class ResponseParseError(KmsMrkError):
    """A response could not be understood: not JSON, wrong member types, an HTML error page.

    The message names what was received (a short, printable excerpt), the HTTP status and
    the request id; ``body_excerpt`` keeps that excerpt. The excerpt is withheld when the
    response could carry sensitive members (a Decrypt response's plaintext, say).
    """

    def __init__(
        self,
        reason: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        body: bytes = b"",
        operation: str | None = None,
        withhold_body: bool = False,
    ) -> None:
        self.reason = reason
        self.http_status = http_status
        self.request_id = request_id
        self.operation = operation
        self.body_excerpt = (
            "<withheld: may hold sensitive values>" if withhold_body else _excerpt(body)
        )
        parts = [f"Could not parse the {operation or 'service'} response: {reason}"]
        details = [f"HTTP {http_status}" if http_status is not None else None]
        details.append(f"request id {request_id}" if request_id else "no request id")
        parts.append(f" ({', '.join(d for d in details if d)})")
        if body:
            parts.append(f"; received {len(body)} bytes: {self.body_excerpt}")
        else:
            parts.append("; received an empty body")
        super().__init__("".join(parts))


def _excerpt(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(text + ("..." if len(body) > limit else ""))


class ServiceException(KmsMrkError):
    """An error answer from an AWS service (generic over services).

    Subclasses generated from a model set ``code``, ``fault`` and ``retryable`` as class
    attributes and list their modeled members in ``_members``: (wire name, attribute name).
    """

    code: str = "ServiceException"
    fault: Fault = "client"
    retryable: bool = False
    _members: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        metadata: ResponseMetadata | None = None,
        fault: Fault | None = None,
        **members: Any,
    ) -> None:
        if code is not None:
            self.code = code
        if fault is not None:
            self.fault = fault
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.headers: Mapping[str, str] = dict(headers or {})
        self.metadata = metadata or ResponseMetadata(request_id=request_id, http_status=http_status)
        for _wire, attr in self._members:
            setattr(self, attr, members.pop(attr, None))
        if members:
            raise TypeError(f"{type(self).__name__} has no members {sorted(members)}")
        super().__init__(message or self.code)

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.message else self.code
        if self.request_id:
            text = f"{text} (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "code": self.code,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "headers": self.headers,
            "metadata": self.metadata,
            "fault": self.fault,
        }
        kwargs.update({attr: getattr(self, attr, None) for _w, attr in self._members})
        return (_rebuild_service_exception, (type(self), self.message, kwargs))


def _rebuild_service_exception(
    cls: type[ServiceException], message: str | None, kwargs: dict[str, Any]
) -> ServiceException:
    return cls(message, **kwargs)


class KMSServiceException(ServiceException):
    """Base of every error answered by AWS KMS.

    An error code that the model does not know still arrives as a ``KMSServiceException``
    whose ``code`` is the one received.
    """

    code = "KMSServiceException"
