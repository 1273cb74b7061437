"""The run journal (torn last lines, corruption, resume state) and the rate limiter."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms_mrk.errors import ConfigurationError
from kms_mrk.failover import Journal, JournalError, JournalState, RateLimiter, read_journal

KEY_A = "mrk-" + "a" * 32
KEY_B = "mrk-" + "b" * 32


def _journal(path: Path, *, resume: bool = False) -> Journal:
    return Journal.open(
        path, from_region="us-east-1", to_region="eu-west-1", resume=resume, now=lambda: 0.0
    )


def test_records_are_json_lines_in_order(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.intent(KEY_A, "arn:a")
        journal.done(KEY_A, request_id="r-1")
        journal.intent(KEY_B, "arn:b")
        journal.failed(KEY_B, "timeout", "still Updating")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == [
        "start",
        "intent",
        "done",
        "intent",
        "failed",
    ]
    first = json.loads(lines[0])
    assert first == {
        "v": 1,
        "type": "start",
        "run": 1,
        "time": "1970-01-01T00:00:00.000Z",
        "from_region": "us-east-1",
        "to_region": "eu-west-1",
    }


def test_state_takes_the_last_record_of_each_key(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
        journal.intent(KEY_B, None)
        journal.failed(KEY_B, "x", "y")
    with _journal(path, resume=True) as journal:
        assert journal.run == 2
        state = journal.state
        assert state.pending == {KEY_A}
        assert set(state.failed) == {KEY_B}
        journal.intent(KEY_B, None)
        journal.done(KEY_B)
    state = JournalState.from_records(read_journal(path))
    assert state.runs == 2
    assert set(state.done) == {KEY_B}
    assert state.pending == {KEY_A}


def test_a_torn_last_line_is_ignored_and_cut_off_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"v":1,"type":"done","key_id":"mrk-aa')
    assert [r["type"] for r in read_journal(path)] == ["start", "intent"]
    with _journal(path, resume=True) as journal:
        assert journal.state.pending == {KEY_A}
        journal.done(KEY_A)
    records = read_journal(path)
    assert [r["type"] for r in records] == ["start", "intent", "start", "done"]
    assert path.read_bytes().startswith(intact)


def test_nul_padding_after_a_crash_counts_as_torn(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
    path.write_bytes(path.read_bytes() + b"\x00" * 40)
    assert len(read_journal(path)) == 2
    with _journal(path, resume=True):
        pass
    assert b"\x00" not in path.read_bytes()


def _start_line(**extra: object) -> bytes:
    record = {"v": 1, "run": 1, "type": "start", "from_region": "a-b-1", "to_region": "a-b-2"}
    record.update(extra)
    return json.dumps(record).encode() + b"\n"


def test_a_bad_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(_start_line() + b'not json\n{"v":1,"run":1,"type":"intent","key_id":"k"}\n')
    with pytest.raises(JournalError, match="line 2") as caught:
        read_journal(path)
    assert caught.value.reason == "corrupt"
    with pytest.raises(JournalError):
        _journal(path, resume=True)


@pytest.mark.parametrize(
    "content",
    [b"my notes", b"my notes\n", b"line one\nline two\n", b'{"type": "start"}', b"[1, 2]\n"],
)
@pytest.mark.parametrize("resume", [False, True])
def test_a_file_that_is_not_a_journal_is_never_written_to(
    tmp_path: Path, content: bytes, resume: bool
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(JournalError, match="not a kms-mrk journal") as caught:
        _journal(path, resume=resume)
    assert caught.value.reason == "not_journal"
    assert path.read_bytes() == content


def test_an_empty_file_may_become_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.touch()
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
    assert [r["type"] for r in read_journal(path)] == ["start", "intent"]


def test_a_directory_or_device_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as caught:
        _journal(Path("/dev/null"))
    assert caught.value.reason == "not_journal"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"v":2,"run":1,"type":"intent","key_id":"k"}', "version 2"),
        (b'{"v":"1","run":1,"type":"intent","key_id":"k"}', "version '1'"),
        (b'{"v":1,"run":1,"type":"promoted","key_id":"k"}', "unknown record type 'promoted'"),
        (b'{"v":1,"run":"1","type":"intent","key_id":"k"}', "'run' must be"),
        (b'{"v":1,"run":1,"type":"done","key_id":7}', "'key_id' must be str"),
        (b'{"v":1,"run":1,"type":"done","key_id":"k","request_id":[]}', "'request_id' must be"),
        (b'{"v":1,"run":1,"type":"failed","key_id":"k","reason":"x"}', "'detail' must be str"),
        (b'{"v":1,"run":1,"type":"end","counts":[],"interrupted":false}', "'counts' must be"),
        (
            b'{"v":1,"run":1,"type":"intent","key_id":"k","x":' + b"[" * 5000 + b"]" * 5000 + b"}",
            "nests",
        ),
        (b"[" * 100000, "longer than 65536 bytes"),
    ],
)
def test_every_record_is_validated(tmp_path: Path, line: bytes, problem: str) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(_start_line() + line + b"\n" + _start_line(run=2))
    with pytest.raises(JournalError, match="line 2") as caught:
        read_journal(path)
    assert caught.value.reason == "corrupt"
    assert problem in str(caught.value)
    with pytest.raises(JournalError, match=problem.replace("[", r"\[")):
        _journal(path, resume=True)


def test_a_start_record_with_a_bad_region_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(_start_line(to_region="Mars"))
    with pytest.raises(JournalError, match="to_region"):
        read_journal(path)


def test_missing_journal_reads_as_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "absent.jsonl") == []


def test_unwritable_location_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as caught:
        _journal(tmp_path / "no-such-dir" / "j.jsonl")
    assert caught.value.reason == "io"


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal.open(path, from_region="a-b-1", to_region="a-b-2", fsync=False)

    def write(n: int) -> None:
        for i in range(50):
            journal.intent(f"mrk-{n:02d}{i:030d}", "x" * 200)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert len(read_journal(path)) == 1 + 8 * 50


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["intent", "done", "failed"]), st.text(min_size=1, max_size=12)),
        max_size=12,
    ),
    cut=st.floats(0, 1),
)
def test_any_crash_point_leaves_a_readable_prefix(steps: list[tuple[str, str]], cut: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "j.jsonl"
        with Journal.open(path, from_region="a-b-1", to_region="a-b-2", fsync=False) as journal:
            for kind, key_id in steps:
                if kind == "intent":
                    journal.intent(key_id, None)
                elif kind == "done":
                    journal.done(key_id, request_id=None)
                else:
                    journal.failed(key_id, "Reason", "detail")
        records = read_journal(path)
        data = path.read_bytes()
        cut_at = int(len(data) * cut)
        path.write_bytes(data[:cut_at])
        read = read_journal(path)
        assert read == records[: len(read)]
        assert len(read) == data[:cut_at].count(b"\n")
        if read:  # opening for resume cuts the torn tail and appends after the intact part
            with Journal.open(
                path, from_region="a-b-1", to_region="a-b-2", resume=True, fsync=False
            ):
                pass
            assert read_journal(path)[: len(read)] == read


# --------------------------------------------------------------------------- rate limiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_spaces_calls_evenly() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(9):
        limiter.acquire()
    assert fake.now == pytest.approx(2.0)  # the first is free, then one every 0.25 s


def test_rate_limiter_allows_a_burst_then_paces() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2.0, burst=3, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(0.5)
    assert fake.now == pytest.approx(1.0)


def test_rate_limiter_halves_on_throttling_and_recovers() -> None:
    limiter = RateLimiter(10.0, clock=lambda: 0.0, sleep=lambda s: None)
    limiter.on_throttle()
    limiter.on_throttle()
    assert limiter.rate == pytest.approx(2.5)
    for _ in range(100):
        limiter.on_success()
    assert limiter.rate == 10.0
    for _ in range(20):
        limiter.on_throttle()
    assert limiter.rate == limiter.min_rate == 0.5


@pytest.mark.parametrize("rate", [0, -1, float("inf"), True, "5"])
def test_rate_limiter_rejects_bad_rates(rate: object) -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        RateLimiter(rate)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- review of issue 5


def test_a_journal_is_locked_while_a_run_has_it_open(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as first:
        first.intent(KEY_A, None)
        with pytest.raises(JournalError) as caught:
            _journal(path, resume=True)
        assert caught.value.reason == "in_use"
        assert "another run has it open" in str(caught.value)
    with _journal(path, resume=True) as second:  # released on close
        assert second.run == 2


def test_resuming_a_journal_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.jsonl"
    with pytest.raises(JournalError) as caught:
        _journal(path, resume=True)
    assert caught.value.reason == "missing"
    assert "no run to resume" in str(caught.value)
    assert not path.exists()


def test_an_empty_journal_may_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.touch()
    with _journal(path, resume=True) as journal:
        assert journal.run == 1


def test_the_start_record_can_wait_for_begin(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal.open(path, from_region="us-east-1", to_region="eu-west-1", start=False)
    journal.close()
    assert path.read_bytes() == b""
    with _journal(path) as again:  # an empty journal is not "an earlier run"
        pass
    journal = Journal.open(
        path, from_region="us-east-1", to_region="eu-west-1", resume=True, start=False
    )
    journal.begin(plan_keys=3)
    journal.begin(plan_keys=4)  # once only
    journal.close()
    starts = [r for r in read_journal(path) if r["type"] == "start"]
    assert [r.get("plan_keys") for r in starts] == [None, 3]
    assert again.run == 1


def test_nothing_is_written_after_the_end_record(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.write("end", counts={}, interrupted=True)
        with pytest.raises(JournalError, match="has ended"):
            journal.done(KEY_A)
    assert [r["type"] for r in read_journal(path)] == ["start", "end"]


def test_failed_records_and_only_they_match_the_documented_grep(tmp_path: Path) -> None:
    """docs/failover.md: grep '"type":"failed"' lists the failures (not the end counts)."""
    path = tmp_path / "j.jsonl"
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
        journal.failed(KEY_A, "timeout", "still Updating")
        journal.intent(KEY_B, None)
        journal.done(KEY_B)
        journal.write("end", counts={"failed": 1, "promoted": 1}, interrupted=False)
    matching = [line for line in path.read_text().splitlines() if '"type":"failed"' in line]
    assert [json.loads(line)["key_id"] for line in matching] == [KEY_A]


@given(now=st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_timestamps_are_iso_8601_utc_milliseconds(now: float) -> None:
    import datetime as dt

    from kms_mrk.failover._journal import _timestamp

    moment = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    text = _timestamp(now)
    assert text.endswith("Z")
    parsed = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    assert abs((parsed - moment).total_seconds()) < 0.001 + 1e-6
    assert parsed <= moment + dt.timedelta(microseconds=1)


def test_only_the_records_safety_rests_on_are_synced_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms_mrk.failover import _journal as module

    synced: list[list[str]] = []
    path = tmp_path / "j.jsonl"

    def sync(_fd: int) -> None:
        synced.append([r["type"] for r in read_journal(path)])

    monkeypatch.setattr(module, "_sync", sync)
    with _journal(path) as journal:
        journal.intent(KEY_A, None)
        journal.done(KEY_A)
        journal.failed(KEY_B, "preflight:updating", "Updating")
        journal.intent(KEY_B, None)  # its sync carries the two records before it
        journal.done(KEY_B)
    # start, intent, intent; then close() syncs the last done.
    assert [len(s) for s in synced] == [1, 2, 5, 6]
    assert synced[2][-1] == "intent"
