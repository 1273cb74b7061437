"""Waiters: the generic poll engine (poll, pace, give up at a deadline).

:func:`poll_until` calls a probe until a condition holds: it polls at once, then sleeps with
capped exponential backoff and jitter (:class:`WaiterConfig`) until the condition holds or the
overall timeout passes, which raises :class:`WaiterTimeoutError` carrying the last state
observed. ``sleep``, ``clock`` (monotonic seconds) and ``rng`` are injectable: a test passes a
fake clock whose ``sleep`` advances it, and the wait runs instantly through every state::

    result = poll_until(probe, lambda state: state == "Enabled", what="the key to be enabled")

The loop is written once, as a flow with no I/O (:func:`poll_flow`): a generator that yields
the steps it needs (whatever the probe needs to read a state, and :class:`Sleep` between
polls) and receives their results, like the client's call flow. Two small drivers run it:
:func:`drive` in the calling thread and :func:`drive_async` on the event loop; so
:func:`poll_until` and :func:`poll_until_async` (``await probe()``) decide identically.

This module knows nothing about keys or Regions. The multi-Region waiters built on it
(:func:`~kms_mrk.wait_for_replica_created`, :func:`~kms_mrk.wait_for_primary_region`,
:func:`~kms_mrk.wait_for_pending_deletion`) live in the failover toolkit
(``kms_mrk.failover``) and are exported from ``kms_mrk``.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from kms_mrk.errors._base import ConfigurationError, KmsMrkError

if TYPE_CHECKING:
    import random

__all__ = [
    "Sleep",
    "WaitResult",
    "WaiterConfig",
    "WaiterTimeoutError",
    "drive",
    "drive_async",
    "poll_flow",
    "poll_until",
    "poll_until_async",
]

#: Names that moved to the failover toolkit, for a helpful error on the old import path.
_MOVED = frozenset(
    {
        "TOLERATED_ERRORS",
        "is_primary_change_complete",
        "wait_for_pending_deletion",
        "wait_for_primary_region",
        "wait_for_replica_created",
    }
)

T = TypeVar("T")


def _check_seconds(field: str, value: object, *, allow_zero: bool) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigurationError(
            f"{field} must be a finite number of seconds {rule}; got {value!r}"
        )
    return float(value)  # type: ignore[arg-type]


def _valid_min_delay(_i: object, _a: object, value: object) -> None:
    _check_seconds("WaiterConfig.min_delay", value, allow_zero=False)


def _valid_max_delay(_i: object, _a: object, value: object) -> None:
    _check_seconds("WaiterConfig.max_delay", value, allow_zero=False)


def _valid_timeout(_i: object, _a: object, value: object) -> None:
    _check_seconds("WaiterConfig.timeout", value, allow_zero=True)


def _valid_multiplier(_i: object, _a: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 10:
        raise ConfigurationError(
            f"WaiterConfig.multiplier must be a number from 1 to 10; got {value!r}"
        )


def _valid_jitter(_i: object, _a: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigurationError(
            f"WaiterConfig.jitter must be a fraction from 0 (none) to below 1; got {value!r}"
        )


@attrs.frozen(slots=True, kw_only=True)
class WaiterConfig:
    """How a waiter paces its polls.

    The first poll is immediate. The pause after poll ``n`` is ``min_delay * multiplier **
    (n - 1)``, capped at ``max_delay``, then moved at random by up to ``jitter`` of itself
    (0.2: +/-20%) so that many waiters do not poll in step. ``timeout`` is the overall limit
    in seconds; the last pause is shortened so that a final poll happens at the deadline.
    """

    min_delay: float = attrs.field(default=1.0, validator=_valid_min_delay)
    max_delay: float = attrs.field(default=10.0, validator=_valid_max_delay)
    multiplier: float = attrs.field(default=1.5, validator=_valid_multiplier)
    jitter: float = attrs.field(default=0.2, validator=_valid_jitter)
    timeout: float = attrs.field(default=300.0, validator=_valid_timeout)

    def __attrs_post_init__(self) -> None:
        if self.max_delay < self.min_delay:
            raise ConfigurationError(
                f"WaiterConfig.max_delay ({self.max_delay:g}) must be >= min_delay "
                f"({self.min_delay:g})"
            )

    def delay(self, poll: int, rng: random.Random) -> float:
        """The pause after poll number ``poll`` (1 for the first), jitter included."""
        base = min(self.max_delay, self.min_delay * self.multiplier ** min(poll - 1, 64))
        if self.jitter:
            base *= 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
        return max(0.0, min(base, self.max_delay))


class WaiterTimeoutError(KmsMrkError):
    """A waiter's timeout passed before the condition held.

    ``last_state`` is the last state observed (a :class:`~kms_mrk.failover.KeyView` or
    :class:`~kms_mrk.failover.RegionalKey` for the built-in waiters) and the message states
    it. ``what`` names the condition; ``timeout``, ``elapsed`` and ``attempts`` (polls made)
    say how long it waited. When the wait followed a change the toolkit made,
    ``sent`` says whether UpdatePrimaryRegion was sent (and accepted) by that call and
    ``request_id`` is its request id (None when unknown); both are None for a plain wait.
    """

    def __init__(
        self,
        what: str,
        *,
        timeout: float,
        elapsed: float,
        attempts: int,
        last_state: object,
        last_state_text: str | None = None,
        note: str | None = None,
        sent: bool | None = None,
        request_id: str | None = None,
    ) -> None:
        self.sent = sent
        self.request_id = request_id
        self.what = what
        self.timeout = timeout
        self.elapsed = elapsed
        self.attempts = attempts
        self.last_state = last_state
        self.last_state_text = last_state_text if last_state_text is not None else str(last_state)
        self.note = note
        polls = "poll" if attempts == 1 else "polls"
        message = (
            f"Timed out after {elapsed:.1f}s (timeout {timeout:g}s, {attempts} {polls}) waiting "
            f"for {what}; last state: {self.last_state_text}"
        )
        if note:
            message = f"{message}. {note}"
        super().__init__(message)


@attrs.frozen(slots=True, kw_only=True)
class WaitResult(Generic[T]):
    """A finished wait: the state that satisfied it, polls made, seconds taken, and the
    distinct states seen on the way (consecutive repeats folded), as one-line texts."""

    value: T
    attempts: int
    elapsed: float
    states: tuple[str, ...]


_rng: random.Random | None = None


def _shared_rng() -> random.Random:
    """One process-wide generator for jitter (seeding a new one per wait costs more than the
    wait's own logic; ``Random.random`` is safe to call from several threads)."""
    global _rng
    if _rng is None:
        import random

        _rng = random.Random()
    return _rng


class Sleep:
    """A step of a flow: "pause for ``seconds``" (the driver sleeps, or awaits its sleep)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Sleep({self.seconds:g})"


class _Probe:
    """The step the public ``poll_until*`` functions ask their driver for: call the probe."""

    __slots__ = ()


_PROBE = _Probe()


def poll_flow(
    probe: Callable[[], Generator[Any, Any, T]],
    is_done: Callable[[T], bool],
    *,
    what: str,
    describe: Callable[[T], str] = str,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[T], None] | None = None,
    check: Callable[[T], None] | None = None,
) -> Generator[Any, Any, WaitResult[T]]:
    """The poll loop as a flow with no I/O: what :func:`poll_until` and :func:`poll_until_async`
    (and every waiter) run.

    ``probe()`` returns a generator whose steps (whatever reading a state takes) pass through
    to the driver; between polls the flow yields :class:`Sleep` steps. The arguments are
    checked when the flow starts, before its first step. Returns the :class:`WaitResult`, or
    raises :class:`WaiterTimeoutError` with the last state seen.
    """
    cfg = config if config is not None else WaiterConfig()
    if not isinstance(cfg, WaiterConfig):
        raise ConfigurationError(f"config must be a WaiterConfig; got {type(cfg).__name__}")
    limit = cfg.timeout if timeout is None else _check_seconds("timeout", timeout, allow_zero=True)
    if rng is None:
        rng = _shared_rng()
    start = clock()
    deadline = start + limit
    states: list[str] = []
    attempts = 0
    while True:
        attempts += 1
        state = yield from probe()
        text = describe(state)
        if not states or states[-1] != text:
            states.append(text)
        if on_poll is not None:
            on_poll(state)
        if check is not None:
            check(state)
        if is_done(state):
            return WaitResult(
                value=state, attempts=attempts, elapsed=clock() - start, states=tuple(states)
            )
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaiterTimeoutError(
                what,
                timeout=limit,
                elapsed=clock() - start,
                attempts=attempts,
                last_state=state,
                last_state_text=text,
            )
        yield Sleep(min(remaining, cfg.delay(attempts, rng)))


def drive(
    flow: Generator[Any, Any, T],
    sleep: Callable[[float], object],
    handle: Callable[[Any], Any],
) -> T:
    """Run ``flow`` in this thread: :class:`Sleep` steps with ``sleep``, the others with
    ``handle`` (its result, or its exception, goes back into the flow)."""
    result: Any = None
    error: BaseException | None = None
    try:
        while True:
            if error is not None:
                step, error = flow.throw(error), None
            else:
                step = flow.send(result)
            try:
                if isinstance(step, Sleep):
                    sleep(step.seconds)
                    result = None
                else:
                    result = handle(step)
            except Exception as raised:
                error = raised
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        flow.close()


async def drive_async(
    flow: Generator[Any, Any, T],
    sleep: Callable[[float], object],
    handle: Callable[[Any], Awaitable[Any]],
) -> T:
    """Run ``flow`` on the event loop: ``sleep`` may return an awaitable (then awaited; a
    plain function is just called, which tests use to move a fake clock), the other steps
    are awaited through ``handle``. Cancelling the task closes the flow."""
    result: Any = None
    error: BaseException | None = None
    try:
        while True:
            if error is not None:
                step, error = flow.throw(error), None
            else:
                step = flow.send(result)
            try:
                if isinstance(step, Sleep):
                    waited = sleep(step.seconds)
                    if inspect.isawaitable(waited):
                        await waited
                    result = None
                else:
                    result = await handle(step)
            except Exception as raised:
                error = raised
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        flow.close()


def _probe_step() -> Generator[Any, Any, Any]:
    return (yield _PROBE)


def poll_until(
    probe: Callable[[], T],
    is_done: Callable[[T], bool],
    *,
    what: str,
    describe: Callable[[T], str] = str,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[T], None] | None = None,
    check: Callable[[T], None] | None = None,
) -> WaitResult[T]:
    """Call ``probe`` until ``is_done`` accepts its result; the engine of every waiter.

    ``check`` may raise to end the wait early (an error that waiting cannot cure).
    ``on_poll`` sees every state (progress displays use it). ``timeout`` overrides
    ``config.timeout``. Raises :class:`WaiterTimeoutError` with the last state on timeout.
    """
    flow = poll_flow(
        _probe_step,
        is_done,
        what=what,
        describe=describe,
        config=config,
        timeout=timeout,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=check,
    )
    return drive(flow, sleep, lambda _step: probe())


async def poll_until_async(
    probe: Callable[[], Awaitable[T]],
    is_done: Callable[[T], bool],
    *,
    what: str,
    describe: Callable[[T], str] = str,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[T], None] | None = None,
    check: Callable[[T], None] | None = None,
) -> WaitResult[T]:
    """:func:`poll_until` for asyncio: ``await probe()`` until ``is_done`` accepts it.

    The same flow (:func:`poll_flow`) as the sync engine; ``sleep`` defaults to
    :func:`asyncio.sleep` and may be a plain function (a fake clock's ``advance``).
    """
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep

    async def call_probe(_step: object) -> T:
        return await probe()

    flow = poll_flow(
        _probe_step,
        is_done,
        what=what,
        describe=describe,
        config=config,
        timeout=timeout,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=check,
    )
    return await drive_async(flow, sleep, call_probe)


def __getattr__(name: str) -> object:
    if name in _MOVED:
        raise AttributeError(
            f"kms_mrk.waiters.{name} moved to the failover toolkit: "
            f"`from kms_mrk.failover import {name}`"
            + (f" (or `from kms_mrk import {name}`)" if name.startswith("wait_for") else "")
        )
    raise AttributeError(f"module 'kms_mrk.waiters' has no attribute {name!r}")
