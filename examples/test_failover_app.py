"""Tests of examples/failover_app.py, two ways.

With stubs (the ``kms_mock`` fixture): each test says exactly what KMS answers, including
answers that are hard to get from a real service (a timeout on UpdatePrimaryRegion that was
applied anyway, throttling). With the local KMS (the ``kms_local`` fixture): real multi-Region
keys, so the test checks the logic against how KMS actually behaves. Both fixtures come from
the kms-mrk pytest plugin; nothing here talks to AWS.

    python -m pytest examples/test_failover_app.py -q
"""

from __future__ import annotations

from typing import Any

import pytest

from examples.failover_app import FailoverError, fail_over
from kms_mrk import (
    DescribeKeyCommand,
    KMSServiceException,
    NotFoundException,
    UpdatePrimaryRegionCommand,
)
from kms_mrk.testing import KmsLocal, KmsMock

KEY_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
EAST_ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}"
WEST_ARN = f"arn:aws:kms:us-west-2:111122223333:key/{KEY_ID}"


def east_is_down(region: str) -> bool:
    return region != "us-east-1"


def described(region: str, primary: str, state: str = "Enabled") -> dict[str, Any]:
    """A DescribeKey response of the key as seen from ``region`` (wire names)."""
    arns = {"us-east-1": EAST_ARN, "us-west-2": WEST_ARN}
    replica = "us-west-2" if primary == "us-east-1" else "us-east-1"
    return {
        "KeyMetadata": {
            "KeyId": KEY_ID,
            "Arn": arns[region],
            "KeyState": state,
            "Enabled": state == "Enabled",
            "MultiRegion": True,
            "MultiRegionConfiguration": {
                "MultiRegionKeyType": "PRIMARY" if region == primary else "REPLICA",
                "PrimaryKey": {"Arn": arns[primary], "Region": primary},
                "ReplicaKeys": [{"Arn": arns[replica], "Region": replica}],
            },
        }
    }


# -- with stubs ------------------------------------------------------------------------------


def test_healthy_primary_is_left_alone(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand, region="us-west-2").resolves(
        described("us-west-2", primary="us-east-1")
    )

    result = fail_over(kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=lambda r: True)

    assert result.action == "primary-healthy"
    kms_mock.assert_not_called(UpdatePrimaryRegionCommand)


@pytest.mark.kms_mock(strict=True)  # every stub must be used, nothing unexpected may happen
def test_unhealthy_primary_is_failed_over(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand, {"KeyId": KEY_ID}, region="us-west-2").resolves_once(
        described("us-west-2", primary="us-east-1")
    ).resolves_once(described("us-west-2", primary="us-west-2", state="Updating")).resolves(
        described("us-west-2", primary="us-west-2")
    )
    kms_mock.on(
        UpdatePrimaryRegionCommand,
        {"KeyId": EAST_ARN, "PrimaryRegion": "us-west-2"},
        strict=True,
        region="us-east-1",
    ).resolves()
    waits: list[float] = []

    result = fail_over(
        kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=east_is_down, sleep=waits.append
    )

    assert result.action == "promoted"
    assert (result.previous_primary_region, result.primary_region) == ("us-east-1", "us-west-2")
    assert waits == [2.0]  # one poll while the key was Updating
    kms_mock.assert_called_once_with(UpdatePrimaryRegionCommand, region="us-east-1")
    assert kms_mock.call_count(DescribeKeyCommand, region="us-west-2") == 3


def test_a_timed_out_promotion_that_was_applied_counts(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand).resolves_once(
        described("us-west-2", primary="us-east-1")
    ).resolves(described("us-west-2", primary="us-west-2"))
    kms_mock.on(UpdatePrimaryRegionCommand).times_out()

    result = fail_over(kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=east_is_down)

    assert result.action == "promoted"
    # UpdatePrimaryRegion is not idempotent: the client did not resend it after the timeout.
    assert [c.attempt for c in kms_mock.calls(UpdatePrimaryRegionCommand)] == [1]


def test_a_timed_out_promotion_that_was_lost_is_reported(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand).resolves(described("us-west-2", primary="us-east-1"))
    kms_mock.on(UpdatePrimaryRegionCommand).resets_connection()

    with pytest.raises(FailoverError, match="did not take effect"):
        fail_over(kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=east_is_down)


def test_throttled_reads_are_retried_by_the_client(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand).rejects_once("ThrottlingException", "Rate exceeded").resolves(
        described("us-west-2", primary="us-west-2")
    )

    result = fail_over(kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=east_is_down)

    assert result.action == "already-primary"
    assert [c.attempt for c in kms_mock.calls(DescribeKeyCommand)] == [1, 2]
    assert len(kms_mock.slept) == 1  # the client backed off once, without really sleeping


def test_a_missing_replica_surfaces_as_not_found(kms_mock: KmsMock) -> None:
    kms_mock.on(DescribeKeyCommand).rejects(NotFoundException, f"Key '{WEST_ARN}' does not exist")

    with pytest.raises(NotFoundException, match="does not exist") as raised:
        fail_over(kms_mock.client_for, KEY_ID, "us-west-2", is_healthy=east_is_down)
    assert isinstance(raised.value, KMSServiceException)
    assert raised.value.http_status == 400


# -- with the local KMS ------------------------------------------------------------------------


def make_key(kms_local: KmsLocal) -> str:
    return kms_local.create_multi_region_key("us-east-1", replicas=["us-west-2"])


def test_local_failover_moves_the_primary(kms_local: KmsLocal) -> None:
    key_id = make_key(kms_local)

    result = fail_over(kms_local.client, key_id, "us-west-2", is_healthy=east_is_down)

    assert result.action == "promoted"
    west = kms_local.client("us-west-2").describe_key(key_id=key_id).key_metadata
    east = kms_local.client("us-east-1").describe_key(key_id=key_id).key_metadata
    assert west is not None
    assert east is not None
    assert west.multi_region_configuration is not None
    assert east.multi_region_configuration is not None
    assert west.multi_region_configuration.multi_region_key_type == "PRIMARY"
    assert east.multi_region_configuration.multi_region_key_type == "REPLICA"


@pytest.mark.kms_local(updating_seconds=5)
def test_local_failover_waits_while_the_key_is_updating(kms_local: KmsLocal) -> None:
    key_id = make_key(kms_local)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        kms_local.advance(seconds)

    result = fail_over(kms_local.client, key_id, "us-west-2", is_healthy=east_is_down, sleep=sleep)

    assert result.action == "promoted"
    assert sum(waits) >= 5


def test_local_failover_is_a_no_op_when_already_primary(kms_local: KmsLocal) -> None:
    key_id = make_key(kms_local)

    result = fail_over(kms_local.client, key_id, "us-east-1", is_healthy=east_is_down)

    assert result.action == "already-primary"


def test_local_single_region_keys_are_refused(kms_local: KmsLocal) -> None:
    created = kms_local.client().create_key().key_metadata
    assert created is not None

    with pytest.raises(FailoverError, match="not a multi-Region key"):
        fail_over(kms_local.client, created.key_id, "us-east-1", is_healthy=east_is_down)
