"""The adapter that keeps :class:`~kms_mrk.transport.RequestsTransport`'s total bound.

requests offers no hook while ``http.client`` reads the status line and headers, so the
transport mounts this adapter: its pools are those of ``_bounded_http``, whose reads end at
the attempt's deadline. It subclasses requests' ``HTTPAdapter`` without overriding ``send``,
so ``responses`` still intercepts it. Imported by ``RequestsTransport`` (requests and urllib3
are loaded by then).
"""

from __future__ import annotations

from typing import Any

import requests.adapters
import urllib3.poolmanager

from kms_mrk.transport._bounded_http import POOL_CLASSES

__all__ = ["BoundedHTTPAdapter"]


class BoundedHTTPAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections whose reads honour the transport's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.poolmanager.ProxyManager:  # not a SOCKS manager
            manager.pool_classes_by_scheme = POOL_CLASSES
        return manager
