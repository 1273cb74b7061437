"""The default asyncio transport of ``AsyncKMSClient``: :class:`AiohttpTransport`.

Chosen by measurement (``bench/bench_async_transport.py``; figures and reasons in
docs/performance.md): aiohttp spent less CPU per request than httpx at 1 and at 32
concurrent requests against the same loopback server. httpx is supported as
:class:`~kms_mrk.transport.HttpxTransport` (``pip install 'kms-mrk[httpx]'``).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from kms_mrk.errors._base import ConfigurationError
from kms_mrk.transport._types import AsyncTransport

__all__ = ["DEFAULT_ASYNC_LIBRARY", "make_default_async_transport"]

#: The distribution the default asyncio transport needs.
DEFAULT_ASYNC_LIBRARY = "aiohttp"


def make_default_async_transport(**options: Any) -> AsyncTransport:
    """Build the default asyncio transport with ``options`` (those of ``Urllib3Transport``
    plus ``total_timeout``).

    Raises ``ConfigurationError`` with the command to install it when aiohttp is missing,
    and for options the transport does not know.
    """
    if importlib.util.find_spec(DEFAULT_ASYNC_LIBRARY) is None:
        raise ConfigurationError(
            "AsyncKMSClient needs an asyncio HTTP library for its default transport: "
            "pip install 'kms-mrk[async]' (installs aiohttp), or pass "
            "transport=HttpxTransport() with httpx installed"
        )
    from kms_mrk.transport._aiohttp import AiohttpTransport

    try:
        return AiohttpTransport(**options)
    except TypeError as exc:
        raise ConfigurationError(f"Unknown transport option: {exc}") from None
