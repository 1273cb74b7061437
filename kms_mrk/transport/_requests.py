"""A transport that sends through ``requests``, so tests can fake the wire with ``responses``.

It is slower than :class:`~kms_mrk.transport.Urllib3Transport` (requests merges environment
settings on every call) and meant for tests and for applications that already configure a
``requests.Session`` (adapters, mounts, auth for a corporate proxy). requests is imported when
the transport is created, never when this module is imported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from kms_mrk.errors._base import (
    ClosedError,
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport._types import HttpRequest, HttpResponse
from kms_mrk.transport._urllib3 import (
    _describe,
    _describe_tls,
    _iter_chain,
    attempt_bound,
    check_client_cert,
    check_proxies,
    check_timeout,
    check_total_timeout,
    check_verify,
    deadline_passed_error,
    mask_url,
    read_bounded,
    total_timeout_error,
    translate_urllib3_error,
)

__all__ = ["RequestsTransport"]


class RequestsTransport:
    """Send requests with a :class:`requests.Session`.

    :param session: the session to use; one is created (and closed by :meth:`close`) when
        omitted. A session passed in stays open: its owner closes it.
    :param connect_timeout: seconds to wait for a connection.
    :param read_timeout: seconds to wait for each read of the response.
    :param total_timeout: the most one exchange may take (``None``: connect + read timeout);
        a request's own ``timeout`` wins when smaller. Every read of the response, headers
        and body, waits at most what is left of it, so neither endless interim responses
        nor a trickling server can stretch an attempt (see :meth:`bounded_adapter` for a
        session of your own).
    :param verify: verify TLS certificates, don't, or trust the CA bundle at this path.
    :param client_cert: a PEM file with certificate and key, or a (certificate, key) pair.
    :param proxies: ``{"http": url, "https": url, "no_proxy": "hosts"}``; ``None`` leaves proxy
        selection to requests, which reads ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``.

    Redirects are never followed; retries are the client's job.
    """

    def __init__(
        self,
        session: Any = None,
        *,
        connect_timeout: float = 60,
        read_timeout: float = 60,
        total_timeout: float | None = None,
        verify: bool | str = True,
        client_cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        import requests

        from kms_mrk.transport._bounded_http import deadline_scope

        self._deadline_scope = deadline_scope
        if session is not None and not isinstance(session, requests.Session):
            raise ConfigurationError(
                f"session must be a requests.Session, got {type(session).__name__}"
            )
        self._connect_timeout = check_timeout("connect_timeout", connect_timeout)
        self._read_timeout = check_timeout("read_timeout", read_timeout)
        self._total_timeout = check_total_timeout(
            total_timeout, self._connect_timeout, self._read_timeout
        )
        self._verify = check_verify(verify)
        cert = check_client_cert(client_cert)
        self._cert: str | tuple[str, str] | None = (
            None if cert is None else cert[0] if cert[1] is None else (cert[0], cert[1])
        )
        settings = check_proxies(proxies)
        # An explicit mapping replaces the environment: a scheme mapped to None tells requests
        # not to fill it in from HTTP_PROXY/HTTPS_PROXY.
        self._proxies: dict[str, str | None] | None = None
        if settings is not None:
            self._proxies = {"http": settings.http, "https": settings.https}
            if settings.no_proxy:
                self._proxies["no_proxy"] = ",".join(settings.no_proxy)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            session.mount("http://", self.bounded_adapter())
            session.mount("https://", self.bounded_adapter())
        self._session: Any = session
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        proxies = (
            "environment"
            if self._proxies is None
            else repr({k: mask_url(v) for k, v in self._proxies.items() if v and k != "no_proxy"})
        )
        return (
            f"RequestsTransport(connect_timeout={self._connect_timeout:g}, "
            f"read_timeout={self._read_timeout:g}, total_timeout={self._total_timeout:g}, "
            f"verify={self._verify!r}, proxies={proxies}, "
            f"closed={self._closed})"
        )

    @staticmethod
    def bounded_adapter(**kwargs: Any) -> Any:
        """A ``requests.adapters.HTTPAdapter`` whose reads honour the attempt's total bound.

        The transport mounts it on the session it creates. Mount it on a session of your own
        (``session.mount("https://", RequestsTransport.bounded_adapter())``) so that a server
        holding the status line or headers (endless ``100 Continue`` responses, a byte at a
        time) cannot stretch an attempt there either; with requests' plain adapter the bound
        is checked between body reads only. ``kwargs`` go to ``HTTPAdapter``.
        """
        from kms_mrk.transport._requests_bound import BoundedHTTPAdapter

        return BoundedHTTPAdapter(**kwargs)

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and return the whole response."""
        if self._closed:
            raise ClosedError(
                f"Cannot send a request to {request.url}: this transport has been closed"
            )
        host = _host_of(request.url)
        bound = attempt_bound(self._total_timeout, request)
        if bound <= 0:
            raise deadline_passed_error(host, self._total_timeout, request)
        deadline = time.monotonic() + bound
        response: Any = None
        try:
            with self._deadline_scope(deadline):
                response = self._session.request(
                    request.method,
                    request.url,
                    data=request.body or None,
                    headers=dict(request.headers),
                    timeout=(min(self._connect_timeout, bound), min(self._read_timeout, bound)),
                    verify=self._verify,
                    cert=self._cert,
                    proxies=self._proxies,
                    allow_redirects=False,
                    stream=True,
                )
            raw = response.raw
            # read1 returns what has arrived (at most n), so the total bound is checked between
            # reads of a trickling body: it is why urllib3's floor is 2.2.1 (read1 came in 2.2.0,
            # which botocore refuses).
            body = read_bounded(lambda n: raw.read1(n, decode_content=True), deadline)
        except Exception as exc:
            if response is not None:
                response.close()
            if isinstance(exc, TimeoutError) or (
                _is_timeout(exc) and time.monotonic() >= deadline - 0.005
            ):
                raise total_timeout_error(host, self._total_timeout, request) from exc
            from kms_mrk.transport._http11 import ResponseTooLarge

            if isinstance(exc, ResponseTooLarge):
                raise TransportError(host, str(exc), phase="read") from exc
            raise self._translate(exc, host) from exc
        response.close()
        return HttpResponse(response.status_code, dict(response.headers), body)

    def _translate(self, exc: Exception, host: str) -> Exception:
        import requests.exceptions as r

        if isinstance(exc, r.ConnectTimeout):
            return ConnectTimeoutError(host, f"no connection within {self._connect_timeout:g} s")
        if isinstance(exc, r.ReadTimeout):
            return ReadTimeoutError(host, f"no response within {self._read_timeout:g} s")
        if isinstance(exc, r.ProxyError):
            return ConnectError(host, f"through the proxy: {_inner_description(exc)}")
        if isinstance(exc, r.SSLError):
            return ConnectError(host, _describe_tls(exc))
        if isinstance(exc, r.ChunkedEncodingError):
            return ConnectionClosedError(host, _inner_description(exc))
        if isinstance(exc, r.ContentDecodingError):
            return TransportError(
                host,
                f"the response body could not be decoded: {_inner_description(exc)}",
                phase="read",
            )
        if isinstance(exc, (r.InvalidURL, r.MissingSchema, r.InvalidSchema, r.InvalidHeader)):
            return ConfigurationError(f"The request to {host} cannot be sent: {exc}")
        if isinstance(exc, r.ConnectionError):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
            if inner is not None:
                return translate_urllib3_error(
                    inner,
                    host,
                    connect_timeout=self._connect_timeout,
                    read_timeout=self._read_timeout,
                )
            # Raised directly (a mock, or an adapter of the application's own).
            return ConnectError(host, _describe(exc))
        if isinstance(exc, r.RequestException):
            return TransportError(host, _describe(exc))
        return translate_urllib3_error(
            exc, host, connect_timeout=self._connect_timeout, read_timeout=self._read_timeout
        )

    def close(self) -> None:
        """Close the session if this transport created it. The transport cannot send after."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> RequestsTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_timeout(exc: BaseException) -> bool:
    """A timeout anywhere in the chain, however requests or urllib3 wrapped it."""
    import requests.exceptions
    import urllib3.exceptions

    kinds = (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)
    return any(isinstance(item, kinds) for item in _iter_chain(exc))


def _inner_description(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, BaseException):
        reason = getattr(inner, "reason", None)
        return _describe(reason if isinstance(reason, BaseException) else inner)
    return _describe(exc)


def _host_of(url: str) -> str:
    rest = url.partition("://")[2]
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return netloc.rpartition("@")[2] or url
