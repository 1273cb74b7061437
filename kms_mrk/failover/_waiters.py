"""The multi-Region waiters: poll KMS until a key reaches a state, with backoff and a deadline.

UpdatePrimaryRegion and ReplicateKey return at once while the change completes seconds later;
these functions wait for it, so a script knows for certain when the work is done::

    client.update_primary_region(key_id=arn, primary_region="eu-west-1")
    wait_for_primary_region(client, arn, "eu-west-1", previous_region="us-east-1")

Three waiters come ready-made (exported from ``kms_mrk`` and ``kms_mrk.failover``):

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

Each takes a ``KMSClient`` (and returns the result) or an ``AsyncKMSClient`` (and returns a
coroutine: ``await wait_for_primary_region(async_client, ...)``), the way aiobotocore's
waiters and the JavaScript SDK's ``waitUntil...`` functions keep the names of the sync ones.
Both run the same flow (:mod:`kms_mrk.failover._steps`): only the driver differs.

They run on the generic engine :func:`kms_mrk.waiters.poll_flow` (pacing with
:class:`~kms_mrk.waiters.WaiterConfig`, :class:`~kms_mrk.waiters.WaiterTimeoutError` with the
last state on timeout; ``sleep``, ``clock`` and ``rng`` injectable).

Polls read keys with DescribeKey through :func:`describe_in_region` and the toolkit's views,
which record a throttled, unreachable or missing Region in the state rather than raising:
such a poll simply does not satisfy the condition, and the wait goes on (the client's own
retries have already been spent on it). Errors that waiting cannot cure (access denied, an
invalid key) end the wait at once with that error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from kms_mrk.arn import InvalidKeyIdentifierError, arn_in_region, parse_key_identifier
from kms_mrk.errors import KmsMrkError
from kms_mrk.failover._calls import Caller
from kms_mrk.failover._regions import check_region
from kms_mrk.failover._steps import Flow, is_async_client, run_async, run_sync
from kms_mrk.failover._view import (
    KeyView,
    RegionalKey,
    read_around_steps,
    read_regional_steps,
    read_view_steps,
)
from kms_mrk.waiters import WaiterConfig, WaitResult, poll_flow

if TYPE_CHECKING:
    import random

    from kms_mrk import AsyncKMSClient, KMSClient

T = TypeVar("T")

__all__ = [
    "TOLERATED_ERRORS",
    "is_primary_change_complete",
    "wait_for_pending_deletion",
    "wait_for_primary_region",
    "wait_for_replica_created",
]

#: ``RegionalKey.error`` values a wait polls through; any other error ends the wait.
TOLERATED_ERRORS = frozenset({"not_found", "unreachable", "throttled", "unavailable"})


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
#
# Each waiter checks its arguments (before any I/O), builds its flow on the generic engine
# (kms_mrk.waiters.poll_flow, probing with the view's read flows) and hands it to the driver
# that fits the client: an AsyncKMSClient gets a coroutine to await, a KMSClient the result.


def _finish(client: object, flow: Flow[T], sleep: Callable[[float], object] | None) -> Any:
    if is_async_client(client):
        return run_async(flow, sleep)
    return run_sync(flow, sleep if sleep is not None else time.sleep)


@overload
def wait_for_replica_created(
    client: KMSClient,
    key: str,
    region: str,
    *,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey]: ...


@overload
def wait_for_replica_created(
    client: AsyncKMSClient,
    key: str,
    region: str,
    *,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> Coroutine[Any, Any, WaitResult[RegionalKey]]: ...


def wait_for_replica_created(
    client: KMSClient | AsyncKMSClient,
    key: str,
    region: str,
    *,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey] | Coroutine[Any, Any, WaitResult[RegionalKey]]:
    """Wait until the replica of ``key`` in ``region`` has left ``Creating``.

    ``key`` is a multi-Region key id or key ARN (of any Region). A replica that KMS does not
    show yet (NotFoundException right after ReplicateKey) is waited for too. With an
    ``AsyncKMSClient``, returns a coroutine (``await wait_for_replica_created(...)``).
    """
    target = _key_in_region(key, _region(region, "region"))
    caller = Caller(client.for_region(region), throttle_retries=0)
    flow = poll_flow(
        lambda: read_regional_steps(caller, region, target),
        lambda k: k.error is None and k.key_state not in (None, "Creating"),
        what=f"the replica of {_short(key)} in {region} to leave Creating",
        describe=lambda k: k.summary(),
        config=config,
        timeout=timeout,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda k: _raise_untolerated([k]),
    )
    return _finish(client, flow, sleep)  # type: ignore[no-any-return]


@overload
def wait_for_primary_region(
    client: KMSClient,
    key: str,
    primary_region: str,
    *,
    previous_region: str | None = None,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> WaitResult[KeyView]: ...


@overload
def wait_for_primary_region(
    client: AsyncKMSClient,
    key: str,
    primary_region: str,
    *,
    previous_region: str | None = None,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> Coroutine[Any, Any, WaitResult[KeyView]]: ...


def wait_for_primary_region(
    client: KMSClient | AsyncKMSClient,
    key: str,
    primary_region: str,
    *,
    previous_region: str | None = None,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> WaitResult[KeyView] | Coroutine[Any, Any, WaitResult[KeyView]]:
    """Wait until ``key``'s primary is in ``primary_region`` and the change is over.

    With ``previous_region`` (the Region of the primary before the change), each poll
    reads the key in those two Regions. Without it, each poll reads the key in
    ``primary_region`` and in every Region any answer lists (so the old primary, now a
    replica, is always among them), and every one of them must confirm: a Region that
    cannot be read keeps the wait going. See :func:`is_primary_change_complete`. ``key``
    is a multi-Region key id or key ARN. With an ``AsyncKMSClient``, returns a coroutine
    (``await wait_for_primary_region(...)``).
    """
    _key_in_region(key, _region(primary_region, "primary_region"))  # validate before any I/O
    if previous_region is not None:
        _region(previous_region, "previous_region")
    caller = Caller(client, throttle_retries=0)
    if previous_region is not None:
        regions = list(dict.fromkeys([primary_region, previous_region]))
        where = " and ".join(regions)

        def probe() -> Flow[KeyView]:
            return read_view_steps(caller, key, regions)

    else:
        known: list[str] = []
        where = "every Region of the key"

        def probe() -> Flow[KeyView]:
            view = yield from read_around_steps(caller, key, primary_region, known)
            known.extend(r.region for r in view.regions if r.region not in known)
            return view

    flow = poll_flow(
        probe,
        lambda v: is_primary_change_complete(v, primary_region, previous_region),
        what=f"the primary of {_short(key)} to be in {primary_region}, confirmed from {where}",
        describe=lambda v: v.summary(),
        config=config,
        timeout=timeout,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda v: _raise_untolerated(v.regions),
    )
    return _finish(client, flow, sleep)  # type: ignore[no-any-return]


@overload
def wait_for_pending_deletion(
    client: KMSClient,
    key: str,
    *,
    region: str | None = None,
    missing_ok: bool = False,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey]: ...


@overload
def wait_for_pending_deletion(
    client: AsyncKMSClient,
    key: str,
    *,
    region: str | None = None,
    missing_ok: bool = False,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> Coroutine[Any, Any, WaitResult[RegionalKey]]: ...


def wait_for_pending_deletion(
    client: KMSClient | AsyncKMSClient,
    key: str,
    *,
    region: str | None = None,
    missing_ok: bool = False,
    config: WaiterConfig | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[RegionalKey], None] | None = None,
) -> WaitResult[RegionalKey] | Coroutine[Any, Any, WaitResult[RegionalKey]]:
    """Wait until ``key`` in ``region`` (default: the ARN's, else the client's) is pending
    deletion (``PendingDeletion`` or ``PendingReplicaDeletion``) or gone.

    "Gone" (NotFoundException) counts only once the key has been seen by an earlier poll:
    a key that is not found at the first poll raises that NotFoundException at once (a
    wrong key id or Region must not pass for a deleted key). ``missing_ok=True`` accepts a
    key already gone at the first poll. With an ``AsyncKMSClient``, returns a coroutine.
    """
    ident = parse_key_identifier(key)
    if region is not None:
        _region(region, "region")
    where = region or ident.region or client.region
    target = _key_in_region(key, where) if ident.is_multi_region and ident.is_arn else key
    caller = Caller(client.for_region(where), throttle_retries=0)
    seen = [False]

    def probe() -> Flow[RegionalKey]:
        state = yield from read_regional_steps(caller, where, target)
        if state.error is None:
            seen[0] = True
        elif state.error == "not_found" and not seen[0] and not missing_ok:
            if state.exception is not None:
                raise state.exception
            raise KmsMrkError(f"{_short(key)} was not found in {where}")
        return state

    flow = poll_flow(
        probe,
        lambda k: (
            k.error == "not_found" or k.key_state in ("PendingDeletion", "PendingReplicaDeletion")
        ),
        what=f"{_short(key)} in {where} to be pending deletion",
        describe=lambda k: k.summary(),
        config=config,
        timeout=timeout,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
        check=lambda k: _raise_untolerated([k]),
    )
    return _finish(client, flow, sleep)  # type: ignore[no-any-return]


def _region(region: object, argument: str) -> str:
    return check_region(region, argument)


def _key_in_region(key: str, region: str) -> str:
    """``key`` (a multi-Region key id or ARN) as it is named in ``region``."""
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
