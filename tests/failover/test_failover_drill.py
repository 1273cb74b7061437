"""drill(): promote, prove both Regions work with the key, fail back."""

from __future__ import annotations

import pytest

from kms_mrk import KMSClient
from kms_mrk.failover import DrillStep, PreflightError, describe_view, drill
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS, ManualClock
from tests.failover._support import SOURCE, TARGET, CountingTransport, make_client, make_key


def test_drill_runs_every_step_and_leaves_the_key_where_it_was(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    key_id = make_key(client, clock)
    live: list[DrillStep] = []
    report = drill(client, key_id, TARGET, sleep=clock.advance, clock=clock, on_step=live.append)
    assert report.ok
    names = [s.name for s in report.steps]
    assert names == [
        "preflight",
        "promote",
        f"cross_region_{TARGET}_to_{SOURCE}",
        f"cross_region_{SOURCE}_to_{TARGET}",
        "fail_back",
        "verify",
    ]
    assert live == list(report.steps)
    assert "saw Updating" in report.steps[1].detail
    assert "the data matches" in report.steps[2].detail
    assert transport.update_counts() == {key_id: 2}
    assert describe_view(client, key_id).primary_region == SOURCE
    assert report.final is not None
    assert report.final.agree
    assert report.to_dict()["ok"] is True


def test_drill_with_an_hmac_key(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC")
    report = drill(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert report.ok, report.steps
    assert "MAC made in" in report.steps[2].detail


def test_drill_with_a_signing_key(client: KMSClient, clock: ManualClock) -> None:
    key_id = make_key(client, clock, key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
    report = drill(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert report.ok, report.steps
    assert "signature is valid" in report.steps[2].detail


def test_drill_refuses_a_key_already_primary_in_the_target(
    client: KMSClient, clock: ManualClock
) -> None:
    key_id = make_key(client, clock)
    with pytest.raises(PreflightError) as caught:
        drill(client, key_id, SOURCE)
    assert caught.value.names == ("already_primary",)


def test_a_failed_cross_region_check_still_fails_back(kms: LocalKMS, clock: ManualClock) -> None:
    transport = CountingTransport(kms)
    client = make_client(transport, clock)
    key_id = make_key(client, clock)
    kms.faults = FaultInjector([FaultRule(operation="Decrypt", error="IncorrectKeyException")])
    report = drill(client, key_id, TARGET, sleep=clock.advance, clock=clock)
    assert not report.ok
    by_name = {s.name: s for s in report.steps}
    assert not by_name[f"cross_region_{TARGET}_to_{SOURCE}"].ok
    assert "IncorrectKeyException" in by_name[f"cross_region_{TARGET}_to_{SOURCE}"].detail
    assert by_name["fail_back"].ok
    assert describe_view(client, key_id).primary_region == SOURCE


def test_a_drill_that_times_out_stops_and_says_so(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=900.0, seed=2)
    client = make_client(CountingTransport(kms), clock)
    key_id = make_key(client, clock)
    report = drill(client, key_id, TARGET, timeout=10, sleep=clock.advance, clock=clock)
    assert report.timed_out
    assert not report.ok
    assert [s.name for s in report.steps] == ["preflight", "promote"]
    assert "Timed out" in report.steps[1].detail
    assert report.final is not None
    assert report.final.updating
