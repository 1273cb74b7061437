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

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from kms_mrk._operations import OperationsMixin
from kms_mrk._pipeline import Pipeline
from kms_mrk.errors._base import ClosedError, ConfigurationError

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from kms_mrk._config import ClientConfig
    from kms_mrk.auth import Credentials, CredentialsProvider
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.paginators import Paginator
    from kms_mrk.retries import RetryConfig, RetryStrategy
    from kms_mrk.schema import Command, Response
    from kms_mrk.transport import Transport

__all__ = ["KMSClient"]

OutputT = TypeVar("OutputT", bound="Response")


class _Family:
    """What a client shares with the clients made from it by ``for_region``."""

    def __init__(
        self,
        *,
        config: ClientConfig,
        credentials: CredentialsProvider,
        transport: Transport | None,
        transport_options: dict[str, Any],
        retry: str | int | RetryConfig | RetryStrategy | None,
        interceptors: tuple[Interceptor, ...],
        sleep: Callable[[float], object],
        endpoint_url: str | None,
    ) -> None:
        from kms_mrk.auth import SigV4Signer

        self.config = config
        self.credentials = credentials
        self.signer = SigV4Signer("kms")
        self._transport = transport
        self.owns_transport = transport is None
        self.transport_options = transport_options
        self.retry = retry
        self.interceptors = interceptors
        self.sleep = sleep
        self.endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self.closed = False
        self.pipelines: dict[str, Pipeline] = {}

    def pipeline(self, region: str) -> Pipeline:
        """The pipeline of ``region`` in this family: made once, then shared."""
        pipeline = self.pipelines.get(region)
        if pipeline is not None:
            return pipeline
        from kms_mrk.retries import resolve_retry

        with self._lock:
            pipeline = self.pipelines.get(region)
            if pipeline is None:
                retry = self.retry
                if self.pipelines and retry is not None and not isinstance(retry, (str, int)):
                    # A strategy object serves its first Region; the others get siblings
                    # (same settings, their own quota and rate limiter).
                    sibling = getattr(retry, "sibling", None)
                    if callable(sibling):
                        retry = sibling()
                pipeline = Pipeline(
                    region=region,
                    endpoint_resolver=lambda: _endpoint_for(self, region),
                    credentials=self.credentials,
                    signer=self.signer,
                    transport_factory=self.transport,
                    retry=resolve_retry(
                        retry,
                        mode_default=self.config.retry_mode,
                        max_attempts_default=self.config.max_attempts,
                    ),
                    interceptors=self.interceptors,
                    sleep=self.sleep,
                )
                self.pipelines[region] = pipeline
            return pipeline

    def transport(self) -> Transport:
        transport = self._transport
        if transport is not None:
            return transport
        with self._lock:
            if self.closed:
                raise ClosedError("this KMSClient has been closed; create a new one")
            if self._transport is None:
                from kms_mrk.transport import Urllib3Transport

                self._transport = Urllib3Transport(**self.transport_options)
            return self._transport

    def close(self) -> None:
        with self._lock:
            self.closed = True
            transport, self._transport = self._transport, None
        if transport is not None and self.owns_transport:
            transport.close()


