"""The default transport's own connection pool (direct routes) and its TLS defaults."""

from __future__ import annotations

import gc
import os
import select
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from kms_mrk.transport._pool import (
    Connection,
    Pool,
    PoolClosedError,
    PoolTimeoutError,
    ResolveTimeoutError,
    _server_hostname,
    open_socket,
    resolve,
    tls_context,
)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening loopback socket; tests accept from it themselves."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    yield server
    server.close()


def _pool(listener: socket.socket, *, maxsize: int = 2, block: bool = False) -> Pool:
    port = listener.getsockname()[1]
    return Pool(
        "127.0.0.1", port, maxsize=maxsize, block=block, connect_timeout=5, ssl_context=None
    )


def _connected(pool: Pool, listener: socket.socket) -> tuple[Connection, socket.socket]:
    conn = pool._get_conn()
    assert conn.sock is None  # a new connection is handed out unconnected
    conn.connect()
    peer, _ = listener.accept()
    return conn, peer


def test_the_most_recently_returned_connection_is_reused_first(listener: socket.socket) -> None:
    pool = _pool(listener)
    first, peer1 = _connected(pool, listener)
    second, peer2 = _connected(pool, listener)
    try:
        pool._put_conn(first)
        pool._put_conn(second)
        assert pool._get_conn() is second
        assert pool._get_conn() is first
    finally:
        pool.close()
        first.close()
        second.close()
        peer1.close()
        peer2.close()


def test_a_connection_the_server_closed_is_not_reused(listener: socket.socket) -> None:
    pool = _pool(listener)
    conn, peer = _connected(pool, listener)
    pool._put_conn(conn)
    peer.close()  # the server hangs up on the idle connection
    again = pool._get_conn()
    assert again is not conn and again.sock is None
    assert conn.sock is None  # the dropped one was closed
    pool.close()


def test_a_connection_with_unexpected_bytes_waiting_is_not_reused(
    listener: socket.socket,
) -> None:
    pool = _pool(listener)
    conn, peer = _connected(pool, listener)
    try:
        pool._put_conn(conn)
        peer.sendall(b"HTTP/1.1 200 OK\r\n")  # nobody asked: a stale or hostile answer
        assert conn.sock is not None
        select.select([conn.sock], [], [], 5)  # until the bytes have arrived
        assert pool._get_conn() is not conn
    finally:
        pool.close()
        peer.close()


def test_at_most_maxsize_idle_connections_are_kept(listener: socket.socket) -> None:
    pool = _pool(listener, maxsize=1)
    a, peer_a = _connected(pool, listener)
    b, peer_b = _connected(pool, listener)  # without block, more than maxsize may be out
    try:
        pool._put_conn(a)
        pool._put_conn(b)  # the pool is full: b is closed
        assert pool.idle_count == 1
        assert a.sock is not None and b.sock is None
    finally:
        pool.close()
        peer_a.close()
        peer_b.close()


def test_block_limits_connections_out_and_times_out(listener: socket.socket) -> None:
    pool = _pool(listener, maxsize=1, block=True)
    conn = pool._get_conn()
    with pytest.raises(PoolTimeoutError, match="within 0 s"):
        pool._get_conn(timeout=0)
    pool._put_conn(None)  # the caller closed its connection: the slot is free again
    assert pool._get_conn(timeout=0).sock is None
    conn.close()
    pool.close()


def test_a_waiting_caller_gets_the_returned_connection(listener: socket.socket) -> None:
    pool = _pool(listener, maxsize=1, block=True)
    conn, peer = _connected(pool, listener)
    got: list[Connection] = []
    waiter = threading.Thread(target=lambda: got.append(pool._get_conn(timeout=10)))
    waiter.start()
    pool._put_conn(conn)
    waiter.join(10)
    try:
        assert got == [conn]
    finally:
        pool.close()
        conn.close()
        peer.close()


def test_close_wakes_waiters_and_refuses_further_use(listener: socket.socket) -> None:
    pool = _pool(listener, maxsize=1, block=True)
    conn, peer = _connected(pool, listener)
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            pool._get_conn(timeout=10)
        except PoolClosedError as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    waiting = threading.Event()
    for _ in range(5000):  # until the waiter sleeps on the condition (not a timed wait)
        with pool._cond:
            if pool._cond._waiters:  # type: ignore[attr-defined]
                break
        waiting.wait(0.001)
    pool.close()
    waiter.join(10)
    assert not waiter.is_alive()
    assert len(errors) == 1  # woken by close, not by its 10 s timeout
    pool._put_conn(conn)  # a connection given back after close is closed, not kept
    assert conn.sock is None and pool.idle_count == 0
    with pytest.raises(PoolClosedError):
        pool._get_conn()
    peer.close()


