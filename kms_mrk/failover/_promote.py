"""promote(): move the primary of one multi-Region key to another Region, and know it is done.

Steps: preflight (every failed check named, :class:`PreflightError`), then UpdatePrimaryRegion
sent to the current primary's Region, then a wait until both Regions confirm the change.
Promoting to the Region that already holds the primary is a successful no-op (it waits for
a change still in progress), so a script can be rerun safely.

UpdatePrimaryRegion is never resent blindly: it is sent with one attempt (the client's retry
layer does not resend it), and when it fails in a way that leaves the outcome
unknown (a connection lost after sending, a 5xx, or KMS saying the key is no longer the
primary), the key is read again: if the primary is already in the target Region, the
request took effect and the promotion carries on; otherwise the error is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, overload

import attrs

from kms_mrk.errors import ConfigurationError, KmsMrkError
from kms_mrk.failover._preflight import (
    PreflightCheck,
    PreflightError,
    PreflightResult,
    run_preflight_steps,
)
from kms_mrk.failover._steps import Flow, is_async_client, run_async, run_sync
from kms_mrk.failover._view import KeyView, read_view_steps
from kms_mrk.waiters import WaiterConfig, WaiterTimeoutError, WaitResult, poll_flow

if TYPE_CHECKING:
    import random

    from kms_mrk import AsyncKMSClient, KMSClient
    from kms_mrk.failover._calls import Caller

__all__ = ["PromotionReport", "promote"]

DEFAULT_TIMEOUT = 300.0


@attrs.frozen(slots=True, kw_only=True)
class PromotionReport:
    """What :func:`promote` did.

    ``status`` is ``promoted`` (sent and confirmed), ``sent`` (sent, not waited for),
    ``already_primary`` (nothing to do) or ``dry_run`` (checks passed, nothing sent).
    ``before`` and ``after`` are the key as read before and after; ``request_id`` and
    ``attempts`` describe the UpdatePrimaryRegion call; ``elapsed`` is the whole time and
    ``wait_seconds``/``polls``/``states`` describe the wait (``states`` lists each distinct
    state seen, ``Updating`` included when a poll caught it).
    """

    key_id: str
    arn: str | None
    from_region: str | None
    to_region: str
    status: str
    before: KeyView | None
    after: KeyView | None = None
    request_id: str | None = None
    attempts: int = 0
    elapsed: float = 0.0
    wait_seconds: float = 0.0
    polls: int = 0
    states: tuple[str, ...] = ()
    note: str | None = None

    @property
    def changed(self) -> bool:
        """Whether this call sent UpdatePrimaryRegion (and KMS accepted it)."""
        return self.status in ("promoted", "sent")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``result`` of ``kms-mrk failover --output json``)."""
        return {
            "key_id": self.key_id,
            "arn": self.arn,
            "from_region": self.from_region,
            "to_region": self.to_region,
            "status": self.status,
            "changed": self.changed,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "elapsed_seconds": round(self.elapsed, 3),
            "wait_seconds": round(self.wait_seconds, 3),
            "polls": self.polls,
            "states": list(self.states),
            "note": self.note,
            "before": self.before.to_dict() if self.before is not None else None,
            "after": self.after.to_dict() if self.after is not None else None,
        }


