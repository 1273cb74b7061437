"""HTTP transports: the interface and the two implementations shipped with kms-mrk.

``Urllib3Transport`` (the default) and ``RequestsTransport`` are loaded on first access, so
importing this package never imports urllib3, requests or ssl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kms_mrk.transport._types import AsyncTransport, HttpRequest, HttpResponse, Transport

if TYPE_CHECKING:
    from kms_mrk.transport._requests import RequestsTransport
    from kms_mrk.transport._urllib3 import Urllib3Transport

__all__ = [
    "AsyncTransport",
    "HttpRequest",
    "HttpResponse",
    "RequestsTransport",
    "Transport",
    "Urllib3Transport",
]

_LAZY = {
    "Urllib3Transport": "kms_mrk.transport._urllib3",
    "RequestsTransport": "kms_mrk.transport._requests",
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
