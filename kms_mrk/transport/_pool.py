"""Keep-alive connections for the default transport's direct routes (no proxy).

The default transport writes requests and reads responses itself (``_http11``); what it needs
from a pool is small: open a TCP connection (and TLS on it), keep idle ones per origin, notice
when the server closed an idle one, and bound the number handed out when ``pool_block`` is
set. This module does that with ``socket`` and ``ssl`` alone, so a process that makes a few
calls over plain HTTP imports neither ``ssl`` nor urllib3 (with its ``http.client``,
``email`` and ``importlib.metadata``), which together cost more CPU than the rest of a cold
start. Routes through a proxy still use urllib3, which opens the ``CONNECT`` tunnel.

The TLS settings are urllib3's defaults (see :func:`tls_context`): TLS 1.2 or newer, no
compression or session tickets, ALPN ``http/1.1``, certificate and host name verified unless
the transport was built with ``verify=False``, ``SSLKEYLOGFILE`` honoured.

After ``os.fork()`` the child starts with empty pools: connections kept by the parent are
closed in the child (the parent's stay open), so two processes never read one socket.

The pool mirrors urllib3's: the most recently used idle connection is taken first (LIFO);
an idle connection the server has closed (or that has unexpected bytes waiting) is dropped
and a new one opened; at most ``maxsize`` idle connections are kept; with ``block`` at most
``maxsize`` connections are out at once and a caller waits up to its timeout for one.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = ["Connection", "Pool", "PoolClosedError", "PoolTimeoutError", "tls_context"]


class PoolClosedError(Exception):
    """The pool was closed (its transport was closed)."""


class PoolTimeoutError(Exception):
    """``block`` is set and no connection became free within the timeout."""


class ResolveTimeoutError(TimeoutError):
    """The host name was not resolved within the time given for connecting."""


def _is_ip_literal(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def resolve(host: str, port: int, timeout: float) -> list[Any]:
    """``getaddrinfo`` for a TCP connection, within ``timeout`` seconds.

    A DNS lookup is not bound by any socket timeout: a resolver that does not answer holds
    ``getaddrinfo`` for as long as its own configuration says (often 10 s or more), past
    any deadline the caller set. A name is therefore resolved on a short-lived daemon
    thread and waited for at most ``timeout``; on :class:`ResolveTimeoutError` the thread
    finishes on its own, bounded by the resolver. IP addresses resolve without a thread.

    getaddrinfo runs a str name through the idna codec (importing it, with stringprep and
    unicodedata); an ASCII name is given as bytes, taken as it is.
    """
    name: Any = host.encode("ascii") if host.isascii() else host
    if _is_ip_literal(host):
        return socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM)
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="kms-mrk-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise ResolveTimeoutError(f"the DNS lookup of {host!r} took longer than {timeout:.3g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return list(result)


def open_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A connected TCP socket, trying each address in turn, all within ``timeout`` seconds
    (resolving included), as ``socket.create_connection`` does without the overall bound."""
    deadline = time.monotonic() + timeout
    error: BaseException | None = None
    for family, kind, proto, _name, address in resolve(host, port, timeout):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no connection within {timeout:.3g} s")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(address)
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, OSError):
                raise
            error = exc
            continue
        return sock
    if error is not None:
        raise error
    raise OSError("getaddrinfo returned no address")  # pragma: no cover - it raises instead


