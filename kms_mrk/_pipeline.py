"""The one place that wires a call together, as a flow with no I/O, and its two drivers::

    validate -> serialize -> interceptors -> [sign -> send -> parse] x retries -> typed output

A call is written once, as a generator (:meth:`Pipeline.flow`) in the shape of httpx's
``Auth.auth_flow``: whenever it needs the outside world it *yields* a step to its driver and
receives the result back:

- ``(CREDENTIALS, None)``: "credentials please" -> a :class:`~kms_mrk.auth.Credentials`;
- ``(SEND, request)``: "send this signed request" -> an ``HttpResponse``;
- ``(SLEEP, seconds)``: "wait before the next attempt" -> anything.

When a step fails, the driver throws the exception into the flow at the ``yield`` (a
transport error, a credentials error), which decides whether to retry. Everything else (hooks,
validation, serialization, retry decisions, deadlines, clock-skew correction, signing,
parsing, metadata and logging) lives in the flow, so :meth:`Pipeline.send` (the sync driver,
used by ``KMSClient``) and :func:`send_async` (the async driver, used by ``AsyncKMSClient``)
are a few lines each and cannot drift apart. Reading a clock is not I/O: the flow reads the
injected monotonic clock for deadlines and the wall clock for signing itself.

Everything a call needs that does not change between calls (schemas, the ``X-Amz-Target``
header, the output schema) is looked up once per command class and cached, so the per-call
path is: one validation walk, one JSON encode, one signature, one transport call, one
decode. Logging is formatted only when the ``kms_mrk`` logger is enabled for the level, and
:mod:`logging` itself is imported only once a record could be wanted (see :func:`_log_enabled`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar

import kms_mrk._service as _facts
from kms_mrk._validation import validate
from kms_mrk.errors import ERRORS_BY_CODE
from kms_mrk.errors._base import (
    CallTimeoutError,
    ConfigurationError,
    KmsMrkError,
    KMSServiceException,
    ParamValidationError,
    ResponseMetadata,
    ServiceException,
    TransportError,
)
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Command, Response
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import logging

    from kms_mrk.auth import Credentials, CredentialsProvider, SigV4Signer
    from kms_mrk.interceptors import Interceptor
    from kms_mrk.retries import RetryStrategy, RetryToken
    from kms_mrk.transport._types import AsyncTransport, Transport

__all__ = ["CREDENTIALS", "SEND", "SLEEP", "ClockSkew", "Pipeline", "send_async"]

_LOG_DEBUG: Final = 10  # logging.DEBUG and INFO, without importing logging
_LOG_INFO: Final = 20
_LOG_WARNING: Final = 30
_logger: logging.Logger | None = None


def _log() -> logging.Logger:
    """The ``kms_mrk`` logger (:mod:`logging` is imported on first need)."""
    global _logger
    if _logger is None:
        import logging

        _logger = logging.getLogger("kms_mrk")
    return _logger


def _log_enabled(level: int) -> bool:
    """Whether the ``kms_mrk`` logger would handle a record at ``level``.

    Until something imports :mod:`logging` nobody can have set a level, a handler or
    ``logging.disable``, so records below WARNING would be dropped: say so without importing
    it (a few milliseconds of a cold start). From WARNING up a record would reach logging's
    last-resort handler, so the logger is asked (and logging imported).
    """
    if _logger is None and level < _LOG_WARNING and "logging" not in sys.modules:
        return False
    return _log().isEnabledFor(level)


if "logging" in sys.modules:  # made now, as before, for configurations applied later
    _log()

OutputT = TypeVar("OutputT", bound=Response)
TARGET_PREFIX = _facts.TARGET_PREFIX

# What the flow asks its driver for.
SEND: Final = 0
CREDENTIALS: Final = 1
SLEEP: Final = 2
_ASK_CREDENTIALS: Final = (CREDENTIALS, None)

Step = tuple[int, Any]
Flow = Generator[Step, Any, Any]

# Codes KMS (and AWS) answer when the signing time is off; the set the JS SDK's
# ``isClockSkewError`` checks. The retry happens only when the response's Date header shows
# that the clock really is off (see :class:`ClockSkew`).
CLOCK_SKEW_ERROR_CODES: Final = frozenset(
    {
        "AuthFailure",
        "InvalidSignatureException",
        "RequestExpired",
        "RequestInTheFuture",
        "RequestTimeTooSkewed",
        "SignatureDoesNotMatch",
    }
)
_SKEW_THRESHOLD: Final = 300.0  # seconds; a smaller difference is not corrected (the JS SDK's)
_DEADLINE_SLACK: Final = 0.001
_VARIANT: Final = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


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


class ClockSkew:
    """The offset, in seconds, between the service's clock and ours, for one client family.

    Zero until KMS refuses a request for its signing time; then the offset read from the
    response's ``Date`` header is kept and every later request of the family is signed with
    ``wall clock + offset`` (the JS SDK's ``systemClockOffset``).
    """

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = 0.0

    def correct(self, response: HttpResponse, now: float) -> bool:
        """Update the offset from ``response``'s Date; whether it changed enough to retry."""
        server = _http_date(response.headers.get("date"))
        if server is None or abs(server - (now + self.offset)) < _SKEW_THRESHOLD:
            return False
        self.offset = server - now
        return True

    def __repr__(self) -> str:
        return f"ClockSkew(offset={self.offset:+.0f}s)"


def _http_date(value: str | None) -> float | None:
    if not value or len(value) > 64:
        return None
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def is_clock_skew_error(error: BaseException) -> bool:
    """Whether ``error`` is one of the answers KMS gives for a request signed at a wrong time."""
    return isinstance(error, ServiceException) and error.code in CLOCK_SKEW_ERROR_CODES


def _invocation_id() -> str:
    """An id for one call, kept across its attempts (``amz-sdk-invocation-id``).

    Shaped as a version 4 UUID like botocore's: the first 80 bits are drawn from
    ``os.urandom`` once per process and the last 48 count calls, so ids never repeat within
    a process and practically never across processes, at a fraction of ``uuid4()``'s cost.
    """
    global _invocation_prefix, _invocation_counter
    if _invocation_prefix is None:
        import itertools

        h = os.urandom(10).hex()
        _invocation_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))
        _invocation_prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-"
    return f"{_invocation_prefix}{next(_invocation_counter) & 0xFFFFFFFFFFFF:012x}"


