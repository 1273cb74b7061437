"""Waiters: poll KMS until a multi-Region key reaches a state, with backoff and a deadline.

UpdatePrimaryRegion and ReplicateKey return at once while the change completes seconds later;
these functions wait for it, so a script knows for certain when the work is done::

    client.update_primary_region(key_id=arn, primary_region="eu-west-1")
    wait_for_primary_region(client, arn, "eu-west-1", previous_region="us-east-1")

Three waiters come ready-made:

- :func:`wait_for_replica_created`: the replica in a Region has left ``Creating``;
- :func:`wait_for_primary_region`: the primary is in a given Region and the change is over,
  confirmed from both sides (the new primary's Region says ``PRIMARY``; the old primary's
  Region, or without ``previous_region`` every Region of the key, says ``REPLICA``; none is
  ``Updating``, and all name the same primary Region);
- :func:`wait_for_pending_deletion`: a key is ``PendingDeletion`` or
  ``PendingReplicaDeletion`` (or gone, once it has been seen).

Every Region argument is checked before any I/O (:func:`kms_mrk.failover.check_region`:
the client's rule and the KMS model's Region pattern); a bad one raises
:class:`~kms_mrk.errors.ConfigurationError` naming the argument.

They share one engine, :func:`poll_until`: poll at once, then sleep with capped exponential
backoff and jitter (:class:`WaiterConfig`) until the condition holds or the overall timeout
passes, which raises :class:`WaiterTimeoutError` carrying the last state observed. ``sleep``,
``clock`` (monotonic seconds) and ``rng`` are injectable: a test passes a fake clock whose
``sleep`` advances it, and the wait runs instantly through every intermediate state.

Polls read keys with DescribeKey through :func:`kms_mrk.failover.describe_in_region` and
:func:`kms_mrk.failover.describe_view`, which record a throttled, unreachable or missing Region
in the state rather than raising: such a poll simply does not satisfy the condition, and the
wait goes on (the client's own retries have already been spent on it). Errors that waiting
cannot cure (access denied, an invalid key) end the wait at once with that error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from kms_mrk.errors._base import ConfigurationError, KmsMrkError

if TYPE_CHECKING:
    import random

    from kms_mrk import KMSClient
    from kms_mrk.failover import KeyView, RegionalKey

__all__ = [
    "TOLERATED_ERRORS",
    "WaitResult",
    "WaiterConfig",
    "WaiterTimeoutError",
    "is_primary_change_complete",
    "poll_until",
    "wait_for_pending_deletion",
    "wait_for_primary_region",
    "wait_for_replica_created",
]

T = TypeVar("T")

#: ``RegionalKey.error`` values a wait polls through; any other error ends the wait.
TOLERATED_ERRORS = frozenset({"not_found", "unreachable", "throttled", "unavailable"})


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
        state = probe()
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
        sleep(min(remaining, cfg.delay(attempts, rng)))


# --------------------------------------------------------------------------- conditions


def is_primary_change_complete(
    view: KeyView, primary_region: str, previous_region: str | None = None
) -> bool:
    """Whether ``view`` shows a finished move of the primary to ``primary_region``.

    ``primary_region``'s key says PRIMARY, is not ``Updating`` and names itself as primary.
    When ``previous_region`` is given, its key says REPLICA, is not ``Updating`` and names
    ``primary_region`` too; without it, every other Region in ``view`` must say so (and
    must have answered). The Regions that matter must all have answered.
    """
    new = view.region(primary_region)
    if new is None or not _settled(new, "PRIMARY", primary_region):
        return False
    if previous_region == primary_region:
        return True
    if previous_region is not None:
        old = view.region(previous_region)
        return old is not None and _settled(old, "REPLICA", primary_region)
    return all(
        _settled(other, "REPLICA", primary_region)
        for other in view.regions
        if other.region != primary_region
    )


def _settled(key: RegionalKey, role: str, primary_region: str) -> bool:
    return (
        key.error is None
        and key.role == role
        and key.primary_region == primary_region
        and key.key_state not in (None, "Updating", "Creating")
    )


def _raise_untolerated(keys: Sequence[RegionalKey]) -> None:
    for key in keys:
        if key.error is not None and key.error not in TOLERATED_ERRORS:
            if key.exception is not None:
                raise key.exception
            raise KmsMrkError(f"{key.region}: {key.error}: {key.error_message or ''}".rstrip(": "))


# --------------------------------------------------------------------------- waiters


def wait_for_replica_created(
    client: KMSClient,
    key: str,
    region: str,
    *,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey]:
    """Wait until the replica of ``key`` in ``region`` has left ``Creating``.

    ``key`` is a multi-Region key id or key ARN (of any Region). A replica that KMS does not
    show yet (NotFoundException right after ReplicateKey) is waited for too.
    """
    from kms_mrk.failover import describe_in_region

    target = _key_in_region(key, _region(region, "region"))
    checked = client.for_region(region)
    return poll_until(
        lambda: describe_in_region(checked, target),
        lambda k: k.error is None and k.key_state not in (None, "Creating"),
        what=f"the replica of {_short(key)} in {region} to leave Creating",
        describe=lambda k: k.summary(),
        config=config,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda k: _raise_untolerated([k]),
    )


def wait_for_primary_region(
    client: KMSClient,
    key: str,
    primary_region: str,
    *,
    previous_region: str | None = None,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> WaitResult[KeyView]:
    """Wait until ``key``'s primary is in ``primary_region`` and the change is over.

    With ``previous_region`` (the Region of the primary before the change), each poll
    reads the key in those two Regions. Without it, each poll reads the key in
    ``primary_region`` and in every Region any answer lists (so the old primary, now a
    replica, is always among them), and every one of them must confirm: a Region that
    cannot be read keeps the wait going. See :func:`is_primary_change_complete`. ``key``
    is a multi-Region key id or key ARN.
    """
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._view import read_around, read_view

    _key_in_region(key, _region(primary_region, "primary_region"))  # validate before any I/O
    if previous_region is not None:
        _region(previous_region, "previous_region")
    caller = Caller(client, throttle_retries=0)
    if previous_region is not None:
        regions = list(dict.fromkeys([primary_region, previous_region]))
        where = " and ".join(regions)

        def probe() -> KeyView:
            return read_view(caller, key, regions)

    else:
        known: list[str] = []
        where = "every Region of the key"

        def probe() -> KeyView:
            view = read_around(caller, key, primary_region, known)
            known.extend(r.region for r in view.regions if r.region not in known)
            return view

    return poll_until(
        probe,
        lambda v: is_primary_change_complete(v, primary_region, previous_region),
        what=f"the primary of {_short(key)} to be in {primary_region}, confirmed from {where}",
        describe=lambda v: v.summary(),
        config=config,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda v: _raise_untolerated(v.regions),
    )


def wait_for_pending_deletion(
    client: KMSClient,
    key: str,
    *,
    region: str | None = None,
    missing_ok: bool = False,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey]:
    """Wait until ``key`` in ``region`` (default: the ARN's, else the client's) is pending
    deletion (``PendingDeletion`` or ``PendingReplicaDeletion``) or gone.

    "Gone" (NotFoundException) counts only once the key has been seen by an earlier poll:
    a key that is not found at the first poll raises that NotFoundException at once (a
    wrong key id or Region must not pass for a deleted key). ``missing_ok=True`` accepts a
    key already gone at the first poll.
    """
    from kms_mrk.arn import parse_key_identifier
    from kms_mrk.failover import describe_in_region

    ident = parse_key_identifier(key)
    if region is not None:
        _region(region, "region")
    where = region or ident.region or client.region
    target = _key_in_region(key, where) if ident.is_multi_region and ident.is_arn else key
    checked = client.for_region(where)
    seen = [False]

    def probe() -> RegionalKey:
        state = describe_in_region(checked, target)
        if state.error is None:
            seen[0] = True
        elif state.error == "not_found" and not seen[0] and not missing_ok:
            if state.exception is not None:
                raise state.exception
            raise KmsMrkError(f"{_short(key)} was not found in {where}")
        return state

    return poll_until(
        probe,
        lambda k: (
            k.error == "not_found" or k.key_state in ("PendingDeletion", "PendingReplicaDeletion")
        ),
        what=f"{_short(key)} in {where} to be pending deletion",
        describe=lambda k: k.summary(),
        config=config,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda k: _raise_untolerated([k]),
    )


def _region(region: object, argument: str) -> str:
    from kms_mrk.failover import check_region

    return check_region(region, argument)


def _key_in_region(key: str, region: str) -> str:
    """``key`` (a multi-Region key id or ARN) as it is named in ``region``."""
    from kms_mrk.arn import InvalidKeyIdentifierError, arn_in_region, parse_key_identifier

    ident = parse_key_identifier(key)
    if ident.arn is not None:
        return arn_in_region(ident.arn, region)
    if ident.is_multi_region and ident.key_id is not None:
        return ident.key_id
    raise InvalidKeyIdentifierError(
        key,
        "a waiter that reads several Regions needs a multi-Region key id (mrk-...) or key ARN; "
        "an alias or a single-Region key id names a key in one Region only",
    )


def _short(key: str) -> str:
    return key.rsplit("/", 1)[-1] if key.startswith("arn:") else key
