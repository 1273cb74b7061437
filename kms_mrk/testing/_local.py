"""KmsLocal: a fresh embedded local KMS on a manual clock, with clients for any Region.

Where stubs say what KMS answers, the local KMS *is* a KMS: keys, replicas, key states and
UpdatePrimaryRegion behave as the service does, so a test checks the application's logic
against real behaviour. Everything runs in process; time only moves when the test moves it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kms_mrk.testing._common import TEST_CREDENTIALS, TEST_REGION, isolated_environ

if TYPE_CHECKING:
    from types import TracebackType

    from kms_mrk import AsyncKMSClient, KMSClient
    from kms_mrk._overrides import ClientArgs
    from kms_mrk.local import FaultInjector, LocalKMS, ManualClock
    from kms_mrk.retries import RetryConfig, RetryStrategy

__all__ = ["KmsLocal"]


class KmsLocal:
    """An in-process :class:`~kms_mrk.local.LocalKMS` and the clients that talk to it.

    ::

        local = KmsLocal()
        east = local.client("us-east-1")
        key = east.create_key(multi_region=True).key_metadata
        local.clock.advance(5)              # or local.advance(5)

    Delays default to zero (a new replica is ``Enabled`` at once, UpdatePrimaryRegion leaves
    no ``Updating`` window); give ``replica_creating_seconds``/``updating_seconds`` and move
    the :class:`~kms_mrk.local.ManualClock` to test waiting logic. ``seed`` makes key ids
    reproducible. Clients sign with the fixed test credentials, ignore the developer's AWS
    configuration, and their retries sleep for no time (the delays are kept in
    :attr:`slept`). Other keyword arguments go to ``LocalKMS``.
    """

    def __init__(
        self,
        *,
        region: str = TEST_REGION,
        account_id: str = "111122223333",
        replica_creating_seconds: float = 0.0,
        updating_seconds: float = 0.0,
        seed: int | None = None,
        clock: ManualClock | None = None,
        faults: FaultInjector | None = None,
        retry: str | int | RetryConfig | RetryStrategy | None = None,
        **options: Any,
    ) -> None:
        from kms_mrk.endpoints import validate_region
        from kms_mrk.local import LocalKMS, ManualClock

        self.region = validate_region(region)
        self.clock: ManualClock = clock if clock is not None else ManualClock()
        self.kms: LocalKMS = LocalKMS(
            account_id=account_id,
            default_region=region,
            clock=self.clock,
            replica_creating_seconds=replica_creating_seconds,
            updating_seconds=updating_seconds,
            seed=seed,
            faults=faults,
            **options,
        )
        self._retry = retry
        self._clients: dict[str, KMSClient] = {}
        self._slept: list[float] = []

    def __repr__(self) -> str:
        return f"KmsLocal(region={self.region!r}, now={self.clock.now()!r})"

    @property
    def account_id(self) -> str:
        """The account the test clients act in."""
        return self.kms.account_id

    @property
    def slept(self) -> list[float]:
        """The delays the clients slept between retries, in seconds."""
        return list(self._slept)

    def client(self, region: str | None = None) -> KMSClient:
        """The client for ``region`` (the default Region when omitted); one per Region."""
        region = region or self.region
        client = self._clients.get(region)
        if client is None:
            if self._clients:
                client = next(iter(self._clients.values())).for_region(region)
            else:
                client = self.new_client(region)
            self._clients[region] = client
        return client

    def new_client(self, region: str | None = None, **options: Any) -> KMSClient:
        """A new client for the local KMS; ``options`` are ``KMSClient`` keyword arguments."""
        from kms_mrk import KMSClient

        options.setdefault("credentials", TEST_CREDENTIALS)
        options.setdefault("retry", self._retry)
        options.setdefault("sleep", self._slept.append)
        options.setdefault("environ", isolated_environ())
        return KMSClient(region or self.region, transport=self.kms, **options)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds``; returns the new time."""
        return self.clock.advance(seconds)

    def create_multi_region_key(
        self, primary: str | None = None, replicas: tuple[str, ...] | list[str] = (), **options: Any
    ) -> str:
        """Create a multi-Region key in ``primary`` with replicas; return its key id.

        ``options`` go to CreateKey (``description=...``, ``key_usage=...``). With non-zero
        ``replica_creating_seconds`` the replicas stay ``Creating`` until the clock moves.
        """
        client = self.client(primary)
        created = client.create_key(multi_region=True, **options).key_metadata
        assert created is not None
        for region in replicas:
            client.replicate_key(key_id=created.key_id, replica_region=region)
        return created.key_id

    def close(self) -> None:
        """Close the clients and the local KMS."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self.kms.close()

    def __enter__(self) -> KmsLocal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def patch_clients(self) -> Iterator[KmsLocal]:
        """Wire every ``KMSClient`` and ``AsyncKMSClient`` created inside the block to this
        local KMS (as :meth:`KmsMock.patch_clients <kms_mrk.testing.KmsMock.patch_clients>`).

        Clients made with an explicit ``transport`` keep it. The others sign with the test
        credentials unless given some, get this KMS's default Region when neither the code
        nor ``AWS_REGION`` names one, and record their retry pauses in :attr:`slept`. It is a
        context variable, not a patched class: it holds in this test or task and the asyncio
        tasks it creates, nests, and is undone on exit. A client made inside stays bound to
        this local KMS after the block.
        """
        from kms_mrk._overrides import use_override

        with use_override(_LocalOverride(self)):
            yield self

    def async_client(self, region: str | None = None, **options: Any) -> AsyncKMSClient:
        """A new ``AsyncKMSClient`` for the local KMS (in process, no thread, no socket)."""
        from kms_mrk import AsyncKMSClient

        options.setdefault("credentials", TEST_CREDENTIALS)
        options.setdefault("retry", self._retry)
        options.setdefault("sleep", self._slept.append)
        options.setdefault("environ", isolated_environ())
        return AsyncKMSClient(region or self.region, transport=self.kms, **options)


class _LocalOverride:
    """The client override of :meth:`KmsLocal.patch_clients` (see :mod:`kms_mrk._overrides`)."""

    __slots__ = ("local",)

    def __init__(self, local: KmsLocal) -> None:
        self.local = local

    def __repr__(self) -> str:
        return f"patch_clients({self.local!r})"

    def apply(self, args: ClientArgs) -> None:
        local = self.local
        environ = isolated_environ(args.environ)
        if args.region is None and not ("AWS_REGION" in environ or "AWS_DEFAULT_REGION" in environ):
            args.region = local.region
        args.transport = local.kms.as_async() if args.is_async else local.kms
        if args.credentials is None:
            args.credentials = TEST_CREDENTIALS
        if args.sleep is None:
            args.sleep = local._slept.append
        args.environ = environ
