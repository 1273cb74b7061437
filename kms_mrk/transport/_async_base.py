"""What the asyncio transports share: options, first use inside the loop, the total bound.

:class:`AiohttpTransport` and :class:`HttpxTransport` differ only in the exchange itself and
in the library exceptions they map; everything else is here so that both behave the same:

* The keyword options are those of :class:`~kms_mrk.transport.Urllib3Transport` plus
  ``total_timeout``, checked the same way when the transport is created (nothing else
  happens then).
* The first ``send`` runs the blocking preparation in a worker thread, never on the event
  loop: importing the library, building the TLS context (loading a CA bundle reads files)
  and reading the proxy environment. It then creates the session inside the running loop and
  binds the transport to that loop; using it from another loop raises ``ConfigurationError``
  (a session's connections belong to one loop).
* Every attempt is bounded by the smaller of ``total_timeout`` and ``HttpRequest.timeout``
  on top of the library's connect and per-read timeouts: by ``asyncio.timeout``
  (``asyncio.wait_for`` on Python 3.10) unless the library has a total timeout of its own
  (aiohttp), which the subclass then uses instead.
* Bodies are read piece by piece up to the same limit as the sync transport
  (:data:`kms_mrk.transport._http11.MAX_BODY_BYTES`).
* Cancellation: the exchange closes the connection it was using (its state is unknown) and
  ``CancelledError`` propagates unchanged.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from kms_mrk.errors._base import (
    ClosedError,
    ConfigurationError,
    KmsMrkError,
    TransportError,
)
from kms_mrk.transport._http11 import MAX_BODY_BYTES, MAX_HEADERS, ResponseTooLarge
from kms_mrk.transport._types import HttpRequest, HttpResponse
from kms_mrk.transport._urllib3 import (
    ProxySettings,
    TransportOptions,
    _ssl_context,
    attempt_bound,
    deadline_passed_error,
    total_timeout_error,
)

__all__ = ["MAX_BODY_BYTES", "MAX_HEADERS", "AsyncRoute", "AsyncTransportBase", "too_large"]

_HAS_TIMEOUT: Final = sys.version_info >= (3, 11)
_ROUTE_CACHE_LIMIT: Final = 512


class AsyncRoute(NamedTuple):
    """What a URL needs, worked out once: the host for errors and the proxy, if any."""

    host: str
    proxy: str | None  # the proxy URL without credentials
    proxy_authorization: str | None  # the Proxy-Authorization header from the URL's user info


def too_large(seen: int, *, announced: bool) -> ResponseTooLarge:
    return ResponseTooLarge(MAX_BODY_BYTES, seen, announced=announced)


class AsyncTransportBase(TransportOptions):
    """The shared part of the asyncio transports (see the module docstring)."""

    _library = ""  # the distribution to install, for the error when it is missing

    def __init__(
        self,
        *,
        max_pool_connections: int = 10,
        connect_timeout: float = 60,
        read_timeout: float = 60,
        total_timeout: float | None = None,
        verify: bool | str = True,
        client_cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        pool_block: bool = False,
    ) -> None:
        super().__init__(
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            verify=verify,
            client_cert=client_cert,
            proxies=proxies,
            pool_block=pool_block,
        )
        self._proxies: ProxySettings | None = None
        self._routes: dict[str, AsyncRoute] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # set once the session exists
        self._owner: asyncio.AbstractEventLoop | None = None  # the loop of the first send
        self._start_lock: asyncio.Lock | None = None
        self._closed = False

    # -- the hot path -----------------------------------------------------------------------

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and return the whole response (the body is read into memory)."""
        if self._loop is not asyncio.get_running_loop() or self._closed:
            await self._start()
        route = self._routes.get(request.url)
        if route is None:
            route = self._new_route(request.url)
        bound = attempt_bound(self._total_timeout, request)
        if bound <= 0:
            raise deadline_passed_error(route.host, self._total_timeout, request)
        try:
            return await self._exchange_within(route, request, bound)
        except KmsMrkError:
            raise
        except Exception as exc:
            if self._is_library_error(exc):
                raise self._translate(exc, route.host) from exc
            if isinstance(exc, ResponseTooLarge):
                raise TransportError(route.host, str(exc), phase="read") from exc
            if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
                raise total_timeout_error(route.host, self._total_timeout, request) from exc
            raise self._translate(exc, route.host) from exc

    # -- for the library-specific subclasses --------------------------------------------------

    def _prepare(self) -> Any:
        """Blocking preparation, run in a worker thread: import the library, TLS context."""
        raise NotImplementedError

    def _open(self, prepared: Any) -> None:
        """Create the session or pools (inside the running loop, without blocking)."""
        raise NotImplementedError

    async def _exchange_within(
        self, route: AsyncRoute, request: HttpRequest, bound: float
    ) -> HttpResponse:
        """The exchange, ended by ``TimeoutError`` after ``bound`` seconds."""
        if _HAS_TIMEOUT:
            async with asyncio.timeout(bound):  # type: ignore[attr-defined,unused-ignore]
                return await self._exchange(route, request)
        return await asyncio.wait_for(self._exchange(route, request), bound)

    async def _exchange(self, route: AsyncRoute, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    async def _close_pools(self) -> None:
        raise NotImplementedError

    def _is_library_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _translate(self, exc: BaseException, host: str) -> Exception:
        raise NotImplementedError

    # -- setup ----------------------------------------------------------------------------------

    def _ssl_context(self) -> Any:
        """The TLS context (CA bundle loaded): call from the worker thread only."""
        return _ssl_context(self._verify, self._client_cert)

    async def _start(self) -> None:
        if self._closed:
            raise ClosedError(
                f"Cannot send a request: this {type(self).__name__} has been closed "
                "(create a new transport or client)"
            )
        loop = asyncio.get_running_loop()
        if self._owner is not None and self._owner is not loop:
            raise ConfigurationError(
                f"This {type(self).__name__} was first used on another event loop; its "
                "connections belong to that loop. Create one transport (and client) per "
                "event loop."
            )
        self._owner = loop
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._loop is None:
                prepared = await asyncio.to_thread(self._prepare_all)
                if self._closed:
                    raise ClosedError(f"this {type(self).__name__} was closed while starting")
                self._open(prepared)
                self._loop = loop

    def _prepare_all(self) -> Any:
        if self._proxy_arg is None:
            import os

            self._proxies = ProxySettings.from_environ(os.environ)
        else:
            self._proxies = self._proxy_arg
        try:
            return self._prepare()
        except ImportError as exc:
            raise ConfigurationError(
                f"{type(self).__name__} needs the {self._library!r} package "
                f"({exc}): pip install 'kms-mrk[{self._library}]'"
            ) from None

    def _new_route(self, url: str) -> AsyncRoute:
        from urllib.parse import unquote, urlsplit

        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"Request URL {url!r} is not valid: {exc}") from None
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise ConfigurationError(
                f"Request URL {url!r} is not valid: it needs an http:// or https:// scheme "
                "and a host"
            )
        assert self._proxies is not None
        proxy = self._proxies.proxy_for(scheme, host, port)
        auth = None
        if proxy is not None:
            proxy_parts = urlsplit(proxy)
            if proxy_parts.username is not None:
                import base64

                user_info = f"{unquote(proxy_parts.username)}:{unquote(proxy_parts.password or '')}"
                auth = "Basic " + base64.b64encode(user_info.encode("latin-1")).decode("ascii")
                netloc = proxy_parts.netloc.rpartition("@")[2]
                proxy = proxy_parts._replace(netloc=netloc).geturl()
        route = AsyncRoute(parts.netloc.rpartition("@")[2], proxy, auth)
        if len(self._routes) < _ROUTE_CACHE_LIMIT:
            self._routes[url] = route
        return route

    # -- closing ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close every pooled connection. The transport cannot send afterwards."""
        if self._closed:
            return
        self._closed = True
        self._routes.clear()
        if self._loop is None:
            return
        if self._loop is not asyncio.get_running_loop():
            raise ConfigurationError(
                f"Close this {type(self).__name__} on the event loop it was used on"
            )
        await self._close_pools()

    async def __aenter__(self) -> AsyncTransportBase:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
