"""KMSClient: ``send(command)``, one snake_case method per operation, ``for_region``.

Creating a client resolves configuration (arguments, environment, shared config file) and
nothing else: credentials are resolved on the first call, the endpoint on the first call
in each Region, and the default urllib3 transport is created on first use. Clients made
with :meth:`KMSClient.for_region` share credentials, configuration, interceptors and the
transport's connection pools with the client they came from. Each Region has one pipeline
per client family, made on first use and kept: its endpoint, retry quota and adaptive rate
limiter are shared by every client of that Region in the family, so calling
``client.for_region(r)`` per request still counts against one quota, and a failing Region
does not use up another's retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from kms_mrk._client_base import ClientBase
from kms_mrk._operations import OperationsMixin

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from kms_mrk._family import SyncFamily
    from kms_mrk.auth import Credentials, CredentialsProvider
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.paginators import Paginator
    from kms_mrk.retries import RetryConfig, RetryStrategy
    from kms_mrk.schema import Command, Response
    from kms_mrk.transport import Transport

__all__ = ["KMSClient"]

OutputT = TypeVar("OutputT", bound="Response")


class KMSClient(ClientBase, OperationsMixin):
    """A client for AWS KMS in one Region.

    ``region`` comes from the argument, else ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the
    profile's ``region``. ``credentials`` may be :class:`~kms_mrk.auth.Credentials` or a
    provider; by default botocore's provider chain is used, lazily. ``endpoint_url``
    overrides ``AWS_ENDPOINT_URL_KMS``/``AWS_ENDPOINT_URL``/the profile and the endpoint rule
    set. ``transport`` replaces the default urllib3 transport (the local KMS, a mock, or
    :class:`~kms_mrk.transport.RequestsTransport`). ``retry`` is a mode name, a maximum
    number of attempts, a :class:`~kms_mrk.retries.RetryConfig` or a strategy. ``sleep``
    is what waits between retries (inject it in tests).

    Thread-safe: one client may serve many threads.
    """

    __slots__ = ()
    _family: SyncFamily

    def __init__(
        self,
        region: str | None = None,
        *,
        credentials: Credentials | CredentialsProvider | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        transport: Transport | None = None,
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
        sleep: Callable[[float], object] = time.sleep,
        environ: Mapping[str, str] | None = None,
        sdk_ua_app_id: str | None = None,
        call_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from kms_mrk._family import SyncFamily, resolve_options

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
            default_sleep=time.sleep,
        )
        self._init(SyncFamily(options, options.transport), options.config.region)

    # -- the API -------------------------------------------------------------------------
    def send(
        self,
        command: Command[OutputT],
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> OutputT:
        """Send ``command`` and return its typed response, or raise its modeled exception.

        ``timeout`` is the call's deadline in seconds, across every attempt and backoff
        (default: the client's ``call_timeout``); when it passes,
        :class:`~kms_mrk.errors.CallTimeoutError` is raised. ``max_attempts`` replaces the
        retry strategy's attempt count for this one call (1: the request is never resent).
        """
        if timeout is None and max_attempts is None:
            return self._pipeline.send(command)
        return self._pipeline.send(command, timeout=timeout, max_attempts=max_attempts)

    def paginate(
        self, command: Command[OutputT], *, max_pages: int | None = None
    ) -> Paginator[OutputT]:
        """Iterate over every page of a paginated command; ``.items()`` over every result."""
        from kms_mrk.paginators import Paginator

        return Paginator(self.send, command, max_pages=max_pages)

    def close(self) -> None:
        """Close the connection pools of a transport this client created.

        Only the client made with ``KMSClient(...)`` closes them: the pools are shared with
        every client its :meth:`for_region` made, and closing one of those (for instance
        at the end of a ``with client.for_region(r) as other:`` block) does nothing, so
        the family goes on working. A transport you passed in is yours to close.
        """
        self._closed = True
        if self._root:
            self._family.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KMSClient(region={self.region!r})"
