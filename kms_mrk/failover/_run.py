"""run(): carry out a plan across a fleet of keys, safely, resumably, within quotas.

Each key of the plan marked ``promote`` goes through :func:`kms_mrk.failover.promote`'s
steps (read both Regions and check, send UpdatePrimaryRegion, wait until both Regions
confirm) on a pool of ``concurrency`` threads, with every DescribeKey and
UpdatePrimaryRegion paced by one :class:`~kms_mrk.failover.RateLimiter` of ``rate`` calls per
second that slows down when KMS throttles (see ``kms_mrk.failover._calls`` for how this
stacks with the client's own retries). One key's failure is recorded and the others go on.

With a ``journal`` file, every step is written down before it is taken (see
:class:`~kms_mrk.failover.Journal`). Resuming an interrupted run (``resume=True``) with the
same journal:

- a key recorded ``done`` is read once (one DescribeKey in the target Region): if it is the
  primary there it counts as already promoted and is not touched again; if not (a damaged
  or forged record, or the key was moved back since) it is worked on like any other key;
- a key whose last record is ``intent`` (interrupted between sending and recording) is read
  with DescribeKey first: if its primary is already in the target Region it counts as
  promoted (after waiting for the change to finish) and UpdatePrimaryRegion is not sent
  again; if nothing changed, it is promoted normally;
- a key recorded ``failed`` is tried again (the cause may have been transient).

``stop`` (a :class:`threading.Event`) ends a run early and cleanly: keys already started
finish, the rest are reported ``not_started``. A ``KeyboardInterrupt`` (Ctrl-C) does the
same: the keys are worked on in threads while the calling thread only waits, so the
interrupt reaches the waiting thread, which stops new keys from starting, waits for the keys
in flight to finish (and be journaled), writes the ``end`` record and re-raises. A second
``KeyboardInterrupt`` while waiting stops at once; the keys then in flight keep their
``intent`` record, and a resumed run checks them before doing anything.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from kms_mrk.errors import ConfigurationError, KmsMrkError, ServiceException
from kms_mrk.failover._calls import Caller, RateLimiter
from kms_mrk.failover._journal import Journal, JournalError, JournalState
from kms_mrk.failover._plan import Plan, PlanItem, check_concurrency, check_regions
from kms_mrk.failover._preflight import PreflightError
from kms_mrk.failover._promote import Timing, check_timeout, promote_with
from kms_mrk.failover._view import read_view
from kms_mrk.waiters import WaiterConfig, WaiterTimeoutError

if TYPE_CHECKING:
    import random

    from kms_mrk import KMSClient

__all__ = ["KeyOutcome", "RunSummary", "run"]

DEFAULT_RATE: Final = 10.0
DEFAULT_CONCURRENCY: Final = 4

#: KeyOutcome.status values.
STATUSES: Final = ("promoted", "sent", "already_promoted", "skipped", "failed", "not_started")


@attrs.frozen(slots=True, kw_only=True)
class KeyOutcome:
    """What happened to one key of the plan.

    ``status``: ``promoted`` (sent and confirmed), ``sent`` (sent; the run did not wait),
    ``already_promoted`` (its primary was already in the target Region, or an earlier run
    recorded it done), ``skipped`` (the plan skipped it), ``failed`` or ``not_started`` (the
    run stopped first). ``reason`` is a short code (the plan's skip reason; ``preflight:``
    and the failed checks; ``timeout``; a KMS error code) and ``detail`` says it in words.
    ``recovered`` marks a key found already promoted after an interrupted run.
    """

    key_id: str
    arn: str | None
    status: str
    reason: str | None = None
    detail: str | None = None
    request_id: str | None = None
    elapsed: float = 0.0
    polls: int = 0
    recovered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "arn": self.arn,
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "request_id": self.request_id,
            "elapsed_seconds": round(self.elapsed, 3),
            "polls": self.polls,
            "recovered": self.recovered,
        }


@attrs.frozen(slots=True, kw_only=True)
class RunSummary:
    """The end of a fleet run: one :class:`KeyOutcome` per plan item, in plan order.

    ``ok`` is true when nothing failed and the run was not interrupted. ``stats`` counts the
    API calls made (by operation), the seconds spent inside them (``api_seconds``), the
    throttles that outlasted the client's retries and the seconds the rate cap waited.
    """

    from_region: str
    to_region: str
    outcomes: tuple[KeyOutcome, ...]
    elapsed: float
    interrupted: bool = False
    journal: str | None = None
    run_number: int = 1
    stats: dict[str, Any] = attrs.field(factory=dict)

    def _with(self, *statuses: str) -> tuple[KeyOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status in statuses)

    @property
    def promoted(self) -> tuple[KeyOutcome, ...]:
        """Keys this run promoted (or sent, without waiting)."""
        return self._with("promoted", "sent")

    @property
    def already_promoted(self) -> tuple[KeyOutcome, ...]:
        return self._with("already_promoted")

    @property
    def skipped(self) -> tuple[KeyOutcome, ...]:
        return self._with("skipped")

    @property
    def failed(self) -> tuple[KeyOutcome, ...]:
        return self._with("failed")

    @property
    def not_started(self) -> tuple[KeyOutcome, ...]:
        return self._with("not_started")

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_started and not self.interrupted

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            out[outcome.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``summary`` of ``kms-mrk failover-all --output json``)."""
        return {
            "from_region": self.from_region,
            "to_region": self.to_region,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "journal": self.journal,
            "run_number": self.run_number,
            "elapsed_seconds": round(self.elapsed, 3),
            "counts": self.counts(),
            "stats": self.stats,
            "keys": [o.to_dict() for o in self.outcomes],
        }


