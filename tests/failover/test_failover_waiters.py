"""kms_mrk.waiters (the polling engine, its pacing, timeouts) and the three multi-Region
waiters of kms_mrk.failover."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms_mrk import KMSClient
from kms_mrk.errors import AccessDeniedException, ConfigurationError
from kms_mrk.failover import (
    KeyView,
    wait_for_pending_deletion,
    wait_for_primary_region,
    wait_for_replica_created,
)
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS, ManualClock
from kms_mrk.transport import HttpRequest, HttpResponse
from kms_mrk.waiters import WaiterConfig, WaiterTimeoutError, poll_until
from tests.failover._support import SOURCE, TARGET, THIRD, CountingTransport, make_key


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------- the engine


def test_polls_at_once_then_backs_off_exponentially_up_to_the_cap() -> None:
    fake = FakeTime()
    states = iter(range(100))
    config = WaiterConfig(min_delay=1, max_delay=5, multiplier=2, jitter=0, timeout=1000)
    result = poll_until(
        lambda: next(states),
        lambda n: n == 6,
        what="six",
        config=config,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert result.value == 6
    assert result.attempts == 7
    assert fake.sleeps == [1, 2, 4, 5, 5, 5]
    assert result.elapsed == sum(fake.sleeps)
    assert result.states == tuple(str(n) for n in range(7))


def test_done_on_the_first_poll_never_sleeps() -> None:
    fake = FakeTime()
    result = poll_until(lambda: "ok", lambda s: True, what="x", sleep=fake.sleep, clock=fake.clock)
    assert result.attempts == 1
    assert fake.sleeps == []


def test_jitter_stays_within_its_fraction_and_is_seeded() -> None:
    def run(seed: int) -> list[float]:
        fake = FakeTime()
        with pytest.raises(WaiterTimeoutError):
            poll_until(
                lambda: 0,
                lambda s: False,
                what="never",
                config=WaiterConfig(min_delay=2, max_delay=2, jitter=0.25, timeout=60),
                sleep=fake.sleep,
                clock=fake.clock,
                rng=random.Random(seed),
            )
        return fake.sleeps[:-1]  # the last pause is cut to the deadline

    first = run(7)
    assert all(1.5 <= s <= 2.0 for s in first)  # capped at max_delay, down to -25%
    assert first == run(7)
    assert first != run(8)


def test_timeout_carries_the_last_state_and_states_it() -> None:
    fake = FakeTime()
    counter = iter(range(1000))
    with pytest.raises(WaiterTimeoutError) as caught:
        poll_until(
            lambda: {"state": "Updating", "poll": next(counter)},
            lambda s: False,
            what="the thing to settle",
            describe=lambda s: f"still {s['state']} (poll {s['poll']})",
            config=WaiterConfig(min_delay=1, max_delay=4, jitter=0, timeout=10),
            sleep=fake.sleep,
            clock=fake.clock,
        )
    error = caught.value
    assert error.last_state == {"state": "Updating", "poll": error.attempts - 1}
    assert error.elapsed == pytest.approx(10)
    assert error.timeout == 10
    assert "the thing to settle" in str(error)
    assert f"last state: still Updating (poll {error.attempts - 1})" in str(error)
    # The final pause is shortened so the last poll happens at the deadline.
    assert fake.sleeps[-1] < 4
    assert sum(fake.sleeps) == pytest.approx(10)


def test_zero_timeout_polls_once() -> None:
    fake = FakeTime()
    with pytest.raises(WaiterTimeoutError) as caught:
        poll_until(
            lambda: 1, lambda s: False, what="x", timeout=0, sleep=fake.sleep, clock=fake.clock
        )
    assert caught.value.attempts == 1
    assert fake.sleeps == []


def test_check_ends_the_wait_early() -> None:
    def check(state: int) -> None:
        if state == 2:
            raise RuntimeError("cannot get better")

    states = iter(range(10))
    fake = FakeTime()
    with pytest.raises(RuntimeError, match="cannot get better"):
        poll_until(
            lambda: next(states),
            lambda s: False,
            what="x",
            check=check,
            sleep=fake.sleep,
            clock=fake.clock,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_delay", 0),
        ("min_delay", -1),
        ("max_delay", float("inf")),
        ("timeout", -1),
        ("multiplier", 0.5),
        ("jitter", 1.0),
        ("timeout", True),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"WaiterConfig.{field}"):
        WaiterConfig(**{field: value})  # type: ignore[arg-type]


def test_config_rejects_max_below_min() -> None:
    with pytest.raises(ConfigurationError, match="max_delay"):
        WaiterConfig(min_delay=5, max_delay=1)


@given(
    min_delay=st.floats(0.01, 10),
    spread=st.floats(1, 10),
    multiplier=st.floats(1, 10),
    jitter=st.floats(0, 0.99),
    poll=st.integers(1, 10_000),
    seed=st.integers(0, 2**32),
)
def test_delay_is_always_within_zero_and_the_cap(
    min_delay: float, spread: float, multiplier: float, jitter: float, poll: int, seed: int
) -> None:
    config = WaiterConfig(
        min_delay=min_delay, max_delay=min_delay * spread, multiplier=multiplier, jitter=jitter
    )
    delay = config.delay(poll, random.Random(seed))
    assert 0 <= delay <= config.max_delay
    base = min(config.max_delay, min_delay * multiplier ** min(poll - 1, 64))
    assert delay >= base * (1 - jitter) - 1e-9


# --------------------------------------------------------------------------- key waiters


def test_replica_created_goes_through_creating(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, replicas=(), settle=False)
    client.replicate_key(key_id=key_id, replica_region=TARGET)
    result = wait_for_replica_created(
        client, key_id, TARGET, sleep=clock.advance, clock=clock, rng=random.Random(1)
    )
    assert result.value.key_state == "Enabled"
    assert result.value.region == TARGET
    assert result.attempts > 1
    assert "Creating" in result.states[0]
    assert "Enabled" in result.states[-1]


def test_primary_change_is_confirmed_from_both_regions(
    client: KMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    seen: list[KeyView] = []
    result = wait_for_primary_region(
        client,
        key_id,
        TARGET,
        previous_region=SOURCE,
        sleep=clock.advance,
        clock=clock,
        on_poll=seen.append,
    )
    assert seen[0].updating
    view = result.value
    assert [r.region for r in view.regions] == [TARGET, SOURCE]
    new, old = view.region(TARGET), view.region(SOURCE)
    assert new is not None
    assert old is not None
    assert (new.role, new.key_state, new.primary_region) == ("PRIMARY", "Enabled", TARGET)
    assert (old.role, old.key_state, old.primary_region) == ("REPLICA", "Enabled", TARGET)
    assert result.elapsed >= 5  # the local KMS keeps both keys Updating for 5 s
    assert any("Updating" in s for s in result.states)


def test_primary_wait_times_out_with_the_last_view(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=3)
    client = _client(kms, clock)
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    with pytest.raises(WaiterTimeoutError) as caught:
        wait_for_primary_region(
            client,
            key_id,
            TARGET,
            previous_region=SOURCE,
            timeout=30,
            sleep=clock.advance,
            clock=clock,
        )
    error = caught.value
    assert isinstance(error.last_state, KeyView)
    assert error.last_state.updating
    assert error.last_state.primary_region == TARGET
    assert "Updating" in str(error)
    assert f"the primary of {key_id} to be in {TARGET}" in str(error)


def test_pending_deletion_waiter(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, replicas=())
    client.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    result = wait_for_pending_deletion(client, key_id, sleep=clock.advance, clock=clock)
    assert result.value.key_state == "PendingDeletion"
    assert result.attempts == 1


def test_a_deleted_key_satisfies_the_pending_deletion_waiter(
    client: KMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock, replicas=())
    client.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    clock.advance(8 * 86400)
    result = wait_for_pending_deletion(
        client, key_id, missing_ok=True, sleep=clock.advance, clock=clock
    )
    assert result.value.error == "not_found"


def test_access_denied_ends_a_wait_at_once(kms: LocalKMS, clock: ManualClock) -> None:
    client = _client(kms, clock)
    key_id = make_key(client, clock)
    kms.faults = FaultInjector([FaultRule(operation="DescribeKey", error="AccessDeniedException")])
    with pytest.raises(AccessDeniedException):
        wait_for_replica_created(client, key_id, TARGET, sleep=clock.advance, clock=clock)


def test_throttled_polls_are_waited_through(kms: LocalKMS, clock: ManualClock) -> None:
    client = _client(kms, clock)
    key_id = make_key(client, clock, replicas=(), settle=False)
    client.replicate_key(key_id=key_id, replica_region=THIRD)
    # Three throttles in a row exhaust the client's three attempts of one poll.
    kms.faults = FaultInjector([FaultRule(operation="DescribeKey", times=3)])
    result = wait_for_replica_created(client, key_id, THIRD, sleep=clock.advance, clock=clock)
    assert result.value.key_state == "Enabled"
    assert result.states[0] == f"{THIRD} throttled"


def test_waiters_validate_input_before_any_call(client: KMSClient) -> None:
    from kms_mrk.arn import InvalidKeyIdentifierError

    with pytest.raises(InvalidKeyIdentifierError):
        wait_for_primary_region(client, "alias/app", TARGET)
    with pytest.raises(InvalidKeyIdentifierError):
        wait_for_replica_created(client, "not a key", TARGET)
    with pytest.raises(ConfigurationError):
        wait_for_primary_region(client, "mrk-" + "a" * 32, "Not A Region")


def test_unreachable_primary_region_is_waited_through(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    transport.unreachable.add(SOURCE)
    polls: list[KeyView] = []

    def on_poll(view: KeyView) -> None:
        polls.append(view)
        if len(polls) == 2:
            transport.unreachable.clear()

    result = wait_for_primary_region(
        client,
        key_id,
        TARGET,
        previous_region=SOURCE,
        sleep=clock.advance,
        clock=clock,
        on_poll=on_poll,
    )
    first_old = polls[0].region(SOURCE)
    assert first_old is not None
    assert first_old.error == "unreachable"
    assert result.value.agree


def _client(kms: LocalKMS, clock: ManualClock) -> KMSClient:
    from tests.failover._support import make_client

    return make_client(kms, clock)


# --------------------------------------------------------------------------- review of issue 5


class StaleRegion:
    """Forwards to a LocalKMS; DescribeKey in ``region`` answers what it answered last before
    ``stale_reads`` was set, that many more times (a Region slow to see a change)."""

    def __init__(self, kms: LocalKMS, region: str) -> None:
        self.kms = kms
        self.region = region
        self.stale_reads = 0
        self.last: HttpResponse | None = None

    def send(self, request: HttpRequest) -> HttpResponse:
        from tests.failover._support import _region_of

        describe = (request.header("x-amz-target") or "").endswith(".DescribeKey")
        if describe and _region_of(request) == self.region:
            if self.stale_reads and self.last is not None:
                self.stale_reads -= 1
                return self.last
            self.last = self.kms.send(request)
            return self.last
        return self.kms.send(request)

    def close(self) -> None:
        pass


def test_without_previous_region_every_region_of_the_key_must_confirm(
    kms: LocalKMS, clock: ManualClock
) -> None:
    stale = StaleRegion(kms, SOURCE)
    client = _client(stale, clock)  # type: ignore[arg-type]
    key_id = make_key(client, clock)
    client.describe_key(key_id=key_id)  # what us-east-1 will keep saying for a while
    stale.stale_reads = 8
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    result = wait_for_primary_region(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert stale.stale_reads == 0  # it waited until the old primary stopped saying PRIMARY
    view = result.value
    assert {r.region for r in view.regions} == {SOURCE, TARGET, THIRD}
    old = view.region(SOURCE)
    assert old is not None
    assert (old.role, old.primary_region, old.key_state) == ("REPLICA", TARGET, "Enabled")
    assert view.agree


def test_without_previous_region_an_unreadable_region_keeps_the_wait_going(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    transport.unreachable.add(THIRD)
    with pytest.raises(WaiterTimeoutError) as caught:
        wait_for_primary_region(
            client, key_id, TARGET, timeout=60, sleep=clock.advance, clock=clock
        )
    assert "confirmed from every Region of the key" in str(caught.value)
    assert f"{THIRD} unreachable" in caught.value.last_state_text
    assert caught.value.sent is None
    # Naming the previous Region confirms from the two Regions the change involves only.
    done = wait_for_primary_region(
        client, key_id, TARGET, previous_region=SOURCE, sleep=clock.advance, clock=clock
    )
    assert done.value.region(THIRD) is None


def test_pending_deletion_of_a_key_never_seen_raises_not_found(client: KMSClient) -> None:
    from kms_mrk.errors import NotFoundException

    missing = "mrk-" + "f" * 32
    with pytest.raises(NotFoundException):
        wait_for_pending_deletion(client, missing, sleep=lambda s: None)


def test_pending_deletion_of_a_key_seen_then_gone_is_done() -> None:
    from tests.failover._support import MRK, ScriptedKMS, mrk_metadata

    answers = iter([{"KeyMetadata": mrk_metadata(SOURCE)}])

    def answer(_operation: str, _region: str, _body: dict) -> object:
        found = next(answers, None)
        if found is not None:
            return found
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "r"}
        body = b'{"__type":"NotFoundException","message":"gone"}'
        return HttpResponse(400, headers, body)

    fake = FakeTime()
    client = _client(ScriptedKMS(answer), ManualClock())  # type: ignore[arg-type]
    result = wait_for_pending_deletion(client, MRK, sleep=fake.sleep, clock=fake.clock)
    assert result.attempts == 2
    assert result.value.error == "not_found"


@pytest.mark.parametrize("region", ["nowhere", "US-EAST-1", "us-east-1 ", ""])
def test_waiters_check_every_region_argument_before_any_call(
    client: KMSClient, transport: CountingTransport, region: str
) -> None:
    key = "mrk-" + "a" * 32
    calls = [
        ("primary_region", lambda: wait_for_primary_region(client, key, region)),
        (
            "previous_region",
            lambda: wait_for_primary_region(client, key, TARGET, previous_region=region),
        ),
        ("region", lambda: wait_for_replica_created(client, key, region)),
        ("region", lambda: wait_for_pending_deletion(client, key, region=region)),
    ]
    for argument, call in calls:
        with pytest.raises(ConfigurationError, match=f"^{argument}="):
            call()
    assert transport.operations == []


def test_the_waiters_are_exported_from_the_root_and_the_old_path_says_where_they_went() -> None:
    import kms_mrk
    import kms_mrk.waiters

    assert kms_mrk.wait_for_primary_region is wait_for_primary_region
    assert kms_mrk.wait_for_replica_created is wait_for_replica_created
    assert kms_mrk.wait_for_pending_deletion is wait_for_pending_deletion
    with pytest.raises(AttributeError, match=r"from kms_mrk.failover import wait_for_primary"):
        _ = kms_mrk.waiters.wait_for_primary_region
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = kms_mrk.waiters.nothing
