"""AsyncKMSClient: ``await client.send(command)``, one coroutine per operation, ``for_region``.

The same constructor, configuration resolution, call flow, typed responses and modeled
exceptions as :class:`~kms_mrk.KMSClient`: both build from :mod:`kms_mrk._family` and run
the one call flow of :mod:`kms_mrk._pipeline`; only the driver differs (it awaits the
transport, the credentials and the sleeps). Nothing blocks the event loop: credentials come
through :class:`~kms_mrk.auth._async_credentials.AsyncCredentialsProvider` (botocore's chain
runs in a worker thread, cached and refreshed ahead of expiry), and the transport is an
:class:`~kms_mrk.transport.AsyncTransport`.

``transport`` may be an ``AsyncTransport``, or a sync transport that offers ``as_async()``
(the local KMS, the testing toolkit's ``MockTransport``: they answer in memory, so their async
view calls them directly, with no thread). Without one, the default async transport is made
on first use with the same options the sync client gives urllib3.

Cancelling the task awaiting a call ends it at once: ``CancelledError`` propagates through
the flow untouched, the transport discards the connection it was using, and the client stays
usable.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from kms_mrk._async_operations import AsyncOperationsMixin
from kms_mrk._client_base import ClientBase
from kms_mrk._family import Family, Options, resolve_options
from kms_mrk._pipeline import send_async

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from kms_mrk.auth import Credentials, CredentialsProvider
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.paginators import AsyncPaginator
    from kms_mrk.retries import RetryConfig, RetryStrategy
    from kms_mrk.schema import Command, Response
    from kms_mrk.transport import AsyncTransport, Transport

__all__ = ["AsyncKMSClient"]

OutputT = TypeVar("OutputT", bound="Response")


def _async_transport(transport: object) -> AsyncTransport | None:
    """``transport`` as an AsyncTransport: itself, its ``as_async()`` view, or a TypeError."""
    if transport is None:
        return None
    send = getattr(transport, "send", None)
    if inspect.iscoroutinefunction(send) and callable(getattr(transport, "aclose", None)):
        return transport  # type: ignore[return-value]
    as_async = getattr(transport, "as_async", None)
    if callable(as_async):
        view = as_async()
        if inspect.iscoroutinefunction(getattr(view, "send", None)):
            return view  # type: ignore[no-any-return]
    raise TypeError(
        "AsyncKMSClient(transport=...) takes an AsyncTransport (async def send(request), "
        "async def aclose()) or a transport with as_async(), such as LocalKMS or "
        f"MockTransport; got {type(transport).__name__}"
    )


class AsyncFamily(Family):
    """The async client's family: an AsyncTransport and async credentials."""

    client_name = "AsyncKMSClient"

    def __init__(self, options: Options, transport: object) -> None:
        super().__init__(options)
        self._transport: AsyncTransport | None = _async_transport(transport)
        self.owns_transport = transport is None
        credentials: Any = options.credentials
        if inspect.iscoroutinefunction(getattr(credentials, "get_credentials", None)):
            self.async_credentials = credentials
        else:
            from kms_mrk.auth._async_credentials import AsyncCredentialsProvider

            self.async_credentials = AsyncCredentialsProvider(credentials)
        self.get_credentials: Callable[[], Any] = self.async_credentials.get_credentials

    def transport(self) -> Transport:
        raise TypeError("an AsyncKMSClient has no sync transport")

    def async_transport(self) -> AsyncTransport:
        transport = self._transport
        if transport is not None:
            return transport
        if self.closed:
            raise self.closed_error()
        from kms_mrk.transport._async_default import make_default_async_transport

        # The event loop runs one task at a time: no lock is needed to make it once.
        transport = self._transport = make_default_async_transport(**self.transport_options)
        return transport

    async def aclose(self) -> None:
        self.closed = True
        transport = self._transport
        if self.owns_transport:
            self._transport = None
            if transport is not None:
                await transport.aclose()
        closer = getattr(self.async_credentials, "aclose", None)
        if closer is not None:
            await closer()


class AsyncKMSClient(ClientBase, AsyncOperationsMixin):
    """An asyncio client for AWS KMS in one Region.

    Takes the arguments of :class:`~kms_mrk.KMSClient`, with two differences: ``transport``
    is an :class:`~kms_mrk.transport.AsyncTransport` (or a transport with ``as_async()``),
    and ``sleep`` may return an awaitable (default :func:`asyncio.sleep`; a plain function is
    called without waiting, which tests use to record delays). ``credentials`` may also be a
    provider whose ``get_credentials`` is a coroutine function.

    One client serves many tasks of one event loop at once. Use ``async with`` or
    ``await client.aclose()`` to close the transport it made.
    """

    __slots__ = ()
    _family: AsyncFamily

    def __init__(
        self,
        region: str | None = None,
        *,
        credentials: Credentials | CredentialsProvider | Any | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        transport: AsyncTransport | Any | None = None,
        retry: str | int | RetryConfig | RetryStrategy | None = None,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
        total_timeout: float | None = None,
        max_pool_connections: int = 10,
        interceptors: Sequence[Interceptor] = (),
        user_agent_extra: str | None = None,
        use_fips_endpoint: bool | None = None,
        use_dualstack_endpoint: bool | None = None,
        ca_bundle: str | None = None,
        verify: bool | None = None,
        sleep: Callable[[float], object] = asyncio.sleep,
        environ: Mapping[str, str] | None = None,
        sdk_ua_app_id: str | None = None,
        call_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        options = resolve_options(
            region=region,
            credentials=credentials,
            profile=profile,
            endpoint_url=endpoint_url,
            retry=retry,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_pool_connections=max_pool_connections,
            interceptors=interceptors,
            user_agent_extra=user_agent_extra,
            sdk_ua_app_id=sdk_ua_app_id,
            use_fips_endpoint=use_fips_endpoint,
            use_dualstack_endpoint=use_dualstack_endpoint,
            ca_bundle=ca_bundle,
            verify=verify,
            sleep=sleep,
            clock=clock,
            call_timeout=call_timeout,
            environ=environ,
            transport=transport,
            default_sleep=asyncio.sleep,
            async_client=True,
        )
        self._init(AsyncFamily(options, options.transport), options.config.region)

    # -- the API -------------------------------------------------------------------------
    async def send(
        self,
        command: Command[OutputT],
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> OutputT:
        """Send ``command`` and return its typed response, or raise its modeled exception.

        ``timeout`` is the call's deadline in seconds across every attempt and backoff
        (default: the client's ``call_timeout``), raising
        :class:`~kms_mrk.errors.CallTimeoutError`; ``max_attempts`` replaces the retry
        strategy's attempt count for this call (1: never resent).
        """
        family = self._family
        return await send_async(
            self._pipeline,
            command,
            transport=family.async_transport,
            credentials=family.get_credentials,
            sleep=family.sleep,
            timeout=timeout,
            max_attempts=max_attempts,
        )

    def paginate(
        self, command: Command[OutputT], *, max_pages: int | None = None
    ) -> AsyncPaginator[OutputT]:
        """Every page of a paginated command: ``async for page in client.paginate(cmd)``."""
        from kms_mrk.paginators import AsyncPaginator

        return AsyncPaginator(self.send, command, max_pages=max_pages)

    async def aclose(self) -> None:
        """Close the transport this client made (only the client made with the constructor).

        Clients from :meth:`for_region` share it; closing one of them does nothing. A
        transport you passed in is yours to close.
        """
        self._closed = True
        if self._root:
            await self._family.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncKMSClient(region={self.region!r})"
