"""run(): a fleet failover that survives interruption, throttling and per-key failures."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kms_mrk import KMSClient
from kms_mrk.errors import ConfigurationError
from kms_mrk.failover import (
    Journal,
    JournalError,
    KeyOutcome,
    Plan,
    plan,
    read_journal,
    run,
)
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS, ManualClock
from kms_mrk.transport import HttpRequest
from tests.failover._support import (
    SOURCE,
    TARGET,
    CountingTransport,
    Crash,
    make_client,
    make_fleet,
)


def _run(client: KMSClient, clock: ManualClock, the_plan: Plan, **options: object) -> object:
    options.setdefault("rate", None)
    return run(client, the_plan, sleep=clock.advance, clock=clock, **options)  # type: ignore[arg-type]


def _promoted_exactly_once(transport: CountingTransport, keys: list[str]) -> None:
    counts = transport.update_counts()
    assert counts == dict.fromkeys(keys, 1), counts


def _primaries(client: KMSClient, keys: list[str]) -> set[str | None]:
    east = client.for_region(SOURCE)
    regions = set()
    for key_id in keys:
        metadata = east.describe_key(key_id=key_id).key_metadata
        assert metadata is not None
        assert metadata.multi_region_configuration is not None
        assert metadata.multi_region_configuration.primary_key is not None
        regions.add(metadata.multi_region_configuration.primary_key.region)
    return regions


def test_run_promotes_every_key_and_journals_each_step(
    client: KMSClient, clock: ManualClock, transport: CountingTransport, tmp_path: Path
) -> None:
    keys = make_fleet(client, clock, 6)
    journal = tmp_path / "failover.jsonl"
    summary = run(
        client,
        plan(client, SOURCE, TARGET),
        journal=journal,
        concurrency=3,
        rate=None,
        sleep=clock.advance,
        clock=clock,
    )
    assert summary.ok
    assert summary.counts()["promoted"] == 6
    assert [o.key_id for o in summary.outcomes] == keys
    assert all(o.request_id for o in summary.outcomes)
    _promoted_exactly_once(transport, keys)
    assert _primaries(client, keys) == {TARGET}

    records = read_journal(journal)
    assert records[0]["type"] == "start"
    assert records[0]["from_region"] == SOURCE
    assert records[-1]["type"] == "end"
    assert records[-1]["counts"]["promoted"] == 6
    for key_id in keys:
        steps = [r["type"] for r in records if r.get("key_id") == key_id]
        assert steps == ["intent", "done"]
    assert summary.stats["journal_records"] == len(records)
    assert summary.stats["calls_by_operation"]["UpdatePrimaryRegion"] == 6


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("replan", [False, True], ids=["same-plan", "fresh-plan"])
def test_interrupted_run_resumes_promoting_each_key_exactly_once(
    client: KMSClient,
    clock: ManualClock,
    transport: CountingTransport,
    tmp_path: Path,
    concurrency: int,
    replan: bool,
) -> None:
    keys = make_fleet(client, clock, 12)
    journal = tmp_path / "failover.jsonl"
    first_plan = plan(client, SOURCE, TARGET)
    transport.crash_after_updates = 5
    with pytest.raises(Crash):
        _run(client, clock, first_plan, journal=journal, concurrency=concurrency)
    transport.crash_after_updates = None
    crashed_on = transport.updates[4].rsplit("/", 1)[-1]
    records = read_journal(journal)
    assert [r["type"] for r in records if r.get("key_id") == crashed_on] == ["intent"]

    second_plan = plan(client, SOURCE, TARGET) if replan else first_plan
    summary = _run(
        client, clock, second_plan, journal=journal, resume=True, concurrency=concurrency
    )

    assert summary.ok  # type: ignore[attr-defined]
    _promoted_exactly_once(transport, keys)
    assert _primaries(client, keys) == {TARGET}
    outcomes = {o.key_id: o for o in summary.outcomes}  # type: ignore[attr-defined]
    assert set(outcomes) == set(keys)
    assert outcomes[crashed_on].recovered
    assert outcomes[crashed_on].status == "promoted"
    assert summary.run_number == 2  # type: ignore[attr-defined]
    done = {r["key_id"] for r in read_journal(journal) if r["type"] == "done"}
    assert done == set(keys)


def test_stop_event_ends_the_run_cleanly_and_resume_finishes_it(
    client: KMSClient, clock: ManualClock, transport: CountingTransport, tmp_path: Path
) -> None:
    keys = make_fleet(client, clock, 8)
    journal = tmp_path / "j.jsonl"
    the_plan = plan(client, SOURCE, TARGET)
    stop = threading.Event()
    finished: list[KeyOutcome] = []

    def on_outcome(outcome: KeyOutcome) -> None:
        finished.append(outcome)
        if len(finished) == 3:
            stop.set()

    first = run(
        client,
        the_plan,
        journal=journal,
        stop=stop,
        on_outcome=on_outcome,
        concurrency=1,
        rate=None,
        sleep=clock.advance,
        clock=clock,
    )
    assert first.interrupted
    assert not first.ok
    assert first.counts()["promoted"] == 3
    assert first.counts()["not_started"] == 5

    second = _run(client, clock, the_plan, journal=journal, resume=True)
    assert second.ok  # type: ignore[attr-defined]
    counts = second.counts()  # type: ignore[attr-defined]
    assert counts["already_promoted"] == 3
    assert counts["promoted"] == 5
    _promoted_exactly_once(transport, keys)


def test_every_key_is_promoted_despite_30_percent_throttling(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    keys = make_fleet(client, clock, 20)
    the_plan = plan(client, SOURCE, TARGET)
    kms.faults = FaultInjector([FaultRule(error="ThrottlingException", rate=0.3)], seed=4)
    summary = _run(client, clock, the_plan, journal=tmp_path / "j.jsonl", concurrency=4, rate=20.0)
    assert summary.ok  # type: ignore[attr-defined]
    assert summary.counts()["promoted"] == 20  # type: ignore[attr-defined]
    assert kms.faults.fired[0] > 50  # throttling really happened, many times
    _promoted_exactly_once(transport, keys)


def test_one_key_failing_never_stops_the_others(
    client: KMSClient, clock: ManualClock, transport: CountingTransport, tmp_path: Path
) -> None:
    keys = make_fleet(client, clock, 5)
    the_plan = plan(client, SOURCE, TARGET)
    client.for_region(TARGET).disable_key(key_id=keys[2])  # changed after the plan was made
    journal = tmp_path / "j.jsonl"
    summary = _run(client, clock, the_plan, journal=journal, concurrency=2)
    assert not summary.ok  # type: ignore[attr-defined]
    outcomes = {o.key_id: o for o in summary.outcomes}  # type: ignore[attr-defined]
    assert outcomes[keys[2]].status == "failed"
    assert outcomes[keys[2]].reason == "preflight:target_not_enabled"
    assert sum(o.status == "promoted" for o in outcomes.values()) == 4
    assert keys[2] not in transport.update_counts()
    failed = [r for r in read_journal(journal) if r["type"] == "failed"]
    assert [r["key_id"] for r in failed] == [keys[2]]

    # Fixed and resumed: the failed key is tried again, the others are left alone.
    client.for_region(TARGET).enable_key(key_id=keys[2])
    again = _run(client, clock, the_plan, journal=journal, resume=True)
    assert again.ok  # type: ignore[attr-defined]
    _promoted_exactly_once(transport, keys)


def test_timeouts_are_reported_per_key_and_resume_does_not_resend(
    clock: ManualClock, tmp_path: Path
) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=600.0, seed=9)
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    keys = make_fleet(client, clock, 3)
    the_plan = plan(client, SOURCE, TARGET)
    journal = tmp_path / "j.jsonl"
    summary = _run(client, clock, the_plan, journal=journal, timeout=30, concurrency=1)
    assert [o.reason for o in summary.outcomes] == ["timeout"] * 3  # type: ignore[attr-defined]
    assert all("Updating" in (o.detail or "") for o in summary.outcomes)  # type: ignore[attr-defined]
    clock.advance(600)
    again = _run(client, clock, the_plan, journal=journal, resume=True)
    assert again.counts()["already_promoted"] == 3  # type: ignore[attr-defined]
    _promoted_exactly_once(transport, keys)


def test_threads_and_a_rate_cap(client: KMSClient, clock: ManualClock) -> None:
    keys = make_fleet(client, clock, 16)
    the_plan = plan(client, SOURCE, TARGET)
    start = clock()
    summary = run(client, the_plan, concurrency=8, rate=4.0, sleep=clock.advance, clock=clock)
    assert summary.ok
    calls = summary.stats["api_calls"]
    assert calls >= 16 * 3
    # At most 4 calls per second: the run took at least (calls - 1) / 4 seconds of model time.
    assert clock() - start >= (calls - 1) / 4.0
    assert summary.stats["rate_limit_wait_seconds"] > 0
    assert [o.key_id for o in summary.outcomes] == keys


def test_existing_journal_needs_resume_and_the_same_regions(
    client: KMSClient, clock: ManualClock, tmp_path: Path
) -> None:
    make_fleet(client, clock, 1)
    journal = tmp_path / "j.jsonl"
    the_plan = plan(client, SOURCE, TARGET)
    _run(client, clock, the_plan, journal=journal)
    with pytest.raises(JournalError) as exists:
        _run(client, clock, the_plan, journal=journal)
    assert exists.value.reason == "exists"
    assert "--resume" in str(exists.value)
    other = plan(client, SOURCE, "ap-southeast-2")
    with pytest.raises(JournalError) as mismatch:
        _run(client, clock, other, journal=journal, resume=True)
    assert mismatch.value.reason == "mismatch"


def test_run_validates_its_arguments(client: KMSClient) -> None:
    empty = Plan(from_region=SOURCE, to_region=TARGET, items=())
    with pytest.raises(ConfigurationError, match="concurrency"):
        run(client, empty, concurrency=100)
    with pytest.raises(ConfigurationError, match="rate"):
        run(client, empty, rate=0)
    with pytest.raises(TypeError, match="Plan"):
        run(client, "plan.json")  # type: ignore[arg-type]


def test_throttling_that_outlasts_the_client_slows_the_run_down(
    kms: LocalKMS, clock: ManualClock
) -> None:
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    keys = make_fleet(client, clock, 2)
    the_plan = plan(client, SOURCE, TARGET)
    # Five throttles in a row. UpdatePrimaryRegion is sent with one attempt (the client never
    # resends it), so each throttle reaches the run, which backs off, halves its rate and
    # sends it again (a throttled request did not act: resending it is safe).
    kms.faults = FaultInjector([FaultRule(operation="UpdatePrimaryRegion", times=5)])
    summary = run(client, the_plan, concurrency=1, rate=8.0, sleep=clock.advance, clock=clock)
    assert summary.ok
    assert summary.stats["throttled"] == 5
    _promoted_exactly_once(transport, keys)


# --------------------------------------------------------------------------- Ctrl-C


@pytest.fixture
def sigint_raises() -> Iterator[Callable[[], None]]:
    """Python's own SIGINT handler (KeyboardInterrupt in the main thread) and a function that
    sends the process's main thread a real SIGINT, as Ctrl-C in a terminal does."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.main_thread().ident
    assert main is not None

    def press_ctrl_c() -> None:
        signal.pthread_kill(main, signal.SIGINT)

    yield press_ctrl_c
    signal.signal(signal.SIGINT, previous)


