"""The transport interface: one request in, one response out.

Every test double, the embedded local KMS and the real HTTP clients plug in here, so the
serializer, signer and parser above always run for real (httpx's transport design).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["AsyncTransport", "HttpRequest", "HttpResponse", "Transport"]

# Header values that are credentials, shown as *** by repr.
_SECRET_HEADERS = frozenset({"x-amz-security-token", "authorization", "cookie", "set-cookie"})


def _frozen(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy: a request cannot change after it is signed, nor a response."""
    return MappingProxyType(dict(headers))


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({k.lower(): v for k, v in headers.items()})


def _headers_repr(headers: Mapping[str, str]) -> str:
    shown = {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
    return repr(shown)


class _Keep:
    """Marks an argument of :meth:`HttpRequest.replace` that was not given."""

    __slots__ = ()


_KEEP = _Keep()


@attrs.frozen(slots=True, repr=False)
class HttpRequest:
    """A signed (or about to be signed) HTTP request.

    ``url`` is absolute (``https://kms.us-east-1.amazonaws.com/``). ``headers`` keep the case
    they were set with and are read-only; use :meth:`header` for a case-insensitive lookup
    and :meth:`with_header` or :meth:`replace` for a changed copy. ``repr`` shows the body's
    length only and masks credentials (the body may hold plaintext).

    ``timeout`` is the most this attempt may take, in seconds, from the moment the transport
    starts sending it to the last byte of the response (connecting, writing, waiting and
    reading together). The call flow sets it from what is left of the call's deadline;
    ``None`` means no bound beyond the transport's own timeouts. Transports honour the
    smaller of this and their own total bound and raise a timeout error when it passes.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    body: bytes = b""
    timeout: float | None = attrs.field(default=None, eq=False)

    def __repr__(self) -> str:
        return (
            f"HttpRequest(method={self.method!r}, url={self.url!r}, "
            f"headers={_headers_repr(self.headers)}, body=<{len(self.body)} bytes>"
            + ("" if self.timeout is None else f", timeout={self.timeout:.3f}")
            + ")"
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        """Return the first header named ``name`` in any case, or ``default``."""
        value = self.headers.get(name)
        if value is not None:
            return value
        lname = name.lower()
        for key, val in self.headers.items():
            if key.lower() == lname:
                return val
        return default

    def with_header(self, name: str, value: str) -> HttpRequest:
        """Return a copy with ``name`` set to ``value`` (replacing any case variant)."""
        lname = name.lower()
        headers = {k: v for k, v in self.headers.items() if k.lower() != lname}
        headers[name] = value
        return HttpRequest(self.method, self.url, headers, self.body, self.timeout)

    def replace(
        self,
        *,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float | _Keep | None = _KEEP,
    ) -> HttpRequest:
        """Return a copy with the given parts replaced (``timeout=None`` removes the bound)."""
        return HttpRequest(
            self.method if method is None else method,
            self.url if url is None else url,
            self.headers if headers is None else headers,
            self.body if body is None else body,
            self.timeout if isinstance(timeout, _Keep) else timeout,
        )


@attrs.frozen(slots=True, repr=False)
class HttpResponse:
    """An HTTP response. Header names are stored lower-cased (HTTP/2 style), read-only.

    ``repr`` shows the body's length only (a Decrypt response carries plaintext).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    body: bytes = b""

    def __repr__(self) -> str:
        return (
            f"HttpResponse(status={self.status!r}, headers={_headers_repr(self.headers)}, "
            f"body=<{len(self.body)} bytes>)"
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        """Return the header named ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP request and returns its response.

    Implementations raise :class:`kms_mrk.errors.TransportError` subclasses for connection
    failures and timeouts, never the underlying library's exceptions. They must be safe to call
    from several threads at once.
    """

    def send(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """The asynchronous form of :class:`Transport`, used by ``AsyncKMSClient``.

    ``send`` is a coroutine. Implementations raise :class:`kms_mrk.errors.TransportError`
    subclasses, never the underlying library's exceptions; they honour
    :attr:`HttpRequest.timeout`; and when the task awaiting ``send`` is cancelled they
    discard the connection in use (its state is unknown) and let ``CancelledError``
    propagate. They must be safe to use from many tasks of one event loop at once.
    """

    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def aclose(self) -> None: ...
