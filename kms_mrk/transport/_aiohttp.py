"""An asyncio transport on aiohttp's client (``pip install 'kms-mrk[async]'``).

The default transport of ``AsyncKMSClient``: it spent the least CPU per request of the
asyncio HTTP clients measured (``bench/bench_async_transport.py``, figures in
docs/performance.md). aiohttp's parser is written in C (llhttp) and its connection pool
hands a kept-alive connection to the next request without a task switch.

Mapping to aiohttp: ``connect_timeout`` is both the socket connect timeout and the wait for
a pooled connection, ``read_timeout`` is aiohttp's ``sock_read`` (per read), and the smaller
of ``total_timeout`` and ``HttpRequest.timeout`` is aiohttp's ``total`` (timers fire when due,
not rounded up to the next second as aiohttp does by default). With
``pool_block=True`` at most ``max_pool_connections`` connections are open per host and
further requests wait; otherwise more are opened as needed and idle ones are kept for 15 s.
Responses are never decompressed (``Accept-Encoding: identity`` is sent unless the request
sets it), cookies are ignored, redirects are not followed and the environment is not read
by aiohttp (proxies come from the ``proxies`` option or, read by kms-mrk,
``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport._async_base import (
    MAX_BODY_BYTES,
    MAX_HEADERS,
    AsyncRoute,
    AsyncTransportBase,
    too_large,
)
from kms_mrk.transport._types import HttpRequest, HttpResponse
from kms_mrk.transport._urllib3 import (
    _describe,
    _describe_connect,
    _describe_os_error,
    _describe_tls,
    _find_ssl_error,
)

__all__ = ["AiohttpTransport"]


class AiohttpTransport(AsyncTransportBase):
    """Send requests with an :class:`aiohttp.ClientSession` (``AsyncTransport``).

    :param max_pool_connections: connections per host (see ``pool_block``).
    :param connect_timeout: seconds to open a connection (TCP and TLS), and to wait for a
        free pooled one when ``pool_block`` is true.
    :param read_timeout: seconds to wait for each read of the response.
    :param total_timeout: the most one exchange may take, connecting to last byte; ``None``
        means ``connect_timeout + read_timeout``. ``HttpRequest.timeout`` wins when smaller.
    :param verify: verify TLS certificates (``True``), don't (``False``), or trust the CA
        bundle file or directory at this path.
    :param client_cert: a PEM file with certificate and key, or a (certificate, key) pair.
    :param proxies: ``{"http": url, "https": url, "no_proxy": "hosts"}``; ``None`` reads
        ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` once, on first use; ``{}`` disables
        proxies.
    :param pool_block: at most ``max_pool_connections`` connections per host; further
        requests wait (within ``connect_timeout``) for a free one.

    Create and use it on one event loop; ``await aclose()`` (or ``async with``) when done.
    """

    _library = "aiohttp"
    _session: Any = None  # set by _open(), inside the event loop
    _aiohttp: Any = None
    _timeout: Any = None

    def _prepare(self) -> Any:
        import aiohttp  # imported here, in a worker thread: it loads CA files on import

        return aiohttp, self._ssl_context()

    def _open(self, prepared: Any) -> None:
        aiohttp, context = prepared
        self._aiohttp = aiohttp
        per_host = self._max_pool_connections if self._pool_block else 0
        connector = aiohttp.TCPConnector(
            ssl=context,
            limit=0,
            limit_per_host=per_host,
            keepalive_timeout=15,
            timeout_ceil_threshold=1e9,  # timeouts end when due, not at the next whole second
        )
        self._timeout = self._timeout_with_total(self._total_timeout)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
            trust_env=False,
            raise_for_status=False,
            max_headers=MAX_HEADERS,
            headers={"Accept-Encoding": "identity"},  # bodies are never decompressed
        )

    def _timeout_with_total(self, total: float) -> Any:
        return self._aiohttp.ClientTimeout(
            total=total,
            connect=self._connect_timeout,
            sock_connect=self._connect_timeout,
            sock_read=self._read_timeout,
        )

    async def _exchange_within(
        self, route: AsyncRoute, request: HttpRequest, bound: float
    ) -> HttpResponse:
        """The exchange under aiohttp's own total timeout (one timer it runs anyway, cheaper
        than a second one around it); it raises a plain ``TimeoutError`` when it passes."""
        timeout = self._timeout if bound == self._total_timeout else self._timeout_with_total(bound)
        headers = request.headers  # Accept-Encoding: identity is a session default
        proxy_headers = None
        if route.proxy_authorization is not None:
            if request.url[:6].lower() == "https:":  # sent with CONNECT
                proxy_headers = {"Proxy-Authorization": route.proxy_authorization}
            else:  # a forwarded request: the proxy reads it from the request itself
                headers = {**headers, "Proxy-Authorization": route.proxy_authorization}
        # If this raises or is cancelled, aiohttp has already closed the connection.
        response = await self._session.request(
            request.method,
            request.url,
            data=request.body or None,
            headers=headers,
            allow_redirects=False,
            proxy=route.proxy,
            proxy_headers=proxy_headers,
            timeout=timeout,
        )
        try:
            length = response.content_length
            if length is not None:
                if length > MAX_BODY_BYTES:
                    raise too_large(length, announced=True)
                body: bytes = await response.read()
            else:
                content = response.content
                buffer = bytearray()
                while True:
                    piece = await content.readany()
                    if not piece:
                        break
                    buffer += piece
                    if len(buffer) > MAX_BODY_BYTES:
                        raise too_large(len(buffer), announced=False)
                body = bytes(buffer)
        except BaseException:
            response.close()  # discard the connection: its state is unknown
            raise
        merged: dict[str, str] = {}
        for name, value in response.headers.items():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        response.release()
        return HttpResponse(response.status, merged, body)

    async def _close_pools(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- errors -------------------------------------------------------------------------------

    def _is_library_error(self, exc: BaseException) -> bool:
        return self._aiohttp is not None and isinstance(exc, self._aiohttp.ClientError)

    def _translate(self, exc: BaseException, host: str) -> Exception:
        a = self._aiohttp
        if isinstance(exc, a.ClientProxyConnectionError):
            return ConnectError(host, f"through the proxy: {_describe_connect(exc.os_error)}")
        if isinstance(exc, a.ClientHttpProxyError):
            return ConnectError(
                host, f"through the proxy: the proxy answered {exc.status} {exc.message}"
            )
        if isinstance(exc, a.ClientSSLError) or (
            isinstance(exc, a.ClientConnectorError) and _find_ssl_error(exc) is not None
        ):
            return ConnectError(host, _describe_tls(exc))
        if isinstance(exc, a.ClientConnectorDNSError):
            return ConnectError(host, f"DNS lookup failed ({exc.os_error.strerror or exc})")
        if isinstance(exc, a.ClientConnectorError):
            return ConnectError(host, _describe_os_error(exc.os_error))
        if isinstance(exc, a.ConnectionTimeoutError):
            return ConnectTimeoutError(
                host,
                f"no connection within {self._connect_timeout:g} s"
                + (
                    f" (or no free pooled connection, max_pool_connections="
                    f"{self._max_pool_connections}, pool_block=True)"
                    if self._pool_block
                    else ""
                ),
            )
        if isinstance(exc, a.SocketTimeoutError):
            return ReadTimeoutError(host, f"no response within {self._read_timeout:g} s")
        if isinstance(exc, a.ServerDisconnectedError):
            return ConnectionClosedError(
                host, "the server closed the connection without sending a response"
            )
        if isinstance(exc, a.ClientPayloadError):
            return ConnectionClosedError(host, f"the response ended early ({_describe(exc)})")
        if isinstance(exc, a.ClientResponseError):  # not HTTP, or a malformed response
            return ConnectionClosedError(host, f"invalid HTTP response ({exc.message})")
        if isinstance(exc, a.InvalidURL):
            return ConfigurationError(f"Request URL for {host} is not valid: {exc}")
        if isinstance(exc, a.ClientOSError):
            return ConnectionClosedError(host, _describe_os_error(exc))
        if isinstance(exc, ValueError):  # a header aiohttp refuses to write
            return ConfigurationError(
                f"The request to {host} cannot be written: {type(exc).__name__}"
            )
        if isinstance(exc, asyncio.TimeoutError):
            return ReadTimeoutError(host, f"no response within {self._read_timeout:g} s")
        return TransportError(host, _describe(exc))