def test_connect_refused_leaves_no_socket(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    listener.close()
    conn = Connection("127.0.0.1", port, 5, None)
    with pytest.raises(ConnectionRefusedError):
        conn.connect()
    assert conn.sock is None and conn.dropped()


def test_tls_defaults_match_urllib3s() -> None:
    context = tls_context(verify=True)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.options & ssl.OP_NO_COMPRESSION and context.options & ssl.OP_NO_TICKET
    insecure = tls_context(verify=False)
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname


def test_sslkeylogfile_is_honoured(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.path.join(os.fspath(tmp_path), "keys.log")
    monkeypatch.setenv("SSLKEYLOGFILE", path)
    assert tls_context(verify=True).keylog_filename == path
    monkeypatch.delenv("SSLKEYLOGFILE")
    assert tls_context(verify=True).keylog_filename is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("kms.us-east-1.amazonaws.com", "kms.us-east-1.amazonaws.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_the_tls_server_name(host: str, expected: str) -> None:
    assert _server_hostname(host) == expected


def test_a_pool_collected_without_close_closes_its_idle_connections(
    listener: socket.socket,
) -> None:
    pool = _pool(listener)
    conn, peer = _connected(pool, listener)
    pool._put_conn(conn)
    del pool
    gc.collect()
    try:
        assert conn.sock is None  # closed by the finalizer: no ResourceWarning, no leaked fd
    finally:
        peer.close()


FORK_SCRIPT = textwrap.dedent(
    """
    import os, socket
    from kms_mrk.transport._pool import Pool

    server = socket.create_server(("127.0.0.1", 0))
    pool = Pool("127.0.0.1", server.getsockname()[1], maxsize=2, block=True,
                connect_timeout=5, ssl_context=None)
    conn, held = pool._get_conn(), pool._get_conn()
    peers = []  # kept open: the server side of both connections
    for c in (conn, held):
        c.connect()
        peers.append(server.accept()[0])
    pool._put_conn(conn)  # one connection idle at the fork, one out
    pid = os.fork()
    if pid == 0:  # the child: nothing of the parent's pool is used
        ok = pool.idle_count == 0 and conn.sock is None and pool._out == 0
        fresh = pool._get_conn(timeout=0)
        os._exit(0 if ok and fresh.sock is None else 1)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    pool._put_conn(held)
    print("parent", pool.idle_count, conn.sock is not None and not conn.dropped())
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_after_fork_the_child_starts_with_empty_pools() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    # The child saw empty pools; the parent's connection was not closed by the child's exit.
    assert result.stdout.splitlines() == ["child 0", "parent 2 True"]


# --------------------------------------------------------------------------------------------
# Resolving within the connect bound
# --------------------------------------------------------------------------------------------


def test_a_dns_lookup_that_never_ends_is_cut_at_the_connect_bound(
    stuck_resolver: list[object],
) -> None:
    started = time.monotonic()
    with pytest.raises(ResolveTimeoutError, match=r"kms\.example\.test.*0\.2 s"):
        resolve("kms.example.test", 443, 0.2)
    assert time.monotonic() - started < 5
    assert stuck_resolver == [b"kms.example.test"]


def test_ip_addresses_resolve_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolve("127.0.0.1", 80, 5)[0][4] == ("127.0.0.1", 80)
    assert resolve("::1", 80, 5)[0][4][:2] == ("::1", 80)
    assert threads == [threading.current_thread().name] * 2
    resolve("localhost", 80, 5)
    assert threads[-1] == "kms-mrk-resolve"


def test_the_next_address_is_tried_when_one_refuses(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    good = listener.getsockname()

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> object:
        stream = socket.SOCK_STREAM
        return [
            (socket.AF_INET, stream, 6, "", ("127.0.0.1", refused_port)),
            (socket.AF_INET, stream, 6, "", good),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sock = open_socket("twoaddresses.test", 0, 5)
    try:
        assert sock.getpeername() == good
    finally:
        sock.close()
