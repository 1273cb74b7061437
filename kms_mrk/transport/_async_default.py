"""The default async transport (placeholder; the transport work ships the real one).

``AsyncKMSClient`` calls :func:`make_default_async_transport` on first use with the same
keyword options the sync client gives ``Urllib3Transport`` (``max_pool_connections``,
``connect_timeout``, ``read_timeout``, ``verify``, ...).
"""

from __future__ import annotations

from typing import Any

from kms_mrk.errors._base import ConfigurationError
from kms_mrk.transport._types import AsyncTransport

__all__ = ["make_default_async_transport"]


def make_default_async_transport(**options: Any) -> AsyncTransport:
    """The default async transport, made with ``options`` (placeholder: always refuses)."""
    raise ConfigurationError("no default async transport: pass transport=...")
