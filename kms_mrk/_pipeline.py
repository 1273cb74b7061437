"""The one place that wires a call together::

    validate -> serialize -> interceptors -> [sign -> send -> parse] x retries -> typed output

Everything a call needs that does not change between calls (schemas, the ``X-Amz-Target``
header, the output schema) is looked up once per command class and cached, so the per-call
path is: one validation walk, one JSON encode, one signature, one transport call, one
decode. Logging is formatted only when the ``kms_mrk`` logger is enabled for the level.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from kms_mrk._validation import validate
from kms_mrk.errors import ERRORS_BY_CODE
from kms_mrk.errors._base import (
    ConfigurationError,
    KmsMrkError,
    KMSServiceException,
    ParamValidationError,
    ResponseMetadata,
    ServiceException,
)
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Command, Response
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kms_mrk.auth import CredentialsProvider, SigV4Signer
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.retries import RetryStrategy
    from kms_mrk.transport._types import Transport

__all__ = ["Pipeline"]

log = logging.getLogger("kms_mrk")
OutputT = TypeVar("OutputT", bound=Response)
TARGET_PREFIX = "TrentService"


class _OperationInfo:
    __slots__ = ("input_schema", "name", "output_schema", "output_type")

    def __init__(self, command_type: type[Command[Any]]) -> None:
        self.name = command_type.operation_name
        self.input_schema = command_type.__schema__
        self.output_type = command_type.output_type
        self.output_schema = command_type.output_type.__schema__


_INFO: dict[type[Any], _OperationInfo] = {}


def _info(command_type: type[Command[Any]]) -> _OperationInfo:
    info = _INFO.get(command_type)
    if info is None:
        info = _INFO[command_type] = _OperationInfo(command_type)
    return info


class Pipeline:
    """Sends commands for one Region. Immutable after construction; safe across threads."""

    __slots__ = (
        "_after_deserialization",
        "_after_receive",
        "_before_send",
        "_before_serialization",
        "_endpoint",
        "_modify_request",
        "_on_error",
        "credentials",
        "endpoint_resolver",
        "interceptors",
        "region",
        "retry",
        "signer",
        "sleep",
        "transport_factory",
    )

    def __init__(
        self,
        *,
        region: str,
        endpoint_resolver: Callable[[], str],
        credentials: CredentialsProvider,
        signer: SigV4Signer,
        transport_factory: Callable[[], Transport],
        retry: RetryStrategy,
        interceptors: Sequence[Interceptor],
        sleep: Callable[[float], object],
    ) -> None:
        self.region = region
        self.endpoint_resolver = endpoint_resolver
        self._endpoint: str | None = None
        self.credentials = credentials
        self.signer = signer
        self.transport_factory = transport_factory
        self.retry = retry
        self.interceptors = tuple(interceptors)
        self.sleep = sleep
        # Only the hooks an interceptor overrides are called on the per-call path.
        self._before_serialization = _hooks(self.interceptors, "before_serialization")
        self._modify_request = _hooks(self.interceptors, "modify_request")
        self._before_send = _hooks(self.interceptors, "before_send")
        self._after_receive = _hooks(self.interceptors, "after_receive")
        self._after_deserialization = _hooks(self.interceptors, "after_deserialization")
        self._on_error = _hooks(self.interceptors, "on_error")

    @property
    def endpoint(self) -> str:
        endpoint = self._endpoint
        if endpoint is None:
            endpoint = self._endpoint = self.endpoint_resolver()
        return endpoint

    def send(self, command: Command[OutputT], *, max_attempts: int | None = None) -> OutputT:
        if max_attempts is not None:
            _check_max_attempts(max_attempts)
        if not isinstance(command, Command):
            raise TypeError(
                "send() takes a command such as DescribeKeyCommand(key_id=...); "
                f"got {type(command).__name__}"
            )
        info = _info(type(command))
        context = None
        if self.interceptors:
            from kms_mrk.interceptors import InterceptorContext

            context = InterceptorContext(command, self.region)
        try:
            for hook in self._before_serialization:
                hook(context)
            problems = validate(info.input_schema, command)
            if problems:
                raise ParamValidationError(info.name, problems)
            request = awsjson11.serialize_request(
                TARGET_PREFIX, info.name, info.input_schema, command, self.endpoint
            )
            for modify in self._modify_request:
                request = modify(context, request)
            output: OutputT = self._retry_loop(info, command, request, context, max_attempts)
            for hook in self._after_deserialization:
                hook(context, output)
            return output
        except Exception as error:
            for hook in self._on_error:
                hook(context, error)
            raise

    def _retry_loop(
        self,
        info: _OperationInfo,
        command: Command[Any],
        unsigned: HttpRequest,
        context: Any,
        max_attempts: int | None = None,
    ) -> Any:
        retry = self.retry
        token = retry.acquire_initial_token(info.name)
        if max_attempts is not None:
            import attrs

            token = attrs.evolve(token, max_attempts=max_attempts)
        attempt = 0
        slept = 0.0
        transport = self.transport_factory()
        while True:
            attempt += 1
            if token.delay > 0:
                self.sleep(token.delay)
                slept += token.delay
            response: HttpResponse | None = None
            started = time.perf_counter()
            if context is not None:
                context.attempt = attempt
            try:
                credentials = self.credentials.get_credentials()
                request = self.signer.sign(unsigned, credentials, self.region)
                for hook in self._before_send:
                    hook(context, request)
                response = transport.send(request)
                for hook in self._after_receive:
                    hook(context, response)
                output = self._parse(info, response)
            except Exception as error:
                if max_attempts is not None and attempt >= max_attempts:
                    # The per-call limit holds whatever strategy is in use.
                    next_token = None
                else:
                    next_token = retry.refresh_token_for_retry(token, error)
                if log.isEnabledFor(_failure_level(error, next_token)):
                    self._log_failure(info, command, attempt, started, response, error, next_token)
                if next_token is None:
                    _attach_metadata(error, response, attempt, slept)
                    raise
                token = next_token
                continue
            retry.record_success(token)
            metadata = ResponseMetadata(
                request_id=awsjson11.request_id_from(response.headers),
                http_status=response.status,
                attempts=attempt,
                total_retry_delay=slept,
                extended_request_id=response.headers.get("x-amz-id-2"),
            )
            output._set_metadata(metadata)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> HTTP %s request_id=%s attempt=%d %.1fms input=%r",
                    info.name,
                    self.region,
                    response.status,
                    metadata.request_id or "-",
                    attempt,
                    (time.perf_counter() - started) * 1000,
                    command,
                )
            return output

    def _parse(self, info: _OperationInfo, response: HttpResponse) -> Any:
        if 200 <= response.status < 300:
            return awsjson11.deserialize_response(info.output_schema, response, operation=info.name)
        raise awsjson11.deserialize_error(
            response, ERRORS_BY_CODE, KMSServiceException, operation=info.name
        )

    def _log_failure(
        self,
        info: _OperationInfo,
        command: Command[Any],
        attempt: int,
        started: float,
        response: HttpResponse | None,
        error: BaseException,
        next_token: Any,
    ) -> None:
        request_id = awsjson11.request_id_from(response.headers) if response is not None else None
        if next_token is not None:
            log.debug(
                "%s %s failed request_id=%s attempt=%d %.1fms: %s; retrying in %.3fs",
                info.name,
                self.region,
                request_id or "-",
                attempt,
                (time.perf_counter() - started) * 1000,
                _describe(error),
                next_token.delay,
            )
        else:
            log.log(
                _failure_level(error, None),
                "%s %s failed request_id=%s attempt=%d: %s input=%r",
                info.name,
                self.region,
                request_id or "-",
                attempt,
                _describe(error),
                command,
            )


def _check_max_attempts(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_attempts must be an integer >= 1 (1: never resend); got {value!r}"
        )


def _hooks(interceptors: Sequence[Interceptor], name: str) -> tuple[Callable[..., Any], ...]:
    from kms_mrk.interceptors import Interceptor

    base = getattr(Interceptor, name)
    return tuple(getattr(i, name) for i in interceptors if getattr(type(i), name, base) is not base)


def _failure_level(error: BaseException, next_token: Any) -> int:
    """DEBUG for retries and for answers the caller asked for (a missing key, a refused
    state: client faults); INFO for calls that fail for good on the service's or the
    network's side, which an operator wants to see."""
    if next_token is not None:
        return logging.DEBUG
    if isinstance(error, ServiceException) and error.fault == "client":
        from kms_mrk.retries import is_throttling_error

        return logging.INFO if is_throttling_error(error) else logging.DEBUG
    return logging.INFO


def _describe(error: BaseException) -> str:
    if isinstance(error, ServiceException):
        return f"{error.code} (HTTP {error.http_status})"
    return f"{type(error).__name__}: {error}"


def _attach_metadata(
    error: BaseException, response: HttpResponse | None, attempts: int, slept: float
) -> None:
    if not isinstance(error, KmsMrkError):
        return
    request_id = awsjson11.request_id_from(response.headers) if response is not None else None
    error.metadata = ResponseMetadata(
        request_id=request_id,
        http_status=response.status if response is not None else None,
        attempts=attempts,
        total_retry_delay=slept,
        extended_request_id=response.headers.get("x-amz-id-2") if response is not None else None,
    )