def _last_records(journal: Path) -> dict[str, str]:
    last: dict[str, str] = {}
    for record in read_journal(journal):
        if "key_id" in record:
            last[record["key_id"]] = record["type"]
    return last


@pytest.mark.parametrize("concurrency", [1, 3])
def test_ctrl_c_lets_the_keys_in_flight_finish(
    client: KMSClient,
    clock: ManualClock,
    transport: CountingTransport,
    tmp_path: Path,
    sigint_raises: Callable[[], None],
    concurrency: int,
) -> None:
    keys = make_fleet(client, clock, 6)
    the_plan = plan(client, SOURCE, TARGET)
    journal = tmp_path / "j.jsonl"
    stop = threading.Event()
    told: list[int] = []

    def ctrl_c_while_sending(operation: str, _request: object) -> None:
        # The first UpdatePrimaryRegion: Ctrl-C arrives while KMS has the request; KMS
        # answers only once the run has seen the interrupt (stop is set).
        if operation == "UpdatePrimaryRegion" and not stop.is_set():
            sigint_raises()
            assert stop.wait(10), "the run never saw the interrupt"

    transport.hook = ctrl_c_while_sending
    with pytest.raises(KeyboardInterrupt):
        _run(
            client,
            clock,
            the_plan,
            journal=journal,
            concurrency=concurrency,
            stop=stop,
            on_interrupt=told.append,
        )
    assert len(told) == 1
    assert 1 <= told[0] <= concurrency
    records = read_journal(journal)
    assert records[-1]["type"] == "end"
    assert records[-1]["interrupted"] is True
    last = _last_records(journal)
    # Every key that was started finished and was journaled before the end record.
    assert last and set(last.values()) == {"done"}
    assert records[-1]["counts"]["promoted"] == len(last)
    assert records[-1]["counts"]["not_started"] == len(keys) - len(last)
    assert _primaries(client, list(last)) == {TARGET}
    assert len(last) < len(keys)  # no new key started after the interrupt
    for thread in threading.enumerate():  # one whose start Ctrl-C cut short may linger
        if thread.name.startswith("kms-mrk-run") and thread.ident is not None:
            thread.join(10)
            assert not thread.is_alive()
    assert _last_records(journal) == last  # and did nothing

    transport.hook = None
    resumed = _run(client, clock, the_plan, journal=journal, resume=True)
    assert resumed.ok  # type: ignore[attr-defined]
    _promoted_exactly_once(transport, keys)


