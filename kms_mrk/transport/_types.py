"""The transport interface: one request in, one response out.

Every test double, the embedded local KMS and the real HTTP clients plug in here, so the
serializer, signer and parser above always run for real (httpx's transport design).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["HttpRequest", "HttpResponse", "Transport"]


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@attrs.frozen(slots=True)
class HttpRequest:
    """A signed (or about to be signed) HTTP request.

    ``url`` is absolute (``https://kms.us-east-1.amazonaws.com/``). ``headers`` keep the case
    they were set with; use :meth:`header` for a case-insensitive lookup.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""

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
        return HttpRequest(self.method, self.url, headers, self.body)

    def replace(
        self,
        *,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpRequest:
        """Return a copy with the given parts replaced."""
        return HttpRequest(
            self.method if method is None else method,
            self.url if url is None else url,
            self.headers if headers is None else headers,
            self.body if body is None else body,
        )


@attrs.frozen(slots=True)
class HttpResponse:
    """An HTTP response. Header names are stored lower-cased (HTTP/2 style)."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    body: bytes = b""

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