def _request_id_of(error: BaseException) -> str | None:
    value = getattr(error, "request_id", None)
    return value if isinstance(value, str) else None


def _reason_for(error: BaseException) -> str:
    if isinstance(error, PreflightError):
        return "preflight:" + ",".join(error.names)
    if isinstance(error, WaiterTimeoutError):
        return "timeout"
    if isinstance(error, ServiceException):
        return error.code
    return type(error).__name__


class _Runner:
    def __init__(
        self,
        caller: Caller,
        plan: Plan,
        timing: Timing,
        *,
        journal: Journal | None,
        state: JournalState,
        stop: threading.Event,
        on_outcome: Callable[[KeyOutcome], None] | None,
    ) -> None:
        self.caller = caller
        self.plan = plan
        self.timing = timing
        self.journal = journal
        self.state = state
        self.stop = stop
        self.on_outcome = on_outcome
        self._lock = threading.Lock()
        self.regions = [plan.from_region, plan.to_region]

    def settle(self, item: PlanItem) -> KeyOutcome | None:
        """The outcome known without any call, or None when the key needs work."""
        key_id = item.key_id
        if key_id in self.state.done:
            return None  # confirmed with one DescribeKey before it counts (see _confirm_done)
        pending = key_id in self.state.pending
        if item.action == "promote" or (
            pending and item.reason in ("already_in_target", "updating")
        ):
            return None
        if item.reason == "already_in_target":
            return KeyOutcome(
                key_id=key_id,
                arn=item.arn,
                status="already_promoted",
                reason=item.reason,
                detail=item.detail,
            )
        return KeyOutcome(
            key_id=key_id, arn=item.arn, status="skipped", reason=item.reason, detail=item.detail
        )

    def process(self, item: PlanItem) -> KeyOutcome:
        if self.stop.is_set():
            return KeyOutcome(key_id=item.key_id, arn=item.arn, status="not_started")
        started = self.timing.clock()
        try:
            outcome = self._promote(item, started)
        except JournalError:
            raise
        except KmsMrkError as error:
            outcome = self._failed(
                item, started, _reason_for(error), str(error), _request_id_of(error)
            )
        except Exception as error:  # one key's bug or surprise never stops the others
            outcome = self._failed(item, started, type(error).__name__, str(error) or repr(error))
        if self.on_outcome is not None:
            with self._lock:
                self.on_outcome(outcome)
        return outcome

    def _failed(
        self,
        item: PlanItem,
        started: float,
        reason: str,
        detail: str,
        request_id: str | None = None,
    ) -> KeyOutcome:
        if self.journal is not None:
            self.journal.failed(item.key_id, reason, detail, request_id=request_id)
        return KeyOutcome(
            key_id=item.key_id,
            arn=item.arn,
            status="failed",
            reason=reason,
            detail=detail,
            request_id=request_id,
            elapsed=self.timing.clock() - started,
        )

    def _confirm_done(self, item: PlanItem, started: float) -> KeyOutcome | None:
        """A key the journal records ``done``: one DescribeKey in the target Region must show
        it PRIMARY there before it counts; otherwise (a forged or stale record, or the key
        moved back since) it is worked on like any other key of the plan."""
        from kms_mrk.arn import arn_in_region
        from kms_mrk.failover._view import read_regional

        record = self.state.done[item.key_id]
        to_region = self.plan.to_region
        target = arn_in_region(item.arn, to_region) if item.arn else item.key_id
        regional = read_regional(self.caller, to_region, target)
        if regional.error is None and regional.role == "PRIMARY":
            run_number = record.get("run", "?")
            return KeyOutcome(
                key_id=item.key_id,
                arn=item.arn,
                status="already_promoted",
                reason="journal",
                detail=f"recorded done by run {run_number} of the journal; DescribeKey in "
                f"{to_region} confirms it is the primary there",
                request_id=record.get("request_id"),
                elapsed=self.timing.clock() - started,
            )
        if item.action == "promote":
            return None
        return KeyOutcome(  # the plan's own verdict for it
            key_id=item.key_id,
            arn=item.arn,
            status="skipped",
            reason=item.reason,
            detail=item.detail,
        )

    def _promote(self, item: PlanItem, started: float) -> KeyOutcome:
        key = item.arn or item.key_id
        to_region = self.plan.to_region
        if item.key_id in self.state.done:
            confirmed = self._confirm_done(item, started)
            if confirmed is not None:
                return confirmed
        if item.key_id in self.state.pending:
            recovered = self._recover(item, key, started)
            if recovered is not None:
                return recovered
        journal = self.journal

        def before_send(_check: object) -> None:
            if journal is not None:
                journal.intent(item.key_id, item.arn, to_region=to_region)

        report = promote_with(
            self.caller,
            key,
            to_region,
            self.timing,
            regions=self.regions,
            before_send=before_send,
            expected_from=self.plan.from_region,
        )
        status = {"promoted": "promoted", "sent": "sent"}.get(report.status, "already_promoted")
        if journal is not None:
            journal.done(item.key_id, request_id=report.request_id, status=status)
        return KeyOutcome(
            key_id=item.key_id,
            arn=item.arn,
            status=status,
            reason=None if status != "already_promoted" else "already_in_target",
            detail=report.note,
            request_id=report.request_id,
            elapsed=self.timing.clock() - started,
            polls=report.polls,
        )

    def _recover(self, item: PlanItem, key: str, started: float) -> KeyOutcome | None:
        """An ``intent`` without outcome: promoted already, or never took effect?"""
        from kms_mrk.failover._promote import settled_everywhere

        view = read_view(self.caller, key, self.regions)
        if view.primary_region != self.plan.to_region:
            return None  # the request never took effect: promote it normally
        polls = 0
        if self.timing.wait and not settled_everywhere(view, self.plan.to_region):
            from kms_mrk.failover._promote import wait_for_change

            waited = wait_for_change(
                self.caller, key, self.plan.to_region, self.regions, self.timing, note=None
            )
            polls = waited.attempts
        detail = "an interrupted run had sent UpdatePrimaryRegion; DescribeKey confirms it"
        if self.journal is not None:
            self.journal.done(item.key_id, recovered=True, status="promoted")
        return KeyOutcome(
            key_id=item.key_id,
            arn=item.arn,
            status="promoted",
            reason="recovered",
            detail=detail,
            elapsed=self.timing.clock() - started,
            polls=polls,
            recovered=True,
        )


