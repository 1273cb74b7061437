"""An asyncio transport on httpx's connection pools (``pip install 'kms-mrk[httpx]'``).

The optional asyncio transport, for applications that already depend on httpx. It uses
``httpx.AsyncHTTPTransport`` directly (one for direct connections, one per proxy) rather
than ``httpx.AsyncClient``: the client's cookie, auth, redirect and event-hook layers are
not needed for a signed KMS request and cost CPU on every call.

Mapping to httpx: ``connect_timeout`` is the connect and pool timeout, ``read_timeout`` the
read and write timeouts (per operation); ``total_timeout`` and ``HttpRequest.timeout`` are
enforced around the whole exchange by the shared base. With ``pool_block=True`` at most
``max_pool_connections`` connections are open per transport and further requests wait;
otherwise connections are opened as needed and ``max_pool_connections`` idle ones are kept.
The response headers are bounded by h11 (16 KiB of header block).
"""

from __future__ import annotations

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
    _describe_protocol,
    _describe_tls,
    _find_ssl_error,
)

__all__ = ["HttpxTransport"]


class HttpxTransport(AsyncTransportBase):
    """Send requests with httpx's ``AsyncHTTPTransport`` pools (``AsyncTransport``).

    The options are those of :class:`~kms_mrk.transport.AiohttpTransport`; see there.
    Create and use it on one event loop; ``await aclose()`` (or ``async with``) when done.
    """

    _library = "httpx"
    _httpx: Any = None  # set by _open(), inside the event loop
    _direct: Any = None  # the pool for direct connections
    _proxied: dict[str, Any]  # proxy URL -> its pool
    _extensions: dict[str, Any]
    _context: Any = None

    def _prepare(self) -> Any:
        import httpx

        return httpx, self._ssl_context()

    def _open(self, prepared: Any) -> None:
        httpx, self._context = prepared
        self._httpx = httpx
        self._proxied = {}
        self._direct = self._pool(None)
        self._extensions = {
            "timeout": {
                "connect": self._connect_timeout,
                "read": self._read_timeout,
                "write": self._read_timeout,
                "pool": self._connect_timeout,
            }
        }

    def _pool(self, proxy: Any) -> Any:
        httpx = self._httpx
        limits = httpx.Limits(
            max_connections=self._max_pool_connections if self._pool_block else None,
            max_keepalive_connections=self._max_pool_connections,
            keepalive_expiry=15,
        )
        return httpx.AsyncHTTPTransport(
            verify=self._context, trust_env=False, limits=limits, retries=0, proxy=proxy
        )

    def _transport_for(self, route: AsyncRoute) -> Any:
        if route.proxy is None:
            return self._direct
        pool = self._proxied.get(route.proxy)
        if pool is None:
            try:
                headers = None
                if route.proxy_authorization is not None:
                    headers = {"Proxy-Authorization": route.proxy_authorization}
                context = self._context if route.proxy.startswith("https:") else None
                proxy = self._httpx.Proxy(route.proxy, headers=headers, ssl_context=context)
                pool = self._pool(proxy)
            except Exception as exc:
                raise ConfigurationError(f"Proxy URL {route.proxy!r} is not valid: {exc}") from None
            self._proxied[route.proxy] = pool
        return pool

    async def _exchange(self, route: AsyncRoute, request: HttpRequest) -> HttpResponse:
        httpx = self._httpx
        headers = list(request.headers.items())
        if request.header("accept-encoding") is None:
            headers.append(("Accept-Encoding", "identity"))
        try:
            outgoing = httpx.Request(
                request.method,
                request.url,
                headers=headers,
                content=request.body,
                extensions=self._extensions,
            )
        except Exception as exc:
            raise ConfigurationError(
                f"The request to {route.host} cannot be written: {type(exc).__name__}"
            ) from None
        response: Any = None
        try:
            response = await self._transport_for(route).handle_async_request(outgoing)
            if len(response.headers) > MAX_HEADERS:
                raise ConnectionClosedError(
                    route.host, f"invalid HTTP response (more than {MAX_HEADERS} header lines)"
                )
            length_text = response.headers.get("content-length")
            if length_text is not None and length_text.isdigit():
                length = int(length_text) if len(length_text) < 20 else MAX_BODY_BYTES + 1
                if length > MAX_BODY_BYTES:
                    raise too_large(length, announced=True)
            body = bytearray()
            async for piece in response.stream:
                body += piece
                if len(body) > MAX_BODY_BYTES:
                    raise too_large(len(body), announced=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if route.proxy is None:
                raise
            mapped = self._translate(exc, route.host)
            detail = mapped.detail if isinstance(mapped, TransportError) else str(exc)
            raise ConnectError(route.host, f"through the proxy: {detail}") from exc
        except BaseException:
            if response is not None:
                # Closing a response that was not read to the end closes its connection.
                await response.aclose()
            raise
        await response.aclose()
        merged: dict[str, str] = {}
        for name, value in response.headers.multi_items():
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return HttpResponse(response.status_code, merged, bytes(body))

    async def _close_pools(self) -> None:
        pools = [self._direct, *self._proxied.values()]
        self._proxied.clear()
        for pool in pools:
            if pool is not None:
                await pool.aclose()

    # -- errors -------------------------------------------------------------------------------

    def _is_library_error(self, exc: BaseException) -> bool:
        return self._httpx is not None and isinstance(exc, self._httpx.HTTPError)

    def _translate(self, exc: BaseException, host: str) -> Exception:
        h = self._httpx
        if isinstance(exc, h.ProxyError):
            return ConnectError(host, f"through the proxy: {_describe_connect(exc)}")
        if isinstance(exc, h.PoolTimeout):
            return ConnectTimeoutError(
                host,
                f"no pooled connection became free within {self._connect_timeout:g} s "
                f"(max_pool_connections={self._max_pool_connections}, pool_block=True)",
            )
        if isinstance(exc, h.ConnectTimeout):
            return ConnectTimeoutError(host, f"no connection within {self._connect_timeout:g} s")
        if isinstance(exc, h.ConnectError):
            if _find_ssl_error(exc) is not None:
                return ConnectError(host, _describe_tls(exc))
            return ConnectError(host, _describe_connect(exc))
        if isinstance(exc, (h.ReadTimeout, h.WriteTimeout)):
            return ReadTimeoutError(host, f"no response within {self._read_timeout:g} s")
        if isinstance(exc, h.RemoteProtocolError):
            text = str(exc)
            if "without sending" in text or "disconnected" in text.lower():
                return ConnectionClosedError(
                    host, "the server closed the connection without sending a response"
                )
            return ConnectionClosedError(host, f"invalid HTTP response ({text})")
        if isinstance(exc, (h.ReadError, h.WriteError, h.CloseError)):
            if _find_ssl_error(exc) is not None:
                return ConnectionClosedError(host, f"TLS error: {_describe_tls(exc)}")
            return ConnectionClosedError(host, _describe_protocol(exc))
        if isinstance(exc, (h.LocalProtocolError, h.UnsupportedProtocol, h.InvalidURL)):
            return ConfigurationError(f"The request to {host} cannot be written: {exc}")
        return TransportError(host, _describe(exc))