def tls_context(*, verify: bool) -> ssl.SSLContext:
    """A client TLS context with urllib3's defaults (CA certificates are loaded by the caller)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_TICKET
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if hasattr(context, "post_handshake_auth"):
        context.post_handshake_auth = True
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and hasattr(context, "keylog_filename"):
        context.keylog_filename = keylog
    context.set_alpn_protocols(["http/1.1"])
    return context


def _server_hostname(host: str) -> str:
    """The name sent for SNI and checked against the certificate: an IPv6 address loses its
    brackets and zone (``[fe80::1%eth0]`` -> ``fe80::1``), as urllib3 does."""
    name = host.strip("[]")
    if ":" in name and "%" in name:
        name = name[: name.rfind("%")]
    return name


class Connection:
    """One connection to an origin: ``sock`` is None until :meth:`connect` (or after close).

    ``timeout`` bounds connecting (TCP and the TLS handshake together); the caller sets the
    read timeout on ``sock`` afterwards.
    """

    __slots__ = ("_poller", "host", "port", "sock", "ssl_context", "timeout")

    def __init__(
        self, host: str, port: int, timeout: float, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.sock: Any = None
        self._poller: Any = None

    def connect(self) -> None:
        deadline = time.monotonic() + self.timeout
        host = self.host
        sock = open_socket(host, self.port, self.timeout)
        try:
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no time left for the TLS handshake")
                sock.settimeout(left)
                name = _server_hostname(host)
                # ssl runs a str name through the idna codec too (see resolve).
                sni: str | bytes = name.encode("ascii") if name.isascii() else name
                sock = self.ssl_context.wrap_socket(sock, server_hostname=sni)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        if hasattr(select, "poll"):  # registered once: the check before each reuse is cheap
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)

    def dropped(self) -> bool:
        """True when an idle connection cannot carry another request: the server closed it,
        or it holds bytes nobody asked for."""
        sock = self.sock
        if sock is None:
            return True
        try:
            if self.ssl_context is not None and sock.pending():
                return True
            if self._poller is not None:
                return bool(self._poller.poll(0))
            readable, _, _ = select.select([sock], [], [], 0)  # pragma: no cover - Windows
            return bool(readable)
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._poller = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _close_all(connections: list[Connection]) -> None:
    for conn in connections:
        conn.close()
    connections.clear()


_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """The child of a fork must not use the parent's connections, nor a lock another thread
    of the parent held at the fork: every pool starts over."""
    for pool in list(_POOLS):
        pool._lock = threading.Lock()
        pool._cond = threading.Condition(pool._lock)
        pool._out = 0
        pool._waiting = 0
        _close_all(pool._idle)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Pool:
    """Idle connections to one origin (``scheme://host:port``), shared between threads."""

    __slots__ = (
        "__weakref__",
        "_block",
        "_closed",
        "_cond",
        "_connect_timeout",
        "_idle",
        "_lock",
        "_maxsize",
        "_out",
        "_waiting",
        "host",
        "port",
        "ssl_context",
    )

    def __init__(
        self,
        host: str,
        port: int,
        *,
        maxsize: int,
        block: bool,
        connect_timeout: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._maxsize = maxsize
        self._block = block
        self._connect_timeout = connect_timeout
        self._idle: list[Connection] = []
        self._out = 0
        self._closed = False
        self._waiting = 0  # callers asleep on the condition (block mode only)
        self._lock = threading.Lock()  # the fast path takes the lock alone
        self._cond = threading.Condition(self._lock)
        # A pool dropped without close() (a client nobody closed) closes its idle connections
        # when it is collected, as urllib3's pools do, instead of leaking open sockets.
        weakref.finalize(self, _close_all, self._idle)
        _POOLS.add(self)

    def _get_conn(self, timeout: float | None = None) -> Connection:
        """A connection to send on: an idle one still open, else a new, unconnected one.

        With ``block``, waits up to ``timeout`` seconds (``None``: without limit) while
        ``maxsize`` connections are out, then raises :class:`PoolTimeoutError`.
        """
        conn = None
        with self._lock:
            if self._closed:
                raise PoolClosedError("the pool is closed")
            if self._block and self._out >= self._maxsize:
                self._wait_for_slot(timeout)
            self._out += 1
            if self._idle:
                conn = self._idle.pop()
        if conn is not None:
            if not conn.dropped():
                return conn
            conn.close()
        return Connection(self.host, self.port, self._connect_timeout, self.ssl_context)

    def _wait_for_slot(self, timeout: float | None) -> None:
        """Sleep (the lock held on entry and exit) until fewer than ``maxsize`` are out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._waiting += 1
        try:
            while self._out >= self._maxsize:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise PoolTimeoutError(f"no connection became free within {timeout:g} s")
                self._cond.wait(left)
                if self._closed:
                    raise PoolClosedError("the pool is closed")
        finally:
            self._waiting -= 1

    def _put_conn(self, conn: Connection | None) -> None:
        """Give a connection back (``None``: the caller closed it; its slot is free again)."""
        with self._lock:
            self._out = max(self._out - 1, 0)
            if (
                conn is not None
                and conn.sock is not None
                and not self._closed
                and len(self._idle) < self._maxsize
            ):
                self._idle.append(conn)
                conn = None
            if self._waiting:
                self._cond.notify()
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close the idle connections; connections still out are closed when given back."""
        with self._lock:
            self._closed = True
            idle = self._idle[:]
            self._idle.clear()
            self._cond.notify_all()
        _close_all(idle)

    @property
    def idle_count(self) -> int:
        """Idle connections kept (for tests and diagnostics)."""
        with self._lock:
            return len(self._idle)
