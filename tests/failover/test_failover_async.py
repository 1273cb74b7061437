"""The async forms of the waiters and promote: the same flows as the sync ones, on fake time.

Every wait moves a ManualClock through an injected ``sleep`` (a plain function, or a coroutine
function that advances the clock and yields to the loop): nothing waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from kms_mrk import AsyncKMSClient, KMSClient
from kms_mrk.arn import InvalidKeyIdentifierError
from kms_mrk.errors import ConfigurationError, KMSInternalException, NotFoundException
from kms_mrk.failover import (
    KeyView,
    PromotionReport,
    promote,
    wait_for_pending_deletion,
    wait_for_primary_region,
    wait_for_replica_created,
)
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS, ManualClock
from kms_mrk.transport._in_memory import InMemoryAsyncView
from kms_mrk.waiters import WaiterConfig, WaiterTimeoutError, poll_until, poll_until_async
from tests.failover._support import (
    CREDENTIALS,
    SOURCE,
    TARGET,
    CountingTransport,
    make_client,
    make_key,
    pauser,
)

pytestmark = pytest.mark.asyncio


def async_client(transport: CountingTransport, clock: ManualClock) -> AsyncKMSClient:
    return AsyncKMSClient(
        SOURCE,
        credentials=CREDENTIALS,
        transport=InMemoryAsyncView(transport),  # type: ignore[arg-type]
        sleep=pauser(clock),
    )


def async_pauser(clock: ManualClock, log: list[float]) -> Callable[[float], Any]:
    """An awaitable sleep on fake time: advances the clock, then lets other tasks run."""

    async def pause(seconds: float) -> None:
        log.append(seconds)
        clock.advance(seconds)
        await asyncio.sleep(0)

    return pause


@pytest.fixture
def aclient(transport: CountingTransport, clock: ManualClock) -> AsyncKMSClient:
    return async_client(transport, clock)


# --------------------------------------------------------------------------- promote


async def test_async_promote_sends_once_waits_on_fake_time_and_reports(
    client: KMSClient,
    aclient: AsyncKMSClient,
    clock: ManualClock,
    transport: CountingTransport,
) -> None:
    key_id = make_key(client, clock)
    slept: list[float] = []
    seen: list[KeyView] = []
    pending = promote(
        aclient,
        key_id,
        TARGET,
        sleep=async_pauser(clock, slept),
        clock=clock,
        on_poll=seen.append,
    )
    assert asyncio.iscoroutine(pending)
    assert transport.updates == []  # nothing happens until it is awaited
    report = await pending
    assert isinstance(report, PromotionReport)
    assert report.status == "promoted"
    assert report.after is not None and report.after.primary_region == TARGET
    assert report.after.agree
    assert transport.update_counts() == {key_id: 1}
    assert seen[0].updating
    assert sum(slept) == pytest.approx(report.wait_seconds)
    assert report.wait_seconds >= 5  # the local KMS keeps both Regions Updating for 5 s


async def test_sync_and_async_promote_take_the_same_steps_and_decisions() -> None:
    """One flow, two drivers: same requests in the same order, same report."""

    def scenario() -> tuple[ManualClock, CountingTransport, str]:
        clock = ManualClock()
        kms = LocalKMS(clock=clock, replica_creating_seconds=2.0, updating_seconds=5.0, seed=4)
        transport = CountingTransport(kms)
        key_id = make_key(make_client(transport, clock), clock)
        transport.operations.clear()
        return clock, transport, key_id

    sync_clock, sync_transport, sync_key = scenario()
    sync_report = promote(
        make_client(sync_transport, sync_clock),
        sync_key,
        TARGET,
        sleep=sync_clock.advance,
        clock=sync_clock,
        rng=random.Random(7),
    )
    async_clock, async_transport, async_key = scenario()
    async_report = await promote(
        async_client(async_transport, async_clock),
        async_key,
        TARGET,
        sleep=async_clock.advance,
        clock=async_clock,
        rng=random.Random(7),
    )
    assert sync_key == async_key  # same seed, same key
    assert async_transport.operations == sync_transport.operations
    assert "UpdatePrimaryRegion" in sync_transport.operations
    ignore = ("request_id", "before", "after")
    one = {k: v for k, v in sync_report.to_dict().items() if k not in ignore}
    two = {k: v for k, v in async_report.to_dict().items() if k not in ignore}
    assert one == two


async def test_async_promote_reads_then_decides_after_a_5xx_and_never_resends(
    kms: LocalKMS,
    client: KMSClient,
    aclient: AsyncKMSClient,
    clock: ManualClock,
    transport: CountingTransport,
) -> None:
    key = make_key(client, clock)
    transport.operations.clear()
    kms.faults = FaultInjector(
        [FaultRule(operation="UpdatePrimaryRegion", error="KMSInternalException", times=3)]
    )
    with pytest.raises(KMSInternalException) as caught:
        await promote(aclient, key, TARGET, sleep=clock.advance, clock=clock)
    assert transport.operations.count("UpdatePrimaryRegion") == 1
    assert caught.value.metadata is not None and caught.value.metadata.attempts == 1
    after = transport.operations[transport.operations.index("UpdatePrimaryRegion") + 1 :]
    assert after and set(after) == {"DescribeKey"}
    kms.faults = None
    again = await promote(aclient, key, TARGET, sleep=clock.advance, clock=clock)
    assert again.status == "promoted"


async def test_async_promote_lost_response_is_resolved_by_reading_the_key(
    client: KMSClient,
    aclient: AsyncKMSClient,
    clock: ManualClock,
    transport: CountingTransport,
) -> None:
    key_id = make_key(client, clock)
    transport.lose_update_response = True
    report = await promote(aclient, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert report.status == "promoted"
    assert report.note is not None and "took effect" in report.note
    assert transport.update_counts() == {key_id: 1}


async def test_async_promote_timeout_carries_the_last_state_and_the_request_id(
    clock: ManualClock,
) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=5)
    transport = CountingTransport(kms)
    key_id = make_key(make_client(transport, clock), clock)
    with pytest.raises(WaiterTimeoutError) as caught:
        await promote(
            async_client(transport, clock),
            key_id,
            TARGET,
            timeout=20,
            sleep=clock.advance,
            clock=clock,
        )
    error = caught.value
    assert isinstance(error.last_state, KeyView) and error.last_state.updating
    assert error.sent is True and error.request_id
    assert error.elapsed == pytest.approx(20)
    assert transport.update_counts() == {key_id: 1}
    kms.close()


async def test_async_forms_check_their_arguments_at_the_call_before_any_io(
    aclient: AsyncKMSClient, transport: CountingTransport
) -> None:
    good = "mrk-" + "a" * 32
    with pytest.raises(InvalidKeyIdentifierError):
        promote(aclient, "mrk-XYZ", TARGET)
    with pytest.raises(ConfigurationError, match="to_region"):
        promote(aclient, good, "nowhere!")
    with pytest.raises(ConfigurationError, match="timeout"):
        promote(aclient, good, TARGET, timeout=-1)
    with pytest.raises(ConfigurationError, match="primary_region"):
        wait_for_primary_region(aclient, good, "nowhere!")
    with pytest.raises(ConfigurationError, match="previous_region"):
        wait_for_primary_region(aclient, good, TARGET, previous_region="Nope")
    with pytest.raises(ConfigurationError, match="region"):
        wait_for_replica_created(aclient, good, "nowhere!")
    with pytest.raises(ConfigurationError, match="region"):
        wait_for_pending_deletion(aclient, good, region="nowhere!")
    assert transport.operations == []


# --------------------------------------------------------------------------- waiters


async def test_async_wait_for_replica_created_goes_through_creating(
    client: KMSClient, aclient: AsyncKMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock, replicas=(), settle=False)
    await aclient.replicate_key(key_id=key_id, replica_region=TARGET)
    result = await wait_for_replica_created(
        aclient, key_id, TARGET, sleep=clock.advance, clock=clock, rng=random.Random(1)
    )
    assert result.value.key_state == "Enabled" and result.value.region == TARGET
    assert result.attempts > 1
    assert "Creating" in result.states[0] and "Enabled" in result.states[-1]


@pytest.mark.parametrize("previous", [SOURCE, None])
async def test_async_wait_for_primary_region_confirms_from_every_region(
    client: KMSClient, aclient: AsyncKMSClient, clock: ManualClock, previous: str | None
) -> None:
    key_id = make_key(client, clock)
    await aclient.update_primary_region(key_id=key_id, primary_region=TARGET)
    slept: list[float] = []
    result = await wait_for_primary_region(
        aclient,
        key_id,
        TARGET,
        previous_region=previous,
        sleep=async_pauser(clock, slept),
        clock=clock,
    )
    view = result.value
    assert view.primary_region == TARGET
    expected = {TARGET, SOURCE} if previous else {TARGET, SOURCE, "ap-southeast-2"}
    assert {r.region for r in view.regions} == expected
    assert all(r.role == ("PRIMARY" if r.region == TARGET else "REPLICA") for r in view.regions)
    assert result.elapsed >= 5 and sum(slept) == pytest.approx(result.elapsed)


async def test_async_wait_for_pending_deletion(
    client: KMSClient, aclient: AsyncKMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock, replicas=())
    with pytest.raises(NotFoundException):
        await wait_for_pending_deletion(
            aclient, "mrk-" + "0" * 32, sleep=clock.advance, clock=clock
        )
    await aclient.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    result = await wait_for_pending_deletion(aclient, key_id, sleep=clock.advance, clock=clock)
    assert result.value.key_state == "PendingDeletion"
    assert result.attempts == 1


async def test_an_async_wait_times_out_with_the_last_view(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=3)
    transport = CountingTransport(kms)
    sync = make_client(transport, clock)
    key_id = make_key(sync, clock)
    sync.update_primary_region(key_id=key_id, primary_region=TARGET)
    with pytest.raises(WaiterTimeoutError) as caught:
        await wait_for_primary_region(
            async_client(transport, clock),
            key_id,
            TARGET,
            previous_region=SOURCE,
            timeout=30,
            sleep=clock.advance,
            clock=clock,
        )
    assert isinstance(caught.value.last_state, KeyView)
    assert caught.value.last_state.updating
    assert caught.value.elapsed == pytest.approx(30)
    kms.close()


async def test_cancelling_an_async_wait_ends_it_and_the_client_stays_usable(
    client: KMSClient, aclient: AsyncKMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock)
    await aclient.update_primary_region(key_id=key_id, primary_region=TARGET)
    parked = asyncio.Event()

    async def never(seconds: float) -> None:
        parked.set()
        await asyncio.Event().wait()  # a sleep that never ends on its own

    task = asyncio.create_task(
        wait_for_primary_region(aclient, key_id, TARGET, sleep=never, clock=clock)
    )
    await parked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    described = await aclient.describe_key(key_id=key_id)
    assert described.key_metadata is not None


async def test_many_async_waits_run_concurrently_on_one_client(
    client: KMSClient, aclient: AsyncKMSClient, clock: ManualClock
) -> None:
    keys = [make_key(client, clock, replicas=(TARGET,)) for _ in range(5)]
    for key_id in keys:
        await aclient.update_primary_region(key_id=key_id, primary_region=TARGET)
    slept: list[float] = []
    results = await asyncio.gather(
        *(
            wait_for_primary_region(
                aclient,
                key_id,
                TARGET,
                previous_region=SOURCE,
                sleep=async_pauser(clock, slept),
                clock=clock,
            )
            for key_id in keys
        )
    )
    assert [r.value.primary_region for r in results] == [TARGET] * 5


# --------------------------------------------------------------------------- the engine


async def test_poll_until_async_paces_like_poll_until() -> None:
    config = WaiterConfig(min_delay=1, max_delay=8, multiplier=2, jitter=0, timeout=100)

    def run_sync() -> list[float]:
        now = [0.0]
        states = iter(range(10))
        sleeps: list[float] = []

        def sleep(s: float) -> None:
            sleeps.append(s)
            now[0] += s

        poll_until(
            lambda: next(states),
            lambda n: n >= 6,
            what="six",
            config=config,
            sleep=sleep,
            clock=lambda: now[0],
        )
        return sleeps

    now = [0.0]
    states = iter(range(10))
    sleeps: list[float] = []

    async def probe() -> int:
        await asyncio.sleep(0)
        return next(states)

    async def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    result = await poll_until_async(
        probe, lambda n: n >= 6, what="six", config=config, sleep=sleep, clock=lambda: now[0]
    )
    assert result.value == 6 and result.attempts == 7
    assert sleeps == run_sync() == [1, 2, 4, 8, 8, 8]


async def test_async_promote_backs_off_through_its_own_sleep_when_throttling_outlasts_retries(
    kms: LocalKMS,
    client: KMSClient,
    aclient: AsyncKMSClient,
    clock: ManualClock,
    transport: CountingTransport,
) -> None:
    key_id = make_key(client, clock)
    transport.operations.clear()
    # Four throttled DescribeKeys: the client's three attempts, then the toolkit's backoff
    # (a Sleep step of the shared Caller flow, taken by the async driver) and a fourth.
    kms.faults = FaultInjector(
        [FaultRule(operation="DescribeKey", error="ThrottlingException", times=4)]
    )
    slept: list[float] = []
    report = await promote(aclient, key_id, TARGET, sleep=async_pauser(clock, slept), clock=clock)
    assert report.status == "promoted"
    first_update = transport.operations.index("UpdatePrimaryRegion")
    assert transport.operations[:first_update].count("DescribeKey") >= 5
    assert len(slept) > report.polls - 1  # the backoff pause, besides the waits between polls