def test_a_second_ctrl_c_stops_at_once(
    client: KMSClient,
    clock: ManualClock,
    transport: CountingTransport,
    tmp_path: Path,
    sigint_raises: Callable[[], None],
) -> None:
    keys = make_fleet(client, clock, 3)
    the_plan = plan(client, SOURCE, TARGET)
    journal = tmp_path / "j.jsonl"
    stop = threading.Event()
    released = threading.Event()
    held: list[str] = []

    def two_ctrl_c(operation: str, request: HttpRequest) -> None:
        if operation == "UpdatePrimaryRegion" and not stop.is_set():
            held.append(json.loads(request.body)["KeyId"].rsplit("/", 1)[-1])
            sigint_raises()
            assert stop.wait(10)
            sigint_raises()  # impatient: the run must not wait for this key any more
            assert released.wait(10)

    transport.hook = two_ctrl_c
    try:
        with pytest.raises(KeyboardInterrupt):
            _run(client, clock, the_plan, journal=journal, concurrency=2, stop=stop)
        # The run returned while KMS still held the request: the key keeps its intent.
        assert _last_records(journal)[held[0]] == "intent"
        assert read_journal(journal)[-1]["type"] == "end"
    finally:
        released.set()
        for thread in threading.enumerate():
            if thread.name.startswith("kms-mrk-run") and thread.ident is not None:
                thread.join(10)
    transport.hook = None
    resumed = _run(client, clock, the_plan, journal=journal, resume=True)
    assert resumed.ok  # type: ignore[attr-defined]
    _promoted_exactly_once(transport, keys)


