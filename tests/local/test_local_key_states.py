"""The key-state table: every operation family in every key state, as data and in action."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from kms_mrk.errors import (
    DisabledException,
    KMSInvalidStateException,
    KMSServiceException,
    UnsupportedOperationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._handlers import HANDLERS
from kms_mrk.local._keystates import (
    ALL_STATES,
    KEY_STATE_TABLE,
    OPERATION_FAMILY,
    check_key_state,
    refusal_for,
)
from tests.local._calls import TestClient

ARN = "arn:aws:kms:us-east-1:111122223333:key/mrk-00000000000000000000000000000000"

# family -> state -> None (allowed) or (exception class, message), as the guide's table says.
EXPECTED: dict[str, dict[str, tuple[type[KMSServiceException], str] | None]] = {
    "cryptographic": {
        "Enabled": None,
        "Disabled": (DisabledException, f"{ARN} is disabled."),
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": (KMSInvalidStateException, f"{ARN} is pending import."),
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": None,
    },
    "read_or_policy": dict.fromkeys(ALL_STATES),
    "enable_disable": {
        "Enabled": None,
        "Disabled": None,
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": (KMSInvalidStateException, f"{ARN} is pending import."),
        "Unavailable": None,
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
    "schedule_deletion": {
        "Enabled": None,
        "Disabled": None,
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": None,
        "Unavailable": None,
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
    "cancel_deletion": {
        **dict.fromkeys(ALL_STATES, (KMSInvalidStateException, f"{ARN} is not pending deletion.")),
        "PendingDeletion": None,
        "PendingReplicaDeletion": None,
    },
    "manage": {
        **dict.fromkeys(ALL_STATES),
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
    },
    "rotation_change": {
        "Enabled": None,
        "Disabled": (DisabledException, f"{ARN} is disabled."),
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": (
            UnsupportedOperationException,
            f"{ARN} origin is EXTERNAL which is not valid for this operation.",
        ),
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
    "rotation_status": {
        **dict.fromkeys(ALL_STATES),
        "PendingImport": (
            UnsupportedOperationException,
            f"{ARN} origin is EXTERNAL which is not valid for this operation.",
        ),
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
    },
    "replicate": {
        "Enabled": None,
        "Disabled": None,
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": None,
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
    "rotate_on_demand": {
        "Enabled": None,
        "Disabled": (DisabledException, f"{ARN} is disabled."),
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": (KMSInvalidStateException, f"{ARN} is pending import."),
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
    "import": {
        "Enabled": None,
        "Disabled": None,
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": None,
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": None,
    },
    "update_primary_region": {
        "Enabled": None,
        "Disabled": (DisabledException, f"{ARN} is disabled."),
        "PendingDeletion": (KMSInvalidStateException, f"{ARN} is pending deletion."),
        "PendingReplicaDeletion": (KMSInvalidStateException, f"{ARN} is pending replica deletion."),
        "PendingImport": (KMSInvalidStateException, f"{ARN} is pending import."),
        "Unavailable": (KMSInvalidStateException, f"{ARN} is unavailable."),
        "Creating": (KMSInvalidStateException, f"{ARN} is creating."),
        "Updating": (KMSInvalidStateException, f"{ARN} is updating."),
    },
}


def test_table_covers_every_family_and_state() -> None:
    assert set(KEY_STATE_TABLE) == set(EXPECTED)
    for family, row in KEY_STATE_TABLE.items():
        assert set(row) == set(ALL_STATES), family


def test_every_key_operation_has_a_family() -> None:
    keyless = {"CreateKey", "ListKeys", "GenerateRandom", "ListRetirableGrants"}
    keyless |= {f"{verb}CustomKeyStore" for verb in ("Create", "Update", "Connect", "Disconnect")}
    keyless |= {"DeleteCustomKeyStore", "DescribeCustomKeyStores"}
    assert set(OPERATION_FAMILY) >= set(HANDLERS) - keyless
    assert set(OPERATION_FAMILY.values()) <= set(KEY_STATE_TABLE)


@pytest.mark.parametrize("family", sorted(EXPECTED))
@pytest.mark.parametrize("state", ALL_STATES)
def test_table_row(family: str, state: str) -> None:
    operation = next(op for op, fam in OPERATION_FAMILY.items() if fam == family)
    expected = EXPECTED[family][state]
    if expected is None:
        assert refusal_for(operation, state) is None
        check_key_state(operation, state, ARN)
        return
    error, message = expected
    with pytest.raises(error) as info:
        check_key_state(operation, state, ARN)
    assert type(info.value) is error
    assert info.value.message == message


# --------------------------------------------------------------------------- in action

Setup = Callable[[TestClient, TestClient, ManualClock], str]


def _mrk(east: TestClient) -> str:
    key_id: str = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    return key_id


def disabled(east: TestClient, west: TestClient, clock: ManualClock) -> str:
    key_id = _mrk(east)
    east.call("DisableKey", KeyId=key_id)
    return key_id


def pending_deletion(east: TestClient, west: TestClient, clock: ManualClock) -> str:
    key_id = _mrk(east)
    east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    return key_id


def pending_replica_deletion(east: TestClient, west: TestClient, clock: ManualClock) -> str:
    key_id = _mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    return key_id


def updating(east: TestClient, west: TestClient, clock: ManualClock) -> str:
    key_id = _mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    return key_id


STATES: dict[str, Setup] = {
    "Disabled": disabled,
    "PendingDeletion": pending_deletion,
    "PendingReplicaDeletion": pending_replica_deletion,
    "Updating": updating,
}

# One operation per family, with arguments, run against the key in us-east-1.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "cryptographic": ("Encrypt", {"Plaintext": b"x"}),
    "read_or_policy": ("DescribeKey", {}),
    "enable_disable": ("EnableKey", {}),
    "schedule_deletion": ("ScheduleKeyDeletion", {"PendingWindowInDays": 7}),
    "cancel_deletion": ("CancelKeyDeletion", {}),
    "manage": ("TagResource", {"Tags": [{"TagKey": "k", "TagValue": "v"}]}),
    "rotation_change": ("EnableKeyRotation", {}),
    "rotation_status": ("GetKeyRotationStatus", {}),
}


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("family", sorted(CALLS))
def test_reachable_states_answer_as_the_table_says(
    kms: LocalKMS, east: TestClient, west: TestClient, clock: ManualClock, state: str, family: str
) -> None:
    key_id = STATES[state](east, west, clock)
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_state == state
    operation, members = CALLS[family]
    expected = EXPECTED[family][state]
    arn = f"arn:aws:kms:us-east-1:111122223333:key/{key_id}"
    if expected is None:
        east.call(operation, KeyId=key_id, **members)
        return
    error, message = expected
    with pytest.raises(error) as info:
        east.call(operation, KeyId=key_id, **members)
    assert info.value.message == message.replace(ARN, arn)


def test_creating_replica_can_be_managed_but_not_used(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = _mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    west.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "k", "TagValue": "v"}])
    west.call("UpdateKeyDescription", KeyId=key_id, Description="new")
    west.call("CreateAlias", AliasName="alias/early", TargetKeyId=key_id)
    assert west.call("GetKeyPolicy", KeyId=key_id).policy
    for operation, members in (
        ("Encrypt", {"Plaintext": b"x"}),
        ("EnableKey", {}),
        ("DisableKey", {}),
        ("ScheduleKeyDeletion", {}),
    ):
        with pytest.raises(KMSInvalidStateException, match=re.escape("is creating.")):
            west.call(operation, KeyId=key_id, **members)