class KMSClient(OperationsMixin):
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

    __slots__ = ("_closed", "_family", "_pipeline", "_root", "region")

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
        max_pool_connections: int = 10,
        interceptors: Sequence[Interceptor] = (),
        user_agent_extra: str | None = None,
        use_fips_endpoint: bool | None = None,
        use_dualstack_endpoint: bool | None = None,
        ca_bundle: str | None = None,
        verify: bool | None = None,
        sleep: Callable[[float], object] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from kms_mrk._config import resolve_config
        from kms_mrk.interceptors import Interceptor, UserAgentInterceptor

        config = resolve_config(
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            use_fips_endpoint=use_fips_endpoint,
            use_dualstack_endpoint=use_dualstack_endpoint,
            ca_bundle=ca_bundle,
            environ=environ,
        )
        if isinstance(interceptors, Interceptor):
            raise ConfigurationError(
                "interceptors must be a sequence of Interceptor instances; "
                "got a single Interceptor (write interceptors=[it])"
            )
        for interceptor in interceptors:
            if not isinstance(interceptor, Interceptor):
                raise ConfigurationError(
                    f"interceptors must be kms_mrk.interceptors.Interceptor instances; "
                    f"got {type(interceptor).__name__}"
                )
        _check_user_agent_extra(user_agent_extra)
        if verify is not None and not isinstance(verify, bool):
            raise ConfigurationError(
                f"verify must be True, False or None (use ca_bundle= for a CA file); got {verify!r}"
            )
        if not callable(sleep):
            raise ConfigurationError(f"sleep must be callable (seconds -> None); got {sleep!r}")
        _check_positive("connect_timeout", connect_timeout)
        _check_positive("read_timeout", read_timeout)
        if not isinstance(max_pool_connections, int) or max_pool_connections < 1:
            raise ConfigurationError(
                f"max_pool_connections must be an integer >= 1; got {max_pool_connections!r}"
            )
        if transport is not None and not (
            callable(getattr(transport, "send", None))
            and callable(getattr(transport, "close", None))
        ):
            raise ConfigurationError(
                "transport must have send(HttpRequest) -> HttpResponse and close() methods; "
                f"got {type(transport).__name__}"
            )
        verify_option: bool | str = True
        if verify is False:
            verify_option = False
        elif config.ca_bundle:
            verify_option = config.ca_bundle
        family = _Family(
            config=config,
            credentials=_credentials_provider(credentials, profile),
            transport=transport,
            transport_options={
                "max_pool_connections": max_pool_connections,
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "verify": verify_option,
            },
            retry=retry,
            interceptors=(UserAgentInterceptor(user_agent_extra), *interceptors),
            sleep=sleep,
            endpoint_url=config.endpoint_url,
        )
        self._init(family, config.region)

    def _init(self, family: _Family, region: str, *, root: bool = True) -> None:
        self._family = family
        self.region = region
        self._closed = False
        self._root = root
        self._pipeline = family.pipeline(region)

    # -- the API -------------------------------------------------------------------------
    def send(self, command: Command[OutputT], *, max_attempts: int | None = None) -> OutputT:
        """Send ``command`` and return its typed response, or raise its modeled exception.

        ``max_attempts`` replaces the retry strategy's attempt count for this one call
        (1: the request is never resent).
        """
        if max_attempts is None:
            return self._pipeline.send(command)
        return self._pipeline.send(command, max_attempts=max_attempts)

    def for_region(self, region: str) -> KMSClient:
        """A client for ``region`` sharing credentials, configuration and connection pools."""
        from kms_mrk.endpoints import validate_region

        validate_region(region)
        other = object.__new__(KMSClient)
        other._init(self._family, region, root=False)
        return other

    def paginate(
        self, command: Command[OutputT], *, max_pages: int | None = None
    ) -> Paginator[OutputT]:
        """Iterate over every page of a paginated command; ``.items()`` over every result."""
        from kms_mrk.paginators import Paginator

        return Paginator(self.send, command, max_pages=max_pages)

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration (the Region is this client's)."""
        return self._family.config

    @property
    def endpoint(self) -> str:
        """The endpoint URL calls in this Region go to (resolved on first use)."""
        return self._pipeline.endpoint

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


def _check_user_agent_extra(value: object) -> None:
    if value is None:
        return
    if (
        not isinstance(value, str)
        or not value
        or not value.isascii()
        or not value.isprintable()
        or len(value) > 256
    ):
        raise ConfigurationError(
            "user_agent_extra must be printable ASCII text of 1 to 256 characters "
            f"(no line breaks); got {value!r}"
        )


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a number of seconds > 0; got {value!r}")


def _credentials_provider(
    credentials: Credentials | CredentialsProvider | None, profile: str | None
) -> CredentialsProvider:
    from kms_mrk.auth import BotocoreCredentialsProvider, Credentials, StaticCredentialsProvider

    if credentials is None:
        return BotocoreCredentialsProvider(profile)
    if isinstance(credentials, Credentials):
        return StaticCredentialsProvider(credentials)
    if callable(getattr(credentials, "get_credentials", None)):
        return credentials
    raise ConfigurationError(
        "credentials must be kms_mrk.Credentials or a provider with get_credentials(); "
        f"got {type(credentials).__name__}"
    )


def _endpoint_for(family: _Family, region: str) -> str:
    if family.endpoint_url:
        return family.endpoint_url
    from kms_mrk.endpoints import resolve_endpoint

    return resolve_endpoint(
        region,
        use_fips=family.config.use_fips_endpoint,
        use_dualstack=family.config.use_dualstack_endpoint,
    )