def check_timeout(timeout: object, field: str = "timeout") -> float:
    """``timeout`` as a float, or ConfigurationError naming the rule."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout < float("inf")
    ):
        raise ConfigurationError(f"{field} must be a number of seconds >= 0; got {timeout!r}")
    return float(timeout)


def settled_everywhere(view: KeyView, to_region: str) -> bool:
    """``to_region`` is PRIMARY and every other Region read is a REPLICA naming it; no
    Region is ``Updating`` and every Region answered."""
    if not view.regions or any(not r.ok for r in view.regions):
        return False
    for regional in view.regions:
        role = "PRIMARY" if regional.region == to_region else "REPLICA"
        if (
            regional.role != role
            or regional.primary_region != to_region
            or regional.key_state in (None, "Updating", "Creating")
        ):
            return False
    return True


@attrs.define(slots=True, kw_only=True)
class Timing:
    """Waiting knobs shared by promote(), run() and drill()."""

    wait: bool = True
    timeout: float = DEFAULT_TIMEOUT
    config: WaiterConfig | None = None
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random | None = None
    on_poll: Callable[[KeyView], None] | None = None


def promote_with(
    caller: Caller,
    key: str,
    to_region: str,
    timing: Timing,
    *,
    regions: Sequence[str] | None = None,
    dry_run: bool = False,
    before_send: Callable[[PreflightResult], None] | None = None,
    expected_from: str | None = None,
) -> PromotionReport:
    """The body of :func:`promote`, on a :class:`Caller` (run() adds a journal hook).

    With ``expected_from``, a primary found in a third Region fails the check
    ``primary_elsewhere`` (a fleet run moves only keys whose primary is where it planned).
    """
    flow = promote_steps(
        caller,
        key,
        to_region,
        timing,
        regions=regions,
        dry_run=dry_run,
        before_send=before_send,
        expected_from=expected_from,
    )
    return run_sync(flow, timing.sleep)


def promote_steps(
    caller: Caller,
    key: str,
    to_region: str,
    timing: Timing,
    *,
    regions: Sequence[str] | None = None,
    dry_run: bool = False,
    before_send: Callable[[PreflightResult], None] | None = None,
    expected_from: str | None = None,
) -> Flow[PromotionReport]:
    """:func:`promote_with` as a flow (see :mod:`kms_mrk.failover._steps`): the one body of
    the sync and async :func:`promote`."""
    clock = timing.clock
    started = clock()
    check = yield from run_preflight_steps(caller, key, to_region, regions)
    view = check.view
    if (
        expected_from is not None
        and view is not None
        and view.primary_region not in (None, expected_from, to_region)
    ):
        extra = PreflightCheck(
            "primary_elsewhere",
            f"the primary is in {view.primary_region}, not {expected_from} as planned",
        )
        check = attrs.evolve(check, failures=(*check.failures, extra), already_primary=False)
    if check.failures or view is None:
        raise PreflightError(check)
    from_region = view.primary_region
    arn = view.arn
    key_id = view.key_id
    read_regions = [r.region for r in view.regions if r.ok]

    def report(status: str, **fields: Any) -> PromotionReport:
        return PromotionReport(
            key_id=key_id,
            arn=arn,
            from_region=from_region,
            to_region=to_region,
            status=status,
            before=view,
            elapsed=clock() - started,
            **fields,
        )

    if check.already_primary:
        if not view.updating or not timing.wait:
            return report("already_primary", after=view, note="the primary is already there")
        waited = yield from wait_for_change_steps(
            caller, arn or key, to_region, read_regions, timing, note=None, sent=False
        )
        return report(
            "already_primary",
            after=waited.value,
            wait_seconds=waited.elapsed,
            polls=waited.attempts,
            states=waited.states,
            note="the primary was already moving there; waited for the change to finish",
        )
    if dry_run:
        return report("dry_run", note="every check passed; nothing was sent")
    if from_region is None or arn is None:  # evaluate() fails such a view; never reached
        raise KmsMrkError(f"cannot promote {key}: its primary Region or ARN is unknown")
    if before_send is not None:
        before_send(check)
    request_id, attempts, note = yield from _send_steps(caller, arn, from_region, to_region)
    if not timing.wait:
        return report("sent", request_id=request_id, attempts=attempts, note=note)
    accepted = (
        f"UpdatePrimaryRegion was accepted (request id {request_id or 'unknown'}): the primary "
        f"is moving to {to_region}; check again with `kms-mrk status {arn}`"
    )
    waited = yield from wait_for_change_steps(
        caller,
        arn,
        to_region,
        [to_region, from_region],
        timing,
        note=accepted,
        sent=True,
        request_id=request_id,
    )
    return report(
        "promoted",
        after=waited.value,
        request_id=request_id,
        attempts=attempts,
        wait_seconds=waited.elapsed,
        polls=waited.attempts,
        states=waited.states,
        note=note,
    )


def _send_steps(
    caller: Caller, arn: str, from_region: str, to_region: str
) -> Flow[tuple[str | None, int, str | None]]:
    from kms_mrk import UpdatePrimaryRegionCommand

    command = UpdatePrimaryRegionCommand(key_id=arn, primary_region=to_region)
    try:
        # Never resent by the client's retry layer: an attempt that failed may have taken
        # effect, so the key is read first (below) and the decision made on what it says.
        response = yield from caller.send_steps(from_region, command, max_attempts=1)
    except KmsMrkError as error:
        if isinstance(error, ValueError):
            raise
        # The outcome may be unknown: look before concluding anything.
        recheck = yield from read_view_steps(caller, arn, [to_region, from_region])
        reported = {r.primary_region for r in recheck.regions if r.ok}
        if reported == {to_region}:
            return (
                None,
                error.metadata.attempts if error.metadata else 1,
                f"UpdatePrimaryRegion answered {_describe(error)}, but both Regions already "
                f"name {to_region} as the primary: the change took effect",
            )
        raise
    return response.metadata.request_id, response.metadata.attempts, None


def _describe(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return str(code) if code else type(error).__name__


def wait_for_change(
    caller: Caller,
    key: str,
    to_region: str,
    regions: Sequence[str],
    timing: Timing,
    *,
    note: str | None,
    sent: bool | None = None,
    request_id: str | None = None,
) -> Any:
    """Poll ``regions`` until :func:`settled_everywhere`; a timeout carries ``note``,
    ``sent`` and ``request_id`` (what the caller did before waiting)."""
    flow = wait_for_change_steps(
        caller, key, to_region, regions, timing, note=note, sent=sent, request_id=request_id
    )
    return run_sync(flow, timing.sleep)


def wait_for_change_steps(
    caller: Caller,
    key: str,
    to_region: str,
    regions: Sequence[str],
    timing: Timing,
    *,
    note: str | None,
    sent: bool | None = None,
    request_id: str | None = None,
) -> Flow[WaitResult[KeyView]]:
    """:func:`wait_for_change` as a flow."""
    from kms_mrk.failover._waiters import TOLERATED_ERRORS

    def check(view: KeyView) -> None:
        for regional in view.regions:
            if regional.error is not None and regional.error not in TOLERATED_ERRORS:
                if regional.exception is not None:
                    raise regional.exception
                raise KmsMrkError(f"{regional.region}: {regional.error}")

    wanted = list(dict.fromkeys([to_region, *regions]))
    try:
        return (
            yield from poll_flow(
                lambda: read_view_steps(caller, key, wanted),
                lambda v: settled_everywhere(v, to_region),
                what=f"the primary of {key.rsplit('/', 1)[-1]} to be in {to_region}, "
                f"confirmed from {' and '.join(wanted)}",
                describe=lambda v: v.summary(),
                config=timing.config,
                timeout=timing.timeout,
                clock=timing.clock,
                rng=timing.rng,
                on_poll=timing.on_poll,
                check=check,
            )
        )
    except WaiterTimeoutError as error:
        raise WaiterTimeoutError(
            error.what,
            timeout=error.timeout,
            elapsed=error.elapsed,
            attempts=error.attempts,
            last_state=error.last_state,
            last_state_text=error.last_state_text,
            note=note,
            sent=sent,
            request_id=request_id,
        ) from None


@overload
def promote(
    client: KMSClient,
    key: str,
    to_region: str,
    *,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    dry_run: bool = False,
    config: WaiterConfig | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> PromotionReport: ...


@overload
def promote(
    client: AsyncKMSClient,
    key: str,
    to_region: str,
    *,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    dry_run: bool = False,
    config: WaiterConfig | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> Coroutine[Any, Any, PromotionReport]: ...


def promote(
    client: KMSClient | AsyncKMSClient,
    key: str,
    to_region: str,
    *,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    dry_run: bool = False,
    config: WaiterConfig | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
) -> PromotionReport | Coroutine[Any, Any, PromotionReport]:
    """Make ``to_region`` the primary Region of multi-Region key ``key``.

    ``key`` is a key id, key ARN, alias name or alias ARN (looked up in the ARN's Region,
    else the client's). Checks first and raises :class:`PreflightError` naming every failed
    check; sends UpdatePrimaryRegion to the current primary's Region; with ``wait`` (the
    default) waits up to ``timeout`` seconds until both Regions confirm, else raises
    :class:`~kms_mrk.waiters.WaiterTimeoutError` with the last state seen (and ``sent``,
    ``request_id``: whether this call sent the change). ``dry_run`` runs the checks only.
    A malformed ``key`` or ``to_region`` raises before any I/O. ``sleep``, ``clock`` and
    ``rng`` drive the wait (inject them in tests); ``on_poll`` sees each state read while
    waiting.

    With an :class:`~kms_mrk.AsyncKMSClient` it returns a coroutine: ``await promote(...)``
    runs the same steps and decisions on the event loop (``sleep`` defaults to
    :func:`asyncio.sleep`; a plain function is called without waiting). Bad arguments
    raise at the call, before anything is awaited.
    """
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._regions import check_region
    from kms_mrk.failover._view import identify

    check_region(to_region, "to_region")  # before any I/O
    identify(key)
    is_async = is_async_client(client)
    if sleep is None and not is_async:
        sleep = time.sleep
    timing = Timing(
        wait=wait,
        timeout=check_timeout(timeout),
        config=config,
        sleep=sleep if sleep is not None else _no_sleep,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
    )
    caller = Caller(client, sleep=timing.sleep, rng=rng)
    flow = promote_steps(caller, key, to_region, timing, dry_run=dry_run)
    if is_async:
        return run_async(flow, sleep)
    return run_sync(flow, timing.sleep)


def _no_sleep(seconds: float) -> None:
    """Placeholder: an async flow's pauses are taken by its driver, never by this."""
    raise AssertionError("an async flow's sleep is the driver's")
