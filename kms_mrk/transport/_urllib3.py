"""The default transport: keep-alive connection pools, one per origin.

Design notes:

* Importing this module is cheap, and so is a call over plain HTTP: direct connections are
  opened and pooled by ``_pool`` (``socket``, and ``ssl`` for https), and the request is
  written and the response read by ``_http11``. urllib3 is imported only for a route through
  a proxy (it opens the ``CONNECT`` tunnel and pools those connections); ``ssl`` only for the
  first https route.
* ``send()`` is on every call's hot path. A request URL is mapped once to a *route* (the
  connection pool, the request target and the host name used in errors) and the route is
  cached; after that a call takes a pooled connection, writes the request in one
  ``sendall`` and reads the response with ``_http11`` (bounded in size, count and time),
  directly or through a proxy.
* The TLS context is built once (and the default one shared between transports), with
  urllib3's defaults. CA bundles and client certificates are loaded into it here, once,
  instead of on every new connection.
* Retries and redirects belong to the client's retry layer, never to the transport.
* Every failure becomes a :class:`~kms_mrk.errors.TransportError` subclass naming the host and the
  phase; the underlying exceptions stay inside (they are chained as ``__cause__`` for debugging).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kms_mrk.errors._base import (
    ClosedError,
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    KmsMrkError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport._pool import Pool, PoolClosedError, PoolTimeoutError, ResolveTimeoutError
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import ssl

__all__ = ["Urllib3Transport"]

_ROUTE_CACHE_LIMIT: Final = 512


class _Route:
    """How one request URL is sent (built once per URL, then cached).

    A plain class: a ``typing.NamedTuple`` evaluates its annotations when the module loads.
    """

    __slots__ = (
        "extra_headers",
        "host",
        "host_header",
        "insecure",
        "pool",
        "proxied",
        "target",
        "tunnel",
    )

    def __init__(
        self,
        pool: Any,  # a _pool.Pool, or a urllib3 pool through a proxy (urllib3 loads lazily)
        target: str,  # what goes on the request line: "/" or, through a forward proxy, the URL
        host: str,  # host[:port] for error messages
        *,
        proxied: bool,  # through a proxy: errors while connecting say so
        insecure: bool,  # https without certificate verification: warn on each new connection
        host_header: str,  # the Host header: host[:port], the port only when not the default
        tunnel: bool,  # https through a proxy: a new connection opens a CONNECT tunnel
        extra_headers: Mapping[str, str] | None,  # a forward proxy's Proxy-Authorization
    ) -> None:
        self.pool = pool
        self.target = target
        self.host = host
        self.proxied = proxied
        self.insecure = insecure
        self.host_header = host_header
        self.tunnel = tunnel
        self.extra_headers = extra_headers


# The fast path writes the request and reads the response itself (kms_mrk.transport._http11)
# on sockets that urllib3's connection objects opened, skipping urllib3's and http.client's
# per-request layers. Bound on first use, with the rest of the lazy imports.
_format_head: Any = None
_read_response: Any = None
_ResponseTooLarge: Any = None
_TotalTimeout: Any = None


# --------------------------------------------------------------------------------------------
# Proxy settings (shared with the requests transport's docs; pure functions, no I/O)
# --------------------------------------------------------------------------------------------


class ProxySettings(NamedTuple):
    """Proxy URLs per scheme and the ``no_proxy`` bypass list, already normalised."""

    http: str | None
    https: str | None
    no_proxy: tuple[str, ...]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ProxySettings:
        """Read ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` the way urllib and botocore do.

        Lower-case names win over upper-case ones; ``HTTP_PROXY`` is ignored when
        ``REQUEST_METHOD`` is set (a CGI environment, where it can be set by a client header).
        """
        http = _env_proxy(environ, "http_proxy", cgi_unsafe=True)
        https = _env_proxy(environ, "https_proxy", cgi_unsafe=False)
        no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
        return cls(_fix_proxy_url(http), _fix_proxy_url(https), _split_no_proxy(no_proxy))

    @classmethod
    def from_mapping(cls, proxies: Mapping[str, str]) -> ProxySettings:
        """Build from an explicit ``{"http": url, "https": url, "no_proxy": "a,b"}`` mapping."""
        unknown = set(proxies) - {"http", "https", "no_proxy"}
        if unknown:
            raise ConfigurationError(
                f"proxies has unknown keys {sorted(unknown)}: use 'http', 'https' and 'no_proxy'"
            )
        return cls(
            _fix_proxy_url(proxies.get("http")),
            _fix_proxy_url(proxies.get("https")),
            _split_no_proxy(proxies.get("no_proxy", "")),
        )

    def proxy_for(self, scheme: str, host: str, port: int | None) -> str | None:
        """Return the proxy URL to use for ``scheme://host:port``, or None to go direct."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or _bypass_proxy(self.no_proxy, host, port):
            return None
        return proxy


def _env_proxy(environ: Mapping[str, str], name: str, *, cgi_unsafe: bool) -> str | None:
    value = environ.get(name)
    if not value and not (cgi_unsafe and "REQUEST_METHOD" in environ):
        value = environ.get(name.upper())
    return value.strip() if value and value.strip() else None


def _fix_proxy_url(url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("//"):
        return "http:" + url
    return "http://" + url


def _split_no_proxy(value: str) -> tuple[str, ...]:
    entries = (e.strip().lower() for e in value.replace(" ", ",").split(","))
    return tuple(e for e in entries if e)


def _bypass_proxy(no_proxy: tuple[str, ...], host: str, port: int | None) -> bool:
    """True when ``host`` matches a ``no_proxy`` entry (curl/requests rules).

    ``*`` matches everything; ``example.com`` and ``.example.com`` match the domain and its
    subdomains; ``host:port`` matches that port only; IP addresses match exactly and CIDR
    blocks (``10.0.0.0/8``) match the addresses inside them.
    """
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    for entry in no_proxy:
        if entry == "*":
            return True
        name, entry_port = entry, None
        if entry.count(":") == 1 or entry.startswith("["):  # host:port or [v6]:port
            head, _, tail = entry.rpartition(":")
            if tail.isdigit() and head:
                name, entry_port = head, int(tail)
        name = name.strip("[]")
        if entry_port is not None and entry_port != port:
            continue
        if "/" in name:
            if _in_cidr(host, name):
                return True
            continue
        name = name.lstrip("*").lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def _in_cidr(host: str, block: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False


def mask_url(url: str) -> str:
    """Hide the user name and password of a URL (``http://***:***@proxy:3128``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, _, hostport = netloc.rpartition("@")
    masked = "***:***" if ":" in userinfo else "***"
    return f"{scheme}://{masked}@{hostport}{slash}{path}"


# --------------------------------------------------------------------------------------------
# Argument checks shared by both transports
# --------------------------------------------------------------------------------------------


def check_pool(max_pool_connections: object, pool_block: object) -> None:
    """ConfigurationError unless the pool options are an integer >= 1 and a bool."""
    if (
        isinstance(max_pool_connections, bool)
        or not isinstance(max_pool_connections, int)
        or max_pool_connections < 1
    ):
        raise ConfigurationError(
            f"max_pool_connections must be an integer >= 1, got {max_pool_connections!r}"
        )
    if not isinstance(pool_block, bool):
        raise ConfigurationError(f"pool_block must be a bool, got {pool_block!r}")


def check_timeout(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise ConfigurationError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    if not value > 0:  # also rejects NaN
        raise ConfigurationError(f"{name} must be greater than 0 seconds, got {value!r}")
    return float(value)


def check_verify(value: object) -> bool | str:
    """``True``/``False`` or an existing CA bundle file or directory."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not isinstance(path, str) or not path:
            raise ConfigurationError(f"verify must be a bool or a CA bundle path, got {value!r}")
        if not os.path.exists(path):
            raise ConfigurationError(f"verify={path!r}: the CA bundle does not exist")
        return path
    raise ConfigurationError(f"verify must be a bool or a CA bundle path, got {value!r}")


def check_client_cert(value: object) -> tuple[str, str | None] | None:
    """``None``, a PEM file holding certificate and key, or a (certificate, key) pair."""
    if value is None:
        return None
    if isinstance(value, str):
        files: tuple[str, ...] = (value,)
    elif isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        files = value
    else:
        raise ConfigurationError(
            "client_cert must be a PEM file path or a (certificate path, key path) tuple, "
            f"got {type(value).__name__}"
        )
    for path in files:
        if not os.path.isfile(path):
            raise ConfigurationError(f"client_cert: the file {path!r} does not exist")
    return (files[0], files[1] if len(files) == 2 else None)


def check_proxies(proxies: Mapping[str, str] | None) -> ProxySettings | None:
    """Normalise the ``proxies`` argument; ``None`` means "read the environment later"."""
    if proxies is None:
        return None
    if not isinstance(proxies, Mapping):
        raise ConfigurationError(
            f"proxies must be a mapping like {{'https': 'http://proxy:3128'}}, "
            f"got {type(proxies).__name__}"
        )
    return ProxySettings.from_mapping(proxies)


def check_total_timeout(value: object, connect_timeout: float, read_timeout: float) -> float:
    """``total_timeout``: a positive number, or None for ``connect_timeout + read_timeout``."""
    if value is None:
        return connect_timeout + read_timeout
    return check_timeout("total_timeout", value)


def attempt_bound(total_timeout: float, request: HttpRequest) -> float:
    """The time this attempt may take: the smaller of the transport's ``total_timeout`` and
    the request's own ``timeout`` (what is left of the call's deadline)."""
    timeout = request.timeout
    if timeout is not None and timeout < total_timeout:
        return timeout
    return total_timeout


def _bound_reason(total_timeout: float, request: HttpRequest) -> str:
    """Where the bound came from, for an error message (formatted only on failure)."""
    timeout = request.timeout
    if timeout is not None and timeout < total_timeout:
        return f"the call's deadline left {max(timeout, 0.0):.3g} s for this attempt"
    return f"total_timeout is {total_timeout:g} s"


def deadline_passed_error(
    host: str, total_timeout: float, request: HttpRequest
) -> ConnectTimeoutError:
    """Nothing was sent: the attempt had no time left when it started."""
    why = _bound_reason(total_timeout, request)
    return ConnectTimeoutError(host, f"no time left to send the request ({why})")


def total_timeout_error(host: str, total_timeout: float, request: HttpRequest) -> ReadTimeoutError:
    """The attempt's bound passed before the response was complete."""
    bound = attempt_bound(total_timeout, request)
    why = _bound_reason(total_timeout, request)
    return ReadTimeoutError(host, f"no complete response within {bound:.3g} s ({why})")


# --------------------------------------------------------------------------------------------
# TLS context
# --------------------------------------------------------------------------------------------

_default_context: ssl.SSLContext | None = None
_default_context_lock = threading.Lock()


def default_ca_bundle() -> str | None:
    """The CA bundle used when ``verify=True``: certifi's, else botocore's, else None (system)."""
    try:
        import certifi
    except ImportError:
        pass
    else:
        return str(certifi.where())
    import importlib.util

    spec = importlib.util.find_spec("botocore")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = os.path.join(location, "cacert.pem")
            if os.path.isfile(candidate):
                return candidate
    return None


def _build_ssl_context(verify: bool | str, client_cert: tuple[str, str | None] | None) -> Any:
    import ssl

    from kms_mrk.transport._pool import tls_context

    context = tls_context(verify=verify is not False)
    if verify is not False:
        bundle = default_ca_bundle() if verify is True else verify
        try:
            if bundle is None:
                context.load_default_certs()
            elif os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigurationError(
                f"verify={bundle!r}: the CA bundle could not be loaded ({exc})"
            ) from None
    if client_cert is not None:
        certfile, keyfile = client_cert
        try:
            context.load_cert_chain(certfile, keyfile)
        except (ssl.SSLError, OSError) as exc:
            # The message names files only; key material never appears in it.
            raise ConfigurationError(
                f"client_cert={certfile!r}: the certificate or key could not be loaded ({exc})"
            ) from None
    return context


def _ssl_context(verify: bool | str, client_cert: tuple[str, str | None] | None) -> Any:
    """Build the TLS context; the default one (verify=True, no client cert) is shared."""
    global _default_context
    if verify is not True or client_cert is not None:
        return _build_ssl_context(verify, client_cert)
    with _default_context_lock:
        if _default_context is None:
            _default_context = _build_ssl_context(True, None)
        return _default_context


# --------------------------------------------------------------------------------------------
# The transport
# --------------------------------------------------------------------------------------------


class TransportOptions:
    """The options the default transports take (sync here, asyncio in ``_async_base``),
    checked once, and the repr they share (proxy credentials masked)."""

    __slots__ = (
        "_client_cert",
        "_connect_timeout",
        "_max_pool_connections",
        "_pool_block",
        "_proxy_arg",
        "_read_timeout",
        "_total_timeout",
        "_verify",
    )

    _closed: bool

    def __init__(
        self,
        *,
        max_pool_connections: int,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float | None,
        verify: bool | str,
        client_cert: str | tuple[str, str] | None,
        proxies: Mapping[str, str] | None,
        pool_block: bool,
    ) -> None:
        check_pool(max_pool_connections, pool_block)
        self._max_pool_connections = max_pool_connections
        self._connect_timeout = check_timeout("connect_timeout", connect_timeout)
        self._read_timeout = check_timeout("read_timeout", read_timeout)
        self._total_timeout = check_total_timeout(
            total_timeout, self._connect_timeout, self._read_timeout
        )
        self._verify = check_verify(verify)
        self._client_cert = check_client_cert(client_cert)
        self._proxy_arg = check_proxies(proxies)
        self._pool_block = pool_block

    def __repr__(self) -> str:
        if self._proxy_arg is None:
            proxies = "environment"
        else:
            shown = (("http", self._proxy_arg.http), ("https", self._proxy_arg.https))
            proxies = repr({k: mask_url(v) for k, v in shown if v})
        return (
            f"{type(self).__name__}(max_pool_connections={self._max_pool_connections}, "
            f"connect_timeout={self._connect_timeout:g}, read_timeout={self._read_timeout:g}, "
            f"total_timeout={self._total_timeout:g}, verify={self._verify!r}, "
            f"proxies={proxies}, closed={self._closed})"
        )


class Urllib3Transport(TransportOptions):
    """Send requests over keep-alive connection pools (the default transport).

    Direct connections are pooled by kms-mrk itself; routes through a proxy by urllib3.

    :param max_pool_connections: connections kept alive per host.
    :param connect_timeout: seconds to wait for a connection (TCP and TLS).
    :param read_timeout: seconds to wait for each read of the response.
    :param total_timeout: the most one exchange may take, from asking the pool for a
        connection to the last byte of the response (connecting, writing, waiting and reading
        together); ``None`` means ``connect_timeout + read_timeout``. A request's own
        :attr:`~kms_mrk.transport.HttpRequest.timeout` (the rest of the call's deadline) wins
        when it is smaller.
    :param verify: verify TLS certificates (``True``), don't (``False``), or trust the CA bundle
        file or directory at this path instead of the default bundle.
    :param client_cert: a PEM file with certificate and key, or a (certificate, key) pair, for
        mutual TLS.
    :param proxies: ``{"http": url, "https": url, "no_proxy": "host,.domain"}``; ``None`` reads
        ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment once, on first use; an
        empty mapping disables proxies.
    :param pool_block: when every pooled connection to a host is busy, wait up to
        ``connect_timeout`` for one instead of opening an extra, unpooled connection.

    Safe to share between threads and between clients. ``close()`` closes the pools; a closed
    transport refuses to send.
    """

    __slots__ = (
        "_closed",
        "_errors",
        "_lock",
        "_pool_settings",
        "_pool_timeout",
        "_pools",
        "_proxies",
        "_proxy_managers",
        "_routes",
        "_started",
    )

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
        self._pool_timeout = self._connect_timeout if pool_block else None
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._started = False
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._proxy_managers: dict[str, Any] = {}
        self._pool_settings: dict[str, Any] = {}
        self._proxies: ProxySettings | None = None
        self._errors: Any = None  # urllib3.exceptions, once a proxy route imported urllib3
        self._closed = False

    # -- hot path ---------------------------------------------------------------------------

    def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and return the whole response (the body is read into memory)."""
        route = self._routes.get(request.url)
        if route is None:
            route = self._route(request.url)
        return self._send_direct(route, request)

    def _send_direct(self, route: _Route, request: HttpRequest) -> HttpResponse:
        """One exchange on a pooled connection, without urllib3's per-request machinery.

        urllib3 still owns the pool (keep-alive, dropped-connection checks, blocking), opening
        connections, proxy tunnels (``CONNECT``) and TLS (verification, SNI, hostname checks).
        The request is written in one ``sendall`` and the response read by ``_http11``,
        skipping urllib3's retry, redirect, response-wrapping and decoding layers and
        ``http.client``: about half the CPU of ``urlopen`` per call, and every read bounded
        by the attempt's deadline. Connecting is a step of its own, so an error says exactly
        whether the request could have reached the server.
        """
        bound = attempt_bound(self._total_timeout, request)
        if bound <= 0:
            raise deadline_passed_error(route.host, self._total_timeout, request)
        deadline = time.monotonic() + bound
        pool = route.pool
        pool_timeout = self._pool_timeout
        if pool_timeout is not None and bound < pool_timeout:
            pool_timeout = bound
        try:
            conn = pool._get_conn(timeout=pool_timeout)
        except Exception as exc:
            raise self._translate(exc, route.host) from exc
        phase = "connect"
        reusable = False
        fresh = conn.sock is None
        try:
            if fresh:  # a new connection: TCP, then TLS, within connect_timeout
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if left < self._connect_timeout:
                    conn.timeout = left  # this connection is not reused if it fails
                if route.tunnel:  # CONNECT through the proxy, then TLS
                    from kms_mrk.transport._bounded_http import deadline_scope

                    with deadline_scope(deadline):  # the proxy's answer is read by http.client
                        pool._prepare_proxy(conn)
                else:
                    conn.connect()
                conn.timeout = self._connect_timeout
                if route.insecure:
                    self._warn_insecure(route.host)
            phase = "send"
            body = request.body
            headers = request.headers
            if route.extra_headers is not None:
                headers = {**headers, **route.extra_headers}
            head = _format_head(request.method, route.target, route.host_header, headers, len(body))
            sock = conn.sock
            if fresh:  # pooled sockets keep the read timeout
                sock.settimeout(self._read_timeout)
            try:
                if len(body) < 65536:
                    sock.sendall(head + body)
                else:
                    left = deadline - time.monotonic()
                    if left < self._read_timeout:
                        sock.settimeout(max(left, 0.001))
                    sock.sendall(head)
                    sock.sendall(body)
                    sock.settimeout(self._read_timeout)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may have answered before closing: read it (as urllib3 does)
            phase = "read"
            response = _read_response(sock, request.method, deadline=deadline)
            reusable = not response.will_close
            return HttpResponse(response.status, response.headers, response.body)
        except Exception as exc:
            if isinstance(exc, TimeoutError) and (
                isinstance(exc, _TotalTimeout) or time.monotonic() >= deadline - 0.005
            ):
                if phase == "connect":
                    raise ConnectTimeoutError(
                        route.host,
                        f"no connection within {bound:.3g} s{_dns_note(exc)} "
                        f"({_bound_reason(self._total_timeout, request)})",
                    ) from exc
                raise total_timeout_error(route.host, self._total_timeout, request) from exc
            mapped = self._translate_direct(exc, route.host, phase)
            if route.proxied and isinstance(mapped, ConnectError) and "proxy" not in mapped.detail:
                mapped = type(mapped)(route.host, f"through the proxy: {mapped.detail}")
            raise mapped from exc
        finally:
            if reusable:
                pool._put_conn(conn)
            else:
                conn.close()
                pool._put_conn(None)  # give the pool slot back

    # -- setup (once per transport / per URL) -----------------------------------------------

    def _route(self, url: str) -> _Route:
        with self._lock:
            if self._closed:
                raise _closed_error(url)
            route = self._routes.get(url)
            if route is not None:
                return route
            if not self._started:
                self._start()
            route = self._new_route(url)
            if len(self._routes) < _ROUTE_CACHE_LIMIT:
                self._routes[url] = route
            return route

    def _start(self) -> None:
        """Bind the lean HTTP/1.1 functions and read the proxy settings (first request only)."""
        global _format_head, _read_response, _ResponseTooLarge, _TotalTimeout
        from kms_mrk.transport import _http11

        _format_head = _http11.format_head
        _read_response = _http11.read_response
        _ResponseTooLarge = _http11.ResponseTooLarge
        _TotalTimeout = _http11.TotalTimeout
        self._proxies = (
            self._proxy_arg
            if self._proxy_arg is not None
            else ProxySettings.from_environ(os.environ)
        )
        self._started = True

    def _direct_pool(self, scheme: str, host: str, port: int) -> Pool:
        """The pool of direct connections to ``scheme://host:port`` (made once)."""
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            context = _ssl_context(self._verify, self._client_cert) if scheme == "https" else None
            pool = Pool(
                host,
                port,
                maxsize=self._max_pool_connections,
                block=self._pool_block,
                connect_timeout=self._connect_timeout,
                ssl_context=context,
            )
            self._pools[key] = pool
        return pool

    def _new_route(self, url: str) -> _Route:
        from kms_mrk._url import split_url

        try:
            parts = split_url(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"Request URL {url!r} is not valid: {exc}") from None
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise ConfigurationError(
                f"Request URL {url!r} is not valid: it needs an http:// or https:// scheme "
                "and a host"
            )
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        if not target.isprintable() or " " in target or not target.isascii():
            raise ConfigurationError(
                f"Request URL {url!r} is not valid: the path and query must be "
                "percent-encoded ASCII without spaces or control characters"
            )
        assert self._proxies is not None
        proxy = self._proxies.proxy_for(scheme, host, port)
        extra_headers = None
        try:
            if proxy is None:
                if any(c in host for c in "\x00\r\n\t /?#@"):
                    raise ValueError(f"the host {host!r} has a forbidden character")
                pool = self._direct_pool(scheme, host, port or (443 if scheme == "https" else 80))
            else:
                pool = self._proxy_manager(proxy).connection_from_url(url)
                if scheme == "http":
                    target = url.split("#", 1)[0]  # a forward proxy wants the absolute URL
                    extra_headers = dict(pool.proxy_headers) or None
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError(f"Request URL {url!r} is not valid: {exc}") from None
        netloc = parts.netloc.rpartition("@")[2]
        host_header = netloc
        if port is not None and port == (443 if scheme == "https" else 80):
            host_header = netloc[: netloc.rfind(":")]  # as http.client and SigV4 write it
        return _Route(
            pool,
            target,
            netloc,
            proxied=proxy is not None,
            insecure=scheme == "https" and self._verify is False,
            host_header=host_header,
            tunnel=proxy is not None and scheme == "https",
            extra_headers=extra_headers,
        )

    def _proxy_manager(self, proxy_url: str) -> Any:
        manager = self._proxy_managers.get(proxy_url)
        if manager is None:
            from urllib.parse import unquote, urlsplit

            import urllib3
            import urllib3.exceptions

            self._errors = urllib3.exceptions
            if not self._pool_settings:
                self._pool_settings = {
                    "num_pools": 1024,  # routes keep their pool; never let it evict one
                    "maxsize": self._max_pool_connections,
                    "block": self._pool_block,
                    "timeout": urllib3.Timeout(
                        connect=self._connect_timeout, read=self._read_timeout
                    ),
                    "retries": False,
                    "ssl_context": _ssl_context(self._verify, self._client_cert),
                    "cert_reqs": "CERT_REQUIRED" if self._verify is not False else "CERT_NONE",
                }
            headers: dict[str, str] = {}
            parts = urlsplit(proxy_url)
            if parts.username is not None:
                auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                headers.update(urllib3.make_headers(proxy_basic_auth=auth))
            try:
                manager = urllib3.ProxyManager(
                    proxy_url, proxy_headers=headers, **self._pool_settings
                )
                # Its connections read the answer to CONNECT within the attempt's deadline.
                from kms_mrk.transport._bounded_http import POOL_CLASSES

                manager.pool_classes_by_scheme = POOL_CLASSES
            except Exception as exc:
                raise ConfigurationError(
                    f"Proxy URL {mask_url(proxy_url)!r} is not valid: {exc}"
                ) from None
            self._proxy_managers[proxy_url] = manager
        return manager

    # -- errors -------------------------------------------------------------------------------

    def _translate(self, exc: Exception, host: str) -> Exception:
        """Map an exception from urllib3 (or below it) to a kms-mrk exception."""
        if isinstance(exc, KmsMrkError):
            return exc
        if isinstance(exc, PoolClosedError):
            return _closed_error(host) if self._closed else ConnectionClosedError(host, str(exc))
        if isinstance(exc, PoolTimeoutError):
            return self._pool_timeout_error(host)
        e = self._errors
        if e is None:  # urllib3 was never imported: not one of its errors
            return translate_urllib3_error(
                exc, host, connect_timeout=self._connect_timeout, read_timeout=self._read_timeout
            )
        if isinstance(exc, e.ClosedPoolError):
            return _closed_error(host) if self._closed else ConnectionClosedError(host, str(exc))
        if isinstance(exc, e.EmptyPoolError):
            return self._pool_timeout_error(host)
        return translate_urllib3_error(
            exc, host, connect_timeout=self._connect_timeout, read_timeout=self._read_timeout
        )

    def _pool_timeout_error(self, host: str) -> ConnectTimeoutError:
        return ConnectTimeoutError(
            host,
            f"no pooled connection became free within {self._connect_timeout:g} s "
            f"(max_pool_connections={self._max_pool_connections}, pool_block=True)",
        )

    def _translate_direct(self, exc: Exception, host: str, phase: str) -> Exception:
        """Map a failure of the fast path; ``phase`` says how far the exchange got."""
        import ssl

        from kms_mrk.transport._http11 import HttpProtocolError

        if isinstance(exc, (KmsMrkError, PoolClosedError, PoolTimeoutError)) or (
            self._errors is not None and isinstance(exc, self._errors.HTTPError)
        ):
            return self._translate(exc, host)  # urllib3's own, raised while connecting
        if phase == "connect":  # nothing was sent
            if isinstance(exc, TimeoutError):
                return ConnectTimeoutError(
                    host, f"no connection within {self._connect_timeout:g} s{_dns_note(exc)}"
                )
            if _find_ssl_error(exc) is not None:
                return ConnectError(host, _describe_tls(exc))
            return ConnectError(host, _describe_connect(exc))
        if phase == "send" and isinstance(exc, ValueError):
            return translate_urllib3_error(  # a header or URL http.client refuses to write
                exc, host, connect_timeout=self._connect_timeout, read_timeout=self._read_timeout
            )
        if isinstance(exc, TimeoutError):
            return ReadTimeoutError(host, f"no response within {self._read_timeout:g} s")
        if isinstance(exc, _ResponseTooLarge):
            return TransportError(host, str(exc), phase="read")
        if isinstance(exc, ssl.SSLError):
            return ConnectionClosedError(host, f"TLS error: {getattr(exc, 'reason', None) or exc}")
        if isinstance(exc, (OSError, HttpProtocolError)) or _is_http_client_error(exc):
            return ConnectionClosedError(host, _describe_protocol(exc))
        return TransportError(host, _describe(exc), phase="read")

    def _warn_insecure(self, host: str) -> None:
        import warnings

        from urllib3.exceptions import InsecureRequestWarning  # the class users filter on

        warnings.warn(
            InsecureRequestWarning(
                f"Unverified HTTPS connection to {host}: the transport was created with "
                "verify=False, so the server's certificate is not checked"
            ),
            stacklevel=4,
        )

    def close(self) -> None:
        """Close every pooled connection. The transport cannot send afterwards."""
        with self._lock:
            self._closed = True
            self._routes.clear()
            pools = list(self._pools.values())
            managers = list(self._proxy_managers.values())
            self._proxy_managers.clear()
        for pool in pools:
            pool.close()
        for manager in managers:
            manager.clear()

    def __enter__(self) -> Urllib3Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _dns_note(exc: BaseException) -> str:
    """What a connect timeout's message adds when the DNS lookup was what ran out of time."""
    return " (the DNS lookup did not finish)" if isinstance(exc, ResolveTimeoutError) else ""


def _closed_error(where: str) -> ClosedError:
    return ClosedError(
        f"Cannot send a request to {where}: this transport has been closed "
        "(create a new transport or client)"
    )


def read_bounded(read1: Any, deadline: float) -> bytes:
    """Read a body with ``read1`` (one receive at most per call) until it ends.

    Gives up with ``TotalTimeout`` once ``deadline`` (a ``time.monotonic()`` value) has
    passed, and with ``ResponseTooLarge`` past ``MAX_BODY_BYTES``.
    """
    from kms_mrk.transport._http11 import MAX_BODY_BYTES, ResponseTooLarge, TotalTimeout

    out = bytearray()
    while True:
        if time.monotonic() >= deadline:
            raise TotalTimeout("the attempt's total time bound passed")
        piece = read1(65536)
        if not piece:
            return bytes(out)
        out += piece
        if len(out) > MAX_BODY_BYTES:
            raise ResponseTooLarge(MAX_BODY_BYTES, len(out), announced=False)


# --------------------------------------------------------------------------------------------
# Error translation (also used by the requests transport)
# --------------------------------------------------------------------------------------------


def translate_urllib3_error(
    exc: BaseException, host: str, *, connect_timeout: float, read_timeout: float
) -> Exception:
    """Map a urllib3 / socket / ssl exception raised while exchanging with ``host``."""
    from urllib3 import exceptions as e

    if isinstance(exc, e.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, e.ProxyError):
        return _translate_proxy_error(exc, host, connect_timeout)
    if isinstance(exc, e.SSLError) or _find_ssl_error(exc) is not None:
        return ConnectError(host, _describe_tls(exc))
    if isinstance(exc, e.NewConnectionError):  # before ConnectTimeoutError: it subclasses it
        return ConnectError(host, _describe_connect(exc))
    if isinstance(exc, e.ConnectTimeoutError):
        return ConnectTimeoutError(host, f"no connection within {connect_timeout:g} s")
    if isinstance(exc, e.ReadTimeoutError):
        return ReadTimeoutError(host, f"no response within {read_timeout:g} s")
    if isinstance(exc, e.ProtocolError):
        return ConnectionClosedError(host, _describe_protocol(exc))
    if isinstance(exc, e.LocationValueError):
        return ConfigurationError(f"Request URL for {host} is not valid: {exc}")
    if isinstance(exc, e.DecodeError):
        return TransportError(host, f"the response body could not be decoded: {exc}", phase="read")
    if isinstance(exc, TimeoutError):  # a bare socket timeout
        return ReadTimeoutError(host, f"no response within {read_timeout:g} s")
    if isinstance(exc, OSError) and _is_connect_errno(exc):
        return ConnectError(host, _describe_os_error(exc))
    if isinstance(exc, OSError):
        return ConnectionClosedError(host, _describe_os_error(exc))
    if isinstance(exc, ValueError):
        # http.client rejects control characters in the URL or headers; values are not echoed
        # because a header may hold a signature.
        reason = str(exc) if str(exc).startswith("Invalid header name") else type(exc).__name__
        return ConfigurationError(f"The request to {host} cannot be written: {reason}")
    return TransportError(host, _describe(exc))


def _translate_proxy_error(exc: Any, host: str, connect_timeout: float) -> Exception:
    from urllib3 import exceptions as e

    original = getattr(exc, "original_error", None)
    if original is None and len(exc.args) > 1 and isinstance(exc.args[1], BaseException):
        original = exc.args[1]
    where = "through the proxy"
    if isinstance(original, e.ConnectTimeoutError) and not isinstance(
        original, e.NewConnectionError
    ):
        return ConnectTimeoutError(host, f"no connection to the proxy within {connect_timeout:g} s")
    if original is not None and (
        isinstance(original, e.SSLError) or _find_ssl_error(original) is not None
    ):
        return ConnectError(host, f"{where}: {_describe_tls(original)}")
    reason = _describe_connect(original) if original is not None else _describe(exc)
    return ConnectError(host, f"{where}: {reason}")


def _iter_chain(exc: BaseException) -> list[BaseException]:
    """The exception, its args that are exceptions, causes and contexts (breadth first)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 16:
        item = todo.pop(0)
        if any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        for linked in (
            getattr(item, "original_error", None),
            item.__cause__,
            item.__context__,
        ):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return seen


def _is_http_client_error(exc: BaseException) -> bool:
    """An ``http.client`` exception (only possible when something imported it)."""
    module = sys.modules.get("http.client")
    return module is not None and isinstance(exc, module.HTTPException)


def _tls_error_types() -> tuple[type[BaseException], ...]:
    import ssl

    if "urllib3" not in sys.modules:  # urllib3's own check never ran
        return (ssl.SSLError,)
    try:
        from urllib3.util.ssl_match_hostname import CertificateError
    except ImportError:  # pragma: no cover - urllib3 releases before 1.26.9
        return (ssl.SSLError,)
    return (ssl.SSLError, CertificateError)


def _find_ssl_error(exc: BaseException) -> BaseException | None:
    types = _tls_error_types()
    for item in _iter_chain(exc):
        if isinstance(item, types):
            return item
    return None


def _describe_tls(exc: BaseException) -> str:
    import ssl

    found = _find_ssl_error(exc)
    if isinstance(found, ssl.SSLCertVerificationError):
        reason = getattr(found, "verify_message", None) or getattr(found, "reason", None)
        return f"TLS certificate verification failed: {reason or found}"
    if isinstance(found, ValueError):  # urllib3's own hostname check
        return f"TLS certificate verification failed: {found}"
    if isinstance(found, ssl.SSLError):
        return f"TLS handshake failed: {getattr(found, 'reason', None) or found}"
    text = _describe(exc)
    if "certificate" in text.lower():
        return f"TLS certificate verification failed: {text}"
    return f"TLS handshake failed: {text}"


_CONNECT_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.EADDRNOTAVAIL,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
    }
)


def _is_connect_errno(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _CONNECT_ERRNOS


def _describe_connect(exc: BaseException) -> str:
    import socket

    for item in _iter_chain(exc):
        if isinstance(item, socket.gaierror):
            return f"DNS lookup failed ({item.strerror or item})"
        if isinstance(item, OSError) and item.errno is not None:
            return _describe_os_error(item)
    return _describe(exc)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        names = {
            errno.ECONNREFUSED: "connection refused",
            errno.ECONNRESET: "connection reset by peer",
            errno.ENETUNREACH: "network unreachable",
            errno.EHOSTUNREACH: "host unreachable",
            errno.EPIPE: "broken pipe",
        }
        return names.get(exc.errno, exc.strerror or str(exc))
    return _describe(exc)


def _describe_protocol(exc: BaseException) -> str:
    from kms_mrk.transport import _http11

    http_client = sys.modules.get("http.client")
    incomplete: tuple[type[BaseException], ...] = (_http11.IncompleteRead,)
    disconnected: tuple[type[BaseException], ...] = (_http11.RemoteDisconnected,)
    protocol: tuple[type[BaseException], ...] = (_http11.HttpProtocolError,)
    if http_client is not None:
        incomplete += (http_client.IncompleteRead,)
        disconnected += (http_client.RemoteDisconnected,)
        protocol += (http_client.HTTPException,)
    for item in _iter_chain(exc):
        if isinstance(item, incomplete):
            # urllib3's IncompleteRead stores byte counts, http.client's the bytes read.
            partial: Any = getattr(item, "partial", b"")
            got = partial if isinstance(partial, int) else len(partial)
            more = getattr(item, "expected", None)
            expected = f", {more} more expected" if more else ""
            return f"the response ended early ({got} bytes read{expected})"
        if isinstance(item, disconnected):
            return "the server closed the connection without sending a response"
        if isinstance(item, OSError) and item.errno is not None:
            return _describe_os_error(item)
        if isinstance(item, protocol):
            return f"invalid HTTP response ({type(item).__name__}: {item})"
    return _describe(exc)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