# --------------------------------------------------------------------------- review of issue 5


def test_a_journal_opened_before_planning_is_used_and_left_open(
    client: KMSClient, clock: ManualClock, transport: CountingTransport, tmp_path: Path
) -> None:
    keys = make_fleet(client, clock, 2)
    path = tmp_path / "j.jsonl"
    with Journal.open(path, from_region=SOURCE, to_region=TARGET, start=False) as journal:
        the_plan = plan(client, SOURCE, TARGET)
        summary = _run(client, clock, the_plan, journal=journal)
        assert summary.ok  # type: ignore[attr-defined]
        assert journal.ended
        with pytest.raises(JournalError) as still_open:  # run() left it to its opener
            Journal.open(path, from_region=SOURCE, to_region=TARGET, resume=True)
        assert still_open.value.reason == "in_use"
    records = read_journal(path)
    assert [r["type"] for r in records].count("start") == 1
    assert records[0]["plan_keys"] == 2
    assert records[-1]["type"] == "end"
    _promoted_exactly_once(transport, keys)


def test_a_journal_opened_for_other_regions_is_refused_before_any_call(
    client: KMSClient, transport: CountingTransport, tmp_path: Path
) -> None:
    path = tmp_path / "j.jsonl"
    empty = Plan(from_region=SOURCE, to_region=TARGET, items=())
    with (
        Journal.open(path, from_region=SOURCE, to_region="ap-southeast-2") as journal,
        pytest.raises(JournalError) as caught,
    ):
        run(client, empty, journal=journal)
    assert caught.value.reason == "mismatch"
    assert transport.operations == []


