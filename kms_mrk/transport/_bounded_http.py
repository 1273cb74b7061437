"""urllib3 connections whose ``http.client`` reads end at a deadline.

``http.client`` reads a response's status line and headers with one socket timeout per read,
skips ``100 Continue`` responses in a loop without end, and reads a proxy's answer to
``CONNECT`` header line by header line without a count: a server (or proxy) that sends a
byte, or an interim response, just before each read timeout holds the exchange forever,
whatever bound the caller set. Connections of the pools here read through
:class:`_DeadlineReader` while a :func:`deadline_scope` is active in the thread that starts
the read: each read waits at most what is left and fails with ``TimeoutError`` once the
deadline has passed, in the header phase and in the body alike.

Used by ``RequestsTransport`` (through the adapter in ``_requests_bound``) and by
``Urllib3Transport`` for routes through a proxy (the ``CONNECT`` tunnel). Outside a scope the
connections behave exactly as urllib3's own. Imported only where urllib3 is needed anyway.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.connection
import urllib3.connectionpool
import urllib3.poolmanager

__all__ = ["POOL_CLASSES", "deadline_scope"]

_local = threading.local()


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Responses whose reading starts in this thread, in this block, end by ``deadline``
    (a ``time.monotonic()`` value)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


class _DeadlineReader(io.RawIOBase):
    """Reads a socket, each ``recv`` waiting at most what is left before ``deadline``."""

    def __init__(self, sock: Any, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's total time bound passed")
        sock = self._sock
        timeout = sock.gettimeout()
        if timeout is not None and timeout <= left:
            return int(sock.recv_into(buffer))
        sock.settimeout(left)
        try:
            return int(sock.recv_into(buffer))
        finally:
            sock.settimeout(timeout)


class _BoundedResponse(http.client.HTTPResponse):
    """``http.client``'s response, reading through a deadline while one is in scope."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = getattr(_local, "deadline", None)
        if deadline is not None:
            self.fp.close()  # the socket's own file: give back its reference
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _BoundedResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _BoundedResponse


class _HTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOL_CLASSES: dict[str, Any] = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}
