"""What ``KMSClient`` and ``AsyncKMSClient`` build from: checked options and the client family.

:func:`resolve_options` checks every constructor argument (before any I/O) and resolves the
configuration; both clients call it with the same arguments, so they accept and refuse the
same things with the same messages. A :class:`Family` is what a client shares with the
clients :meth:`for_region` makes from it: configuration, credentials, signer, interceptors,
the clock-skew offset, and one :class:`~kms_mrk._pipeline.Pipeline` per Region (its endpoint,
retry quota and rate limiter), made on first use and kept. How the transport is made and
closed is the only part that differs between the two clients (:class:`SyncFamily` here,
the async one in :mod:`kms_mrk._async_client`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kms_mrk._pipeline import ClockSkew, Pipeline, check_timeout
from kms_mrk._service import SIGNING_NAME
from kms_mrk.errors._base import ClosedError, ConfigurationError

if TYPE_CHECKING:
    from kms_mrk._config import ClientConfig
    from kms_mrk.auth import Credentials, CredentialsProvider
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.retries import RetryConfig, RetryStrategy
    from kms_mrk.transport import Transport

__all__ = ["Family", "Options", "SyncFamily", "resolve_options"]


class Options:
    """The checked, resolved constructor arguments (everything but the transport)."""

    __slots__ = (
        "call_timeout",
        "clock",
        "config",
        "credentials",
        "environ",
        "interceptors",
        "retry",
        "sleep",
        "transport",
        "transport_options",
        "user_agent_extra",
    )

    def __init__(
        self,
        *,
        config: ClientConfig,
        credentials: CredentialsProvider,
        transport_options: dict[str, Any],
        retry: str | int | RetryConfig | RetryStrategy | None,
        interceptors: tuple[Interceptor, ...],
        sleep: Callable[[float], object],
        clock: Callable[[], float],
        call_timeout: float | None,
        user_agent_extra: str | None,
        environ: Mapping[str, str] | None,
        transport: Any,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.transport_options = transport_options
        self.retry = retry
        self.interceptors = interceptors
        self.sleep = sleep
        self.clock = clock
        self.call_timeout = call_timeout
        self.user_agent_extra = user_agent_extra
        self.environ = environ
        self.transport = transport  # given, set by a context override, or None (the default)


def resolve_options(
    *,
    region: str | None,
    credentials: Credentials | CredentialsProvider | None,
    profile: str | None,
    endpoint_url: str | None,
    retry: str | int | RetryConfig | RetryStrategy | None,
    connect_timeout: float,
    read_timeout: float,
    total_timeout: float | None,
    max_pool_connections: int,
    interceptors: Sequence[Interceptor],
    user_agent_extra: str | None,
    sdk_ua_app_id: str | None,
    use_fips_endpoint: bool | None,
    use_dualstack_endpoint: bool | None,
    ca_bundle: str | None,
    verify: bool | None,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
    call_timeout: float | None,
    environ: Mapping[str, str] | None,
    transport: Any,
    default_sleep: Callable[[float], object],
    async_client: bool = False,
) -> Options:
    """Check the constructor arguments and resolve the configuration (no I/O).

    Without a ``transport``, a context override (``KmsMock.patch_clients``, ``KmsLocal``,
    moto's ``mock_aws``) may fill in the transport, Region, credentials, environment,
    interceptors and sleep first; ``default_sleep`` is the client's own default, which an
    override may replace.
    """
    from kms_mrk._config import resolve_config
    from kms_mrk._overrides import ClientArgs, current_override
    from kms_mrk.interceptors import Interceptor

    if transport is None and (override := current_override()) is not None:
        args = ClientArgs(
            is_async=async_client,
            region=region,
            credentials=credentials,
            sleep=None if sleep is default_sleep else sleep,
            environ=environ,
            interceptors=interceptors,
        )
        override.apply(args)
        region, credentials, environ = args.region, args.credentials, args.environ
        transport, interceptors, sleep = args.transport, args.interceptors, args.sleep or sleep

    config = resolve_config(
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        use_fips_endpoint=use_fips_endpoint,
        use_dualstack_endpoint=use_dualstack_endpoint,
        ca_bundle=ca_bundle,
        sdk_ua_app_id=sdk_ua_app_id,
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
    check_user_agent_extra(user_agent_extra)
    if verify is not None and not isinstance(verify, bool):
        raise ConfigurationError(
            f"verify must be True, False or None (use ca_bundle= for a CA file); got {verify!r}"
        )
    if not callable(sleep):
        raise ConfigurationError(f"sleep must be callable (seconds -> None); got {sleep!r}")
    if not callable(clock):
        raise ConfigurationError(f"clock must be callable (-> monotonic seconds); got {clock!r}")
    if call_timeout is not None:
        call_timeout = check_timeout("call_timeout", call_timeout)
    check_positive("connect_timeout", connect_timeout)
    check_positive("read_timeout", read_timeout)
    if total_timeout is not None:
        check_positive("total_timeout", total_timeout)
    if not isinstance(max_pool_connections, int) or max_pool_connections < 1:
        raise ConfigurationError(
            f"max_pool_connections must be an integer >= 1; got {max_pool_connections!r}"
        )
    verify_option: bool | str = True
    if verify is False:
        verify_option = False
    elif config.ca_bundle:
        verify_option = config.ca_bundle
    return Options(
        config=config,
        credentials=credentials_provider(credentials, profile, allow_async=async_client),
        transport_options={
            "max_pool_connections": max_pool_connections,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "verify": verify_option,
            **({} if total_timeout is None else {"total_timeout": total_timeout}),
        },
        retry=retry,
        interceptors=tuple(interceptors),
        user_agent_extra=user_agent_extra,
        environ=environ,
        sleep=sleep,
        clock=clock,
        call_timeout=call_timeout,
        transport=transport,
    )


class Family:
    """What a client shares with the clients made from it by ``for_region``."""

    client_name = "KMSClient"

    def __init__(self, options: Options) -> None:
        from kms_mrk.auth import SigV4Signer

        self.options = options
        self.config = options.config
        self.credentials = options.credentials
        self.signer = SigV4Signer(SIGNING_NAME)
        self.transport_options = options.transport_options
        self.retry = options.retry
        self.interceptors = options.interceptors
        self.sleep = options.sleep
        self.endpoint_url = options.config.endpoint_url
        self.skew = ClockSkew()
        self._user_agent: str | None = None
        self._lock = threading.Lock()
        self.closed = False
        self.pipelines: dict[str, Pipeline] = {}

    def pipeline(self, region: str) -> Pipeline:
        """The pipeline of ``region`` in this family: made once, then shared.

        A legacy FIPS pseudo-Region (``us-east-1-fips``, ``fips-us-gov-west-1``) gets the
        FIPS endpoint of the real Region and signs for the real Region, as botocore does.
        """
        pipeline = self.pipelines.get(region)
        if pipeline is not None:
            return pipeline
        from kms_mrk.endpoints import normalize_fips_region
        from kms_mrk.retries import resolve_retry

        real, fips = normalize_fips_region(region)
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
                    region=real,
                    endpoint_resolver=lambda: self.endpoint_for(real, fips),
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
                    skew=self.skew,
                    monotonic=self.options.clock,
                    call_timeout=self.options.call_timeout,
                    user_agent=self.user_agent,
                )
                self.pipelines[region] = pipeline
            return pipeline

    def user_agent(self) -> str:
        """The User-Agent of the family (made on the first call: it may read the profile)."""
        value = self._user_agent
        if value is None:
            from kms_mrk._config import profile_app_id
            from kms_mrk.interceptors import user_agent

            config = self.config
            app_id = config.sdk_ua_app_id
            if app_id is None:
                app_id = profile_app_id(config.profile, self.options.environ)
            value = self._user_agent = user_agent(self.options.user_agent_extra, app_id=app_id)
        return value

    def endpoint_for(self, region: str, fips: bool = False) -> str:
        if self.endpoint_url:
            return self.endpoint_url
        from kms_mrk.endpoints import resolve_endpoint

        return resolve_endpoint(
            region,
            use_fips=fips or self.config.use_fips_endpoint,
            use_dualstack=self.config.use_dualstack_endpoint,
        )

    def transport(self) -> Transport:
        raise NotImplementedError

    def closed_error(self) -> ClosedError:
        return ClosedError(f"this {self.client_name} has been closed; create a new one")


class SyncFamily(Family):
    """The sync client's family: a ``Transport``, by default urllib3's, made on first use."""

    def __init__(self, options: Options, transport: Transport | None) -> None:
        super().__init__(options)
        if transport is not None and not (
            callable(getattr(transport, "send", None))
            and callable(getattr(transport, "close", None))
        ):
            raise ConfigurationError(
                "transport must have send(HttpRequest) -> HttpResponse and close() methods; "
                f"got {type(transport).__name__}"
            )
        self._transport = transport
        self.owns_transport = transport is None

    def transport(self) -> Transport:
        transport = self._transport
        if transport is not None:
            return transport
        with self._lock:
            if self.closed:
                raise self.closed_error()
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


def check_user_agent_extra(value: object) -> None:
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


def check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a number of seconds > 0; got {value!r}")


def credentials_provider(
    credentials: Any, profile: str | None, *, allow_async: bool = False
) -> Any:
    """A provider for ``credentials``: Credentials, a provider, or None (botocore's chain).

    With ``allow_async`` a provider whose ``get_credentials`` is a coroutine function is
    accepted as it is (the async client uses it directly).
    """
    from kms_mrk.auth import BotocoreCredentialsProvider, Credentials, StaticCredentialsProvider

    if credentials is None:
        return BotocoreCredentialsProvider(profile)
    if isinstance(credentials, Credentials):
        return StaticCredentialsProvider(credentials)
    getter = getattr(credentials, "get_credentials", None)
    if callable(getter):
        if not allow_async:
            import inspect

            if inspect.iscoroutinefunction(getter):
                raise ConfigurationError(
                    "credentials: KMSClient needs a provider whose get_credentials() returns "
                    "Credentials; this one is a coroutine function (use it with AsyncKMSClient)"
                )
        return credentials
    raise ConfigurationError(
        "credentials must be kms_mrk.Credentials or a provider with get_credentials(); "
        f"got {type(credentials).__name__}"
    )
