"""What ``KMSClient`` and ``AsyncKMSClient`` share beyond the call flow: the accessors and
``for_region``, written once. Imports nothing heavy (the clients load their family, and
with it the call flow, on construction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    from typing_extensions import Self

    from kms_mrk._config import ClientConfig
    from kms_mrk._family import Family
    from kms_mrk._pipeline import Pipeline

__all__ = ["ClientBase"]


class ClientBase:
    """The accessors and ``for_region`` of both clients (their families differ)."""

    __slots__ = ("_closed", "_family", "_pipeline", "_root", "region")

    _family: Family
    _pipeline: Pipeline
    region: str

    def _init(self, family: Any, region: str, *, root: bool = True) -> None:
        """Attach to ``family`` for ``region``; ``root``: this client made the family (and
        closes what it owns), rather than ``for_region``."""
        self._family = family
        self._closed = False
        self._root = root
        self._pipeline = family.pipeline(region)
        self.region = self._pipeline.region

    def for_region(self, region: str) -> Self:
        """A client for ``region`` sharing credentials, configuration and connection pools."""
        from kms_mrk.endpoints import validate_region

        validate_region(region)
        other = object.__new__(type(self))
        other._init(self._family, region, root=False)
        return other

    @property
    def exceptions(self) -> ModuleType:
        """Every exception class kms-mrk raises (``kms_mrk.errors``), for boto3's habit:
        ``except client.exceptions.NotFoundException``. The same classes import from
        ``kms_mrk``."""
        import kms_mrk.errors

        return kms_mrk.errors

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration (the Region is the first client's of the family)."""
        return self._family.config

    @property
    def endpoint(self) -> str:
        """The endpoint URL calls in this Region go to (resolved on first use)."""
        return self._pipeline.endpoint