_invocation_prefix: str | None = None
_invocation_counter: Iterator[int] = iter(())


def check_timeout(name: str, value: object) -> float:
    """A deadline in seconds: a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value > 0
        or value == float("inf")
    ):
        raise ConfigurationError(f"{name} must be a finite number of seconds > 0; got {value!r}")
    return float(value)


def check_max_attempts(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_attempts must be an integer >= 1 (1: never resend); got {value!r}"
        )
    return value


class Pipeline:
    """Calls for one Region of a client family. Immutable after construction; thread-safe."""

    __slots__ = (
        "_after_deserialization",
        "_after_receive",
        "_before_send",
        "_before_serialization",
        "_endpoint",
        "_modify_request",
        "_on_error",
        "call_timeout",
        "credentials",
        "endpoint_resolver",
        "interceptors",
        "monotonic",
        "region",
        "retry",
        "signer",
        "skew",
        "sleep",
        "transport_factory",
        "user_agent",
        "wall_clock",
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
        skew: ClockSkew | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        call_timeout: float | None = None,
        user_agent: Callable[[], str] | None = None,
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
        self.skew = skew if skew is not None else ClockSkew()
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.call_timeout = call_timeout
        self.user_agent = user_agent
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

    # -- the sync driver -----------------------------------------------------------------
    def send(
        self,
        command: Command[OutputT],
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> OutputT:
        """Run one call's flow, doing each step it asks for in this thread."""
        flow = self.flow(command, timeout, max_attempts)
        credentials = self.credentials
        transport: Transport | None = None
        advance = flow.send
        try:
            step = advance(None)
            while True:
                kind, value = step
                try:
                    if kind == SEND:
                        if transport is None:
                            transport = self.transport_factory()
                        result: Any = transport.send(value)
                    elif kind == CREDENTIALS:
                        result = credentials.get_credentials()
                    else:
                        self.sleep(value)
                        result = None
                except Exception as error:
                    step = flow.throw(error)
                    continue
                step = advance(result)
        except StopIteration as stop:
            output: OutputT = stop.value
            return output

    # -- the flow ------------------------------------------------------------------------
    def flow(
        self,
        command: Command[OutputT],
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> Flow:
        """The steps of one call; the generator returns the typed output (see the module doc)."""
        if not isinstance(command, Command):
            raise TypeError(
                "send() takes a command such as DescribeKeyCommand(key_id=...); "
                f"got {type(command).__name__}"
            )
        if timeout is None:
            timeout = self.call_timeout
        else:
            timeout = check_timeout("timeout", timeout)
        if max_attempts is not None:
            check_max_attempts(max_attempts)
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
            # The SDK headers go on with one copy of the request (the user agent first, so
            # that interceptors see it and may change it).
            headers = dict(request.headers)
            if self.user_agent is not None:
                headers["User-Agent"] = headers["X-Amz-User-Agent"] = self.user_agent()
            headers["amz-sdk-invocation-id"] = _invocation_id()
            shown_max = self.retry.max_attempts if max_attempts is None else max_attempts
            headers["amz-sdk-request"] = f"attempt=1; max={shown_max}"
            request = HttpRequest(request.method, request.url, headers, request.body)
            for modify in self._modify_request:
                request = modify(context, request)
            output = yield from self._attempts(
                info, command, request, context, timeout, max_attempts, shown_max
            )
            for hook in self._after_deserialization:
                hook(context, output)
            return output
        except Exception as error:
            for hook in self._on_error:
                hook(context, error)
            raise

    def _attempts(
        self,
        info: _OperationInfo,
        command: Command[Any],
        unsigned: HttpRequest,
        context: Any,
        timeout: float | None,
        max_attempts: int | None,
        shown_max: int,
    ) -> Flow:
        retry = self.retry
        token = retry.acquire_initial_token(info.name)
        if max_attempts is not None:
            token = _with_limit(token, max_attempts)
        monotonic = self.monotonic
        deadline = None if timeout is None else monotonic() + timeout
        skew = self.skew
        attempt = 0
        counted = 0  # attempts that count against max_attempts (not the clock-skew retry)
        skew_retried = False
        resend_now = False
        slept = 0.0
        last_error: BaseException | None = None
        while True:
            attempt += 1
            counted += 1
            delay = 0.0 if resend_now else token.delay
            resend_now = False
            if delay > 0:
                if deadline is not None and monotonic() + delay >= deadline:
                    raise self._deadline(info, timeout, attempt - 1, slept, last_error)
                yield (SLEEP, delay)
                slept += delay
            request = unsigned
            if attempt > 1:
                request = request.with_header(
                    "amz-sdk-request", f"attempt={attempt}; max={shown_max}"
                )
            if deadline is not None:
                left = deadline - monotonic()
                if left <= 0:
                    raise self._deadline(info, timeout, attempt - 1, slept, last_error)
                request = request.replace(timeout=left)
            response: HttpResponse | None = None
            started = time.perf_counter()
            if context is not None:
                context.attempt = attempt
            try:
                credentials: Credentials = yield _ASK_CREDENTIALS
                offset = skew.offset
                wall = self.wall_clock
                request = self.signer.sign(
                    request,
                    credentials,
                    self.region,
                    timestamp=(
                        None
                        if not offset and wall is time.time
                        else datetime.fromtimestamp(wall() + offset, timezone.utc)
                    ),
                )
                for hook in self._before_send:
                    hook(context, request)
                response = yield (SEND, request)
                for hook in self._after_receive:
                    hook(context, response)
                output = self._parse(info, response)
            except Exception as error:
                if (
                    not skew_retried
                    and response is not None
                    and is_clock_skew_error(error)
                    and skew.correct(response, self.wall_clock())
                ):
                    # Resent at once with the corrected time; not a retry in the strategy's
                    # sense (no backoff, no quota, not counted against max_attempts).
                    skew_retried = resend_now = True
                    counted -= 1
                    if _log_enabled(_LOG_DEBUG):
                        _log().debug(
                            "%s %s: signing time refused (%s); clock offset now %+.0fs, resending",
                            info.name,
                            self.region,
                            _describe(error),
                            skew.offset,
                        )
                    last_error = error
                    continue
                if max_attempts is not None and counted >= max_attempts:
                    next_token = None  # the per-call limit holds whatever the strategy
                else:
                    next_token = retry.refresh_token_for_retry(token, error)
                if deadline is not None and (
                    (next_token is not None and monotonic() + next_token.delay >= deadline)
                    or (
                        next_token is None
                        and isinstance(error, TransportError)
                        and monotonic() >= deadline - _DEADLINE_SLACK
                    )
                ):
                    raise self._deadline(info, timeout, attempt, slept, error) from error
                if _log_enabled(_failure_level(error, next_token)):
                    self._log_failure(info, command, attempt, started, response, error, next_token)
                if next_token is None:
                    _attach_metadata(error, response, attempt, slept)
                    raise
                token = next_token
                last_error = error
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
            if _log_enabled(_LOG_DEBUG):
                _log().debug(
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

    def _deadline(
        self,
        info: _OperationInfo,
        timeout: float | None,
        attempts: int,
        slept: float,
        cause: BaseException | None,
    ) -> CallTimeoutError:
        from urllib.parse import urlsplit

        error = CallTimeoutError(
            urlsplit(self.endpoint).netloc or self.endpoint,
            operation=info.name,
            timeout=timeout or 0.0,
            attempts=attempts,
            request_sent=attempts > 0,
        )
        error.__cause__ = cause
        _attach_metadata(error, None, attempts, slept)
        if _log_enabled(_LOG_INFO):
            _log().info("%s %s: %s", info.name, self.region, error.detail)
        return error

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
        log = _log()
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


# -- the async driver ----------------------------------------------------------------------


async def send_async(
    pipeline: Pipeline,
    command: Command[OutputT],
    *,
    transport: Callable[[], AsyncTransport],
    credentials: Callable[[], Any],
    sleep: Callable[[float], Any],
    timeout: float | None = None,
    max_attempts: int | None = None,
) -> OutputT:
    """Run one call's flow on the event loop: the same steps, awaited.

    ``transport`` returns the async transport (made on first use), ``credentials`` is a
    coroutine function returning credentials, ``sleep`` may return an awaitable (it is then
    awaited). A cancelled task leaves through here: the flow is closed (it holds nothing but
    its own state) and ``CancelledError`` propagates untouched.
    """
    flow = pipeline.flow(command, timeout, max_attempts)
    advance = flow.send
    try:
        step = advance(None)
        while True:
            kind, value = step
            try:
                if kind == SEND:
                    result: Any = await transport().send(value)
                elif kind == CREDENTIALS:
                    result = await credentials()
                else:
                    waited = sleep(value)
                    if waited is not None and hasattr(waited, "__await__"):
                        await waited
                    result = None
            except Exception as error:
                step = flow.throw(error)
                continue
            step = advance(result)
    except StopIteration as stop:
        output: OutputT = stop.value
        return output
    finally:
        flow.close()


def _with_limit(token: RetryToken, max_attempts: int) -> RetryToken:
    """``token`` carrying the per-call limit (a custom strategy's own token type is kept)."""
    import attrs

    if attrs.has(type(token)) and hasattr(token, "max_attempts"):
        return attrs.evolve(token, max_attempts=max_attempts)
    return token


def _hooks(interceptors: Sequence[Interceptor], name: str) -> tuple[Callable[..., Any], ...]:
    from kms_mrk.interceptors import Interceptor

    base = getattr(Interceptor, name)
    return tuple(getattr(i, name) for i in interceptors if getattr(type(i), name, base) is not base)


def _failure_level(error: BaseException, next_token: Any) -> int:
    """DEBUG for retries and for answers the caller asked for (a missing key, a refused
    state: client faults); INFO for calls that fail for good on the service's or the
    network's side, which an operator wants to see."""
    if next_token is not None:
        return _LOG_DEBUG
    if isinstance(error, ServiceException) and error.fault == "client":
        from kms_mrk.retries import is_throttling_error

        return _LOG_INFO if is_throttling_error(error) else _LOG_DEBUG
    return _LOG_INFO


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