def run(
    client: KMSClient,
    plan: Plan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = DEFAULT_RATE,
    journal: str | os.PathLike[str] | Journal | None = None,
    resume: bool = False,
    wait: bool = True,
    timeout: float = 300.0,
    config: WaiterConfig | None = None,
    stop: threading.Event | None = None,
    on_outcome: Callable[[KeyOutcome], None] | None = None,
    on_interrupt: Callable[[int], None] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    fsync: bool = True,
) -> RunSummary:
    """Carry out ``plan``: promote every key it marks ``promote``; return the summary.

    ``concurrency`` keys are worked on at once; ``rate`` caps DescribeKey and
    UpdatePrimaryRegion calls per second (None: no cap) and adapts to throttling.
    ``journal`` records every step: a file path (opened here; ``resume=True`` continues
    the run it records, and without it an existing, non-empty journal is refused with
    :class:`JournalError`), or a :class:`Journal` already opened with :meth:`Journal.open`
    for the plan's Regions (``resume`` is then the opener's business; the caller closes
    it). Opening the journal before planning finds its problems before the fleet is read.
    ``wait`` and ``timeout`` apply to each key. ``on_outcome`` is called (one call at a
    time) with every key's outcome: first those known without any call (skipped by the
    plan, done in the journal), then each key as it finishes. ``on_interrupt`` is told, on
    the first Ctrl-C, how many keys are in flight (and will be finished).
    ``sleep``, ``clock`` and ``rng`` drive every wait and backoff (inject them in tests);
    ``fsync=False`` trades the journal's durability for speed (benchmarks only).
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a Plan (from kms_mrk.failover.plan()); got {plan!r}")
    check_regions(plan.from_region, plan.to_region)
    _check_unique(plan)
    workers = check_concurrency(concurrency)
    limit = check_timeout(timeout)
    limiter = None if rate is None else RateLimiter(rate, clock=clock, sleep=sleep)
    caller = Caller(client, limiter=limiter, sleep=sleep, rng=rng)
    timing = Timing(wait=wait, timeout=limit, config=config, sleep=sleep, clock=clock, rng=rng)
    info = {"plan_keys": len(plan.items), "to_promote": len(plan.to_promote)}
    opened: Journal | None = None
    owned = False
    if isinstance(journal, Journal):
        if (journal.from_region, journal.to_region) != (plan.from_region, plan.to_region):
            raise JournalError(
                journal.path,
                "mismatch",
                f"it was opened for a run from {journal.from_region} to {journal.to_region}, "
                f"not {plan.from_region} to {plan.to_region}",
            )
        opened = journal
        opened.begin(**info)
    elif journal is not None:
        opened = Journal.open(
            journal,
            from_region=plan.from_region,
            to_region=plan.to_region,
            resume=resume,
            fsync=fsync,
            info=info,
        )
        owned = True
    state = opened.state if opened is not None else JournalState()
    runner = _Runner(
        caller,
        plan,
        timing,
        journal=opened,
        state=state,
        stop=stop if stop is not None else threading.Event(),
        on_outcome=on_outcome,
    )
    started = clock()
    outcomes: list[KeyOutcome | None] = [None] * len(plan.items)
    try:
        work: list[int] = []
        for index, item in enumerate(plan.items):
            settled = runner.settle(item)
            if settled is None:
                work.append(index)
            else:
                outcomes[index] = settled
                if on_outcome is not None:
                    on_outcome(settled)
        _execute(runner, plan.items, work, outcomes, workers, on_interrupt)
    except BaseException:
        runner.stop.set()
        _finish(opened, outcomes, interrupted=True, close=owned)
        raise
    interrupted = any(o is None or o.status == "not_started" for o in outcomes)
    final = tuple(
        o
        if o is not None
        else KeyOutcome(key_id=plan.items[i].key_id, arn=plan.items[i].arn, status="not_started")
        for i, o in enumerate(outcomes)
    )
    _finish(opened, final, interrupted=interrupted, close=owned)
    stats = caller.stats()
    stats["rate_limit_wait_seconds"] = round(limiter.waited, 6) if limiter is not None else 0.0
    stats["journal_records"] = opened.records_written if opened is not None else 0
    return RunSummary(
        from_region=plan.from_region,
        to_region=plan.to_region,
        outcomes=final,
        elapsed=clock() - started,
        interrupted=interrupted,
        journal=str(opened.path) if opened is not None else None,
        run_number=opened.run if opened is not None else 1,
        stats=stats,
    )


def _check_unique(plan: Plan) -> None:
    seen: set[str] = set()
    for item in plan.items:
        if item.key_id in seen:
            raise ConfigurationError(f"plan lists key {item.key_id} more than once")
        seen.add(item.key_id)


def _execute(
    runner: _Runner,
    items: Sequence[PlanItem],
    work: list[int],
    outcomes: list[KeyOutcome | None],
    workers: int,
    on_interrupt: Callable[[int], None] | None = None,
) -> None:
    """Work on ``work`` (indexes into ``items``) in ``workers`` threads; wait for them here.

    Keys are always worked on in threads, even one at a time, so that the calling thread
    does nothing but wait: a Ctrl-C lands there, never in the middle of a key. The wait
    ends when every key is done, or when the run is stopping (Ctrl-C, ``stop``, a worker's
    crash) and no key is in flight any more. The queue, the count of keys in flight and
    the ``stop`` check that admits a key are all under one condition, so after ``stop`` is
    set under it no key can start. A BaseException in a worker (a crash, a journal failure)
    stops new keys and is raised here once the keys in flight are finished.
    """
    if not work:
        return
    queue = iter(work)
    total = len(work)
    changed = threading.Condition()
    failures: list[BaseException] = []
    counts = {"in_flight": 0, "finished": 0, "open": 1}
    stop = runner.stop

    def worker() -> None:
        try:
            while True:
                with changed:
                    # "open" is cleared when the wait below ends: a thread that only gets
                    # going afterwards (its start was interrupted) takes no key.
                    admit = counts["open"] and not stop.is_set()
                    index = next(queue, None) if admit else None
                    if index is None:
                        return
                    counts["in_flight"] += 1
                try:
                    outcomes[index] = runner.process(items[index])
                except BaseException as error:
                    with changed:
                        failures.append(error)
                        stop.set()
                    return
                finally:
                    with changed:
                        counts["in_flight"] -= 1
                        counts["finished"] += 1
                        if over():  # wake the waiting thread only when it may return
                            changed.notify_all()
        finally:
            with changed:
                changed.notify_all()

    def over() -> bool:
        if counts["finished"] == total:
            return True
        return stop.is_set() and counts["in_flight"] == 0

    wanted = min(workers, total)
    launched = 0
    interrupted = False
    try:
        while True:
            try:
                while launched < wanted and not stop.is_set():
                    launched += 1
                    name = f"kms-mrk-run-{launched}"
                    try:
                        threading.Thread(target=worker, name=name, daemon=True).start()
                    except Exception:  # no more threads: go on with those already running
                        launched -= 1
                        if not launched:
                            raise
                        wanted = launched
                with changed:
                    while not over():
                        changed.wait()
                break
            except KeyboardInterrupt:
                if interrupted:
                    raise  # a second Ctrl-C: stop waiting for the keys in flight
                interrupted = True
                with changed:
                    stop.set()
                    flying = counts["in_flight"]
                if on_interrupt is not None:
                    on_interrupt(flying)
    finally:
        with changed:
            counts["open"] = 0
    if failures:
        raise failures[0]
    if interrupted:
        raise KeyboardInterrupt


def _finish(
    journal: Journal | None,
    outcomes: Sequence[KeyOutcome | None],
    *,
    interrupted: bool,
    close: bool,
) -> None:
    if journal is None:
        return
    counts: dict[str, int] = {}
    for outcome in outcomes:
        status = outcome.status if outcome is not None else "not_started"
        counts[status] = counts.get(status, 0) + 1
    try:
        journal.write("end", counts=counts, interrupted=interrupted)
    except JournalError:
        pass  # the run's own error (if any) is the one to report
    finally:
        if close:
            journal.close()
