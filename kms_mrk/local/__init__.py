"""The embedded local KMS: multi-Region keys modeled faithfully, in process and over HTTP.

In process, a :class:`LocalKMS` is a transport for ``KMSClient``::

    from kms_mrk.local import LocalKMS, ManualClock

    kms = LocalKMS(clock=ManualClock(), updating_seconds=5)
    client = KMSClient(region="us-east-1", credentials=..., transport=kms)

Over HTTP, :func:`serve` runs one endpoint for every Region (boto3, the AWS CLI and the
JavaScript SDK work against it with an endpoint URL)::

    with serve(port=0) as server:
        boto3.client("kms", endpoint_url=server.url, region_name="eu-west-1", ...)

Names load on first use, so ``import kms_mrk.local`` costs almost nothing; the
``cryptography`` package is imported when a key is first used. See docs/local-kms.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kms_mrk.local._cli import add_serve_arguments as add_serve_arguments
    from kms_mrk.local._cli import run_serve as run_serve
    from kms_mrk.local._clock import ManualClock as ManualClock
    from kms_mrk.local._faults import FaultInjector as FaultInjector
    from kms_mrk.local._faults import FaultRule as FaultRule
    from kms_mrk.local._kms import LocalKMS as LocalKMS
    from kms_mrk.local._server import LocalKMSServer as LocalKMSServer
    from kms_mrk.local._server import serve as serve

_LAZY: dict[str, str] = {
    "FaultInjector": "kms_mrk.local._faults",
    "FaultRule": "kms_mrk.local._faults",
    "LocalKMS": "kms_mrk.local._kms",
    "LocalKMSServer": "kms_mrk.local._server",
    "ManualClock": "kms_mrk.local._clock",
    "add_serve_arguments": "kms_mrk.local._cli",
    "run_serve": "kms_mrk.local._cli",
    "serve": "kms_mrk.local._server",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kms_mrk.local' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
