"""HTTP transports: the interfaces and the implementations shipped with kms-mrk.

Sync: ``Urllib3Transport`` (the default) and ``RequestsTransport``. Asyncio:
``AiohttpTransport`` (the default, ``kms-mrk[async]``) and ``HttpxTransport``
(``kms-mrk[httpx]``). All are loaded on first access, so importing this package never imports
urllib3, requests, aiohttp, httpx or ssl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kms_mrk.transport._types import AsyncTransport, HttpRequest, HttpResponse, Transport

if TYPE_CHECKING:
    from kms_mrk.transport._aiohttp import AiohttpTransport
    from kms_mrk.transport._httpx import HttpxTransport
    from kms_mrk.transport._requests import RequestsTransport
    from kms_mrk.transport._urllib3 import Urllib3Transport

__all__ = [
    "AiohttpTransport",
    "AsyncTransport",
    "HttpRequest",
    "HttpResponse",
    "HttpxTransport",
    "RequestsTransport",
    "Transport",
    "Urllib3Transport",
]

_LAZY = {
    "Urllib3Transport": "kms_mrk.transport._urllib3",
    "RequestsTransport": "kms_mrk.transport._requests",
    "AiohttpTransport": "kms_mrk.transport._aiohttp",
    "HttpxTransport": "kms_mrk.transport._httpx",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
