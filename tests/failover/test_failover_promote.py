"""describe_view, preflight and promote against the local KMS."""

from __future__ import annotations

from typing import Any

import pytest

from kms_mrk import KMSClient
from kms_mrk.arn import InvalidKeyIdentifierError, key_arn
from kms_mrk.errors import ConfigurationError, NotFoundException
from kms_mrk.failover import (
    KeyView,
    PreflightError,
    describe_in_region,
    describe_view,
    preflight,
    promote,
)
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.waiters import WaiterTimeoutError
from tests.failover._support import (
    SOURCE,
    TARGET,
    THIRD,
    CountingTransport,
    make_client,
    make_key,
)

ACCOUNT = "111122223333"

# --------------------------------------------------------------------------- view


def test_view_reads_every_region_primary_first(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock)
    view = describe_view(client, key_id)
    assert view.multi_region
    assert view.agree
    assert view.primary_region == SOURCE
    assert view.replica_regions == (THIRD, TARGET)
    assert [r.region for r in view.regions] == [SOURCE, THIRD, TARGET]
    assert [r.role for r in view.regions] == ["PRIMARY", "REPLICA", "REPLICA"]
    assert view.arn == key_arn(SOURCE, ACCOUNT, key_id)
    assert all(r.request_id for r in view.regions)
    document = view.to_dict()
    assert document["agree"] is True
    assert [r["region"] for r in document["regions"]] == [SOURCE, THIRD, TARGET]


def test_view_from_a_replica_arn_and_from_an_alias(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, alias="alias/payments")
    from_replica = describe_view(client, key_arn(THIRD, ACCOUNT, key_id))
    from_alias = describe_view(client, "alias/payments")
    assert from_replica.primary_region == from_alias.primary_region == SOURCE
    assert from_replica.key_id == from_alias.key_id == key_id


def test_view_of_a_single_region_key(client: KMSClient) -> None:
    created = client.create_key()
    assert created.key_metadata is not None
    view = describe_view(client, created.key_metadata.key_id)
    assert not view.multi_region
    assert view.agree
    assert [r.region for r in view.regions] == [SOURCE]


def test_view_records_an_unreachable_region(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    transport.unreachable.add(THIRD)
    view = describe_view(client, key_id)
    third = view.region(THIRD)
    assert third is not None
    assert third.error == "unreachable"
    assert not view.agree
    assert any(p.startswith(f"{THIRD}: unreachable") for p in view.problems)


def test_view_of_a_missing_key_raises(client: KMSClient) -> None:
    with pytest.raises(NotFoundException):
        describe_view(client, "mrk-" + "0" * 32)


def test_view_during_a_change_shows_the_disagreement(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=TARGET)
    view = describe_view(client, key_id)
    assert view.updating
    assert view.primary_region == TARGET
    assert not view.agree
    assert "in progress" in view.problems[0]


def test_describe_in_region_records_not_found(client: KMSClient) -> None:
    regional = describe_in_region(client.for_region(TARGET), "mrk-" + "1" * 32)
    assert regional.error == "not_found"
    assert regional.summary() == f"{TARGET} not_found"


# --------------------------------------------------------------------------- preflight


def _names(error: pytest.ExceptionInfo[PreflightError]) -> set[str]:
    return set(error.value.names)


def test_preflight_passes_for_a_healthy_key(client: KMSClient, clock: ManualClock) -> None:
    result = preflight(client, make_key(client, clock), TARGET)
    assert result.ok
    assert not result.already_primary
    assert result.from_region == SOURCE


def test_preflight_lists_every_failed_check(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    client.disable_key(key_id=key_id)
    client.for_region(TARGET).disable_key(key_id=key_id)
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert _names(caught) == {"source_not_enabled", "target_not_enabled"}
    assert "2 checks failed" in str(caught.value)
    assert "source_not_enabled (the primary in us-east-1 is Disabled)" in str(caught.value)
    assert transport.updates == []


def test_preflight_single_region_key(client: KMSClient, clock: ManualClock) -> None:
    created = client.create_key()
    assert created.key_metadata is not None
    with pytest.raises(PreflightError) as caught:
        promote(client, created.key_metadata.key_id, TARGET)
    assert _names(caught) == {"not_multi_region"}


def test_preflight_no_replica_in_target(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, replicas=(THIRD,))
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET)
    assert _names(caught) == {"no_replica_in_target"}


def test_preflight_replica_still_creating(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, replicas=(TARGET,), settle=False)
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET)
    assert _names(caught) == {"target_not_enabled"}
    assert "Creating" in str(caught.value)