def test_a_plan_listing_a_key_twice_is_refused(client: KMSClient, clock: ManualClock) -> None:
    make_fleet(client, clock, 1)
    the_plan = plan(client, SOURCE, TARGET)
    twice = Plan(from_region=SOURCE, to_region=TARGET, items=the_plan.items * 2)
    with pytest.raises(ConfigurationError, match="more than once"):
        run(client, twice)


def test_a_timed_out_key_keeps_its_request_id(clock: ManualClock, tmp_path: Path) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=600.0, seed=9)
    client = make_client(kms, clock)
    make_fleet(client, clock, 2)
    journal = tmp_path / "j.jsonl"
    summary = _run(client, clock, plan(client, SOURCE, TARGET), journal=journal, timeout=10)
    for outcome in summary.outcomes:  # type: ignore[attr-defined]
        assert outcome.reason == "timeout"
        assert outcome.request_id
    failed = [r for r in read_journal(journal) if r["type"] == "failed"]
    assert all(r["request_id"] for r in failed)
    kms.close()


def test_keys_recorded_done_are_confirmed_with_one_describe_key_each(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    keys = make_fleet(client, clock, 2)
    the_plan = plan(client, SOURCE, TARGET)
    journal = tmp_path / "run.jsonl"
    first = run(client, the_plan, journal=journal, sleep=clock.advance, clock=clock)
    assert first.ok
    clock.advance(60)
    # The first key really moved; the second is moved back behind the journal's back, so its
    # ``done`` record is stale (a forged record looks the same).
    moved_back = keys[1]
    arn = next(i.arn for i in the_plan.items if i.key_id == moved_back)
    assert arn is not None
    from kms_mrk.arn import arn_in_region

    client.for_region(TARGET).update_primary_region(
        key_id=arn_in_region(arn, TARGET), primary_region=SOURCE
    )
    clock.advance(60)
    transport.operations.clear()
    before = transport.update_counts()
    second = run(client, the_plan, journal=journal, resume=True, sleep=clock.advance, clock=clock)
    statuses = {o.key_id: o for o in second.outcomes}
    assert statuses[keys[0]].status == "already_promoted"
    assert statuses[keys[0]].reason == "journal"
    assert "DescribeKey" in (statuses[keys[0]].detail or "")
    assert statuses[moved_back].status == "promoted"
    after = transport.update_counts()
    assert after.get(keys[0], 0) == before.get(keys[0], 0)  # never sent again
    assert after[moved_back] == before[moved_back] + 1


def test_a_forged_done_record_does_not_make_a_key_count_as_promoted(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    keys = make_fleet(client, clock, 1)
    the_plan = plan(client, SOURCE, TARGET)
    journal = tmp_path / "run.jsonl"
    start = {"v": 1, "run": 1, "type": "start", "from_region": SOURCE, "to_region": TARGET}
    done = {"v": 1, "run": 1, "type": "done", "key_id": keys[0], "request_id": None}
    journal.write_text(json.dumps(start) + "\n" + json.dumps(done) + "\n")
    summary = run(client, the_plan, journal=journal, resume=True, sleep=clock.advance, clock=clock)
    assert [o.status for o in summary.outcomes] == ["promoted"]
    _promoted_exactly_once(transport, keys)