def test_preflight_updating(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock)
    client.update_primary_region(key_id=key_id, primary_region=THIRD)
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET)
    assert "updating" in _names(caught)


def test_preflight_unreachable_target(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    transport.unreachable.add(TARGET)
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET)
    assert _names(caught) == {f"region_unreachable:{TARGET}"}


def test_preflight_unreachable_home_region(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    transport.unreachable.add(SOURCE)
    with pytest.raises(PreflightError) as caught:
        promote(client, key_id, TARGET)
    assert _names(caught) == {f"region_unreachable:{SOURCE}"}
    assert caught.value.view is None


def test_preflight_key_not_found(client: KMSClient) -> None:
    with pytest.raises(PreflightError) as caught:
        promote(client, "mrk-" + "2" * 32, TARGET)
    assert _names(caught) == {"key_not_found"}


def test_promote_validates_input_before_any_call(
    client: KMSClient, transport: CountingTransport
) -> None:
    with pytest.raises(InvalidKeyIdentifierError):
        promote(client, "mrk-XYZ", TARGET)
    with pytest.raises(ConfigurationError):
        promote(client, "mrk-" + "a" * 32, "nowhere!")
    with pytest.raises(ConfigurationError, match="timeout"):
        promote(client, "mrk-" + "a" * 32, TARGET, timeout=-1)
    assert transport.operations == []


# --------------------------------------------------------------------------- promote


def test_promote_sends_once_waits_and_reports(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    seen: list[KeyView] = []
    report = promote(client, key_id, TARGET, sleep=clock.advance, clock=clock, on_poll=seen.append)
    assert report.status == "promoted"
    assert report.changed
    assert (report.from_region, report.to_region) == (SOURCE, TARGET)
    assert report.request_id
    assert report.attempts == 1
    assert transport.update_counts() == {key_id: 1}
    # Sent to the primary's Region, naming the primary by ARN.
    assert transport.updates == [key_arn(SOURCE, ACCOUNT, key_id)]
    assert report.before is not None
    assert report.before.primary_region == SOURCE
    assert report.after is not None
    assert report.after.primary_region == TARGET
    assert report.after.agree
    assert any("Updating" in s for s in report.states)
    assert seen[0].updating
    assert report.wait_seconds >= 5
    assert report.polls == len(seen)
    assert report.to_dict()["status"] == "promoted"


def test_promote_again_is_a_no_op(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    promote(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    again = promote(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert again.status == "already_primary"
    assert not again.changed
    assert transport.update_counts() == {key_id: 1}


def test_promote_while_the_same_change_is_in_progress_waits_for_it(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    first = promote(client, key_id, TARGET, wait=False)
    assert first.status == "sent"
    assert first.after is None
    second = promote(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert second.status == "already_primary"
    assert second.after is not None
    assert second.after.agree
    assert second.polls >= 2
    assert transport.update_counts() == {key_id: 1}


def test_dry_run_sends_nothing(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    report = promote(client, key_id, TARGET, dry_run=True)
    assert report.status == "dry_run"
    assert transport.updates == []


def test_promote_timeout_reports_the_last_state(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=5)
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    key_id = make_key(client, clock)
    with pytest.raises(WaiterTimeoutError) as caught:
        promote(client, key_id, TARGET, timeout=20, sleep=clock.advance, clock=clock)
    error = caught.value
    assert isinstance(error.last_state, KeyView)
    assert error.last_state.updating
    message = str(error)
    assert "Updating" in message
    assert "UpdatePrimaryRegion was accepted (request id " in message
    assert error.elapsed == pytest.approx(20)
    assert transport.update_counts() == {key_id: 1}


def test_a_lost_response_is_resolved_by_reading_the_key(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    transport.lose_update_response = True
    report = promote(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert report.status == "promoted"
    assert report.note is not None
    assert "took effect" in report.note
    assert transport.update_counts() == {key_id: 1}


def test_promote_by_alias_and_to_a_third_region(client: KMSClient, clock: ManualClock) -> None:
    make_key(client, clock, alias="alias/orders")
    report = promote(client, "alias/orders", THIRD, sleep=clock.advance, clock=clock)
    assert report.status == "promoted"
    assert report.after is not None
    assert report.after.primary_region == THIRD
    back = promote(client, "alias/orders", SOURCE, sleep=clock.advance, clock=clock)
    assert back.from_region == THIRD
    assert back.after is not None
    assert back.after.primary_region == SOURCE


# --------------------------------------------------------------------------- review of issue 5


@pytest.mark.parametrize("region", ["nowhere", "US-EAST-1", "us-east-1 ", "", 5])
def test_every_entry_point_checks_regions_before_any_call(
    client: KMSClient, transport: CountingTransport, region: object
) -> None:
    from kms_mrk.failover import Plan, drill, plan, run

    key = "mrk-" + "a" * 32
    bad: Any = region
    calls = [
        ("to_region", lambda: promote(client, key, bad)),
        ("to_region", lambda: preflight(client, key, bad)),
        ("to_region", lambda: drill(client, key, bad)),
        ("from_region", lambda: plan(client, bad, TARGET)),
        ("to_region", lambda: plan(client, SOURCE, bad)),
        ("to_region", lambda: run(client, Plan(from_region=SOURCE, to_region=bad, items=()))),
        ("regions\\[1\\]", lambda: describe_view(client, key, regions=[SOURCE, bad])),
    ]
    for argument, call in calls:
        with pytest.raises(ConfigurationError, match=f"^{argument}="):
            call()
    assert transport.operations == []


def test_a_timeout_after_sending_carries_the_request_id(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=5)
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    key_id = make_key(client, clock)
    with pytest.raises(WaiterTimeoutError) as sent:
        promote(client, key_id, TARGET, timeout=30, sleep=clock.advance, clock=clock)
    assert sent.value.sent is True
    assert sent.value.request_id
    assert sent.value.request_id in str(sent.value)
    with pytest.raises(WaiterTimeoutError) as waited:
        promote(client, key_id, TARGET, timeout=30, sleep=clock.advance, clock=clock)
    assert waited.value.sent is False
    assert waited.value.request_id is None
    assert transport.update_counts() == {key_id: 1}
    kms.close()


def test_a_5xx_answer_to_update_primary_region_is_never_resent_blindly(
    kms: LocalKMS, transport: CountingTransport, client: KMSClient, clock: ManualClock
) -> None:
    from kms_mrk.errors import KMSInternalException
    from kms_mrk.local import FaultInjector, FaultRule

    key = make_key(client, clock)
    transport.operations.clear()
    # KMS fails the request without acting on it: the toolkit reads the key, sees the primary
    # still in the old Region and reports the error; the client does not resend it.
    kms.faults = FaultInjector(
        [FaultRule(operation="UpdatePrimaryRegion", error="KMSInternalException", times=3)]
    )
    with pytest.raises(KMSInternalException) as caught:
        promote(client, key, TARGET, sleep=clock.advance, clock=clock)
    assert transport.operations.count("UpdatePrimaryRegion") == 1
    assert caught.value.metadata is not None and caught.value.metadata.attempts == 1
    after = transport.operations[transport.operations.index("UpdatePrimaryRegion") + 1 :]
    assert after and set(after) == {"DescribeKey"}  # read, then decide
    # Once KMS answers again, promoting works (rerunnable).
    kms.faults = None
    report = promote(client, key, TARGET, sleep=clock.advance, clock=clock)
    assert report.status == "promoted"
