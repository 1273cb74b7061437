"""A hypothesis state machine of the multi-Region key lifecycle against a simple model.

Rules create primaries, replicate, move the primary Region, enable and disable, schedule and
cancel deletions (one key, or every key of a group at once, which drives the deletion
timeline of a primary waiting for its replicas), encrypt in one Region and decrypt in
another, and move the clock. Each rule predicts from the model whether the local KMS accepts
the request and, when it refuses, the exact exception class and message the KMS key-state
table gives (written out here from the documentation, not read from the implementation).
Invariants after every step: DescribeKey agrees with the model in every Region (state,
deletion date, waiting period, primary and replicas), every key state is legal, and once no
key of a multi-Region key is Updating exactly one of them is the primary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from kms_mrk.errors import (
    AlreadyExistsException,
    DisabledException,
    InvalidCiphertextException,
    KMSInvalidStateException,
    KMSServiceException,
    NotFoundException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
CREATING = 2.0
UPDATING = 5.0
DAY = 86400.0
LEGAL = {"Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "Creating", "Updating"}
ACCOUNT = "111122223333"

Refusal = tuple[type[KMSServiceException], str]

# What the key-state table of the KMS Developer Guide says, per kind of operation: the
# exception and message (after the key ARN) in each state that refuses it.
PENDING = {
    "PendingDeletion": (KMSInvalidStateException, " is pending deletion."),
    "PendingReplicaDeletion": (KMSInvalidStateException, " is pending replica deletion."),
    "Creating": (KMSInvalidStateException, " is creating."),
}
REFUSED_IN: dict[str, dict[str, tuple[type[KMSServiceException], str]]] = {
    "cryptographic": {**PENDING, "Disabled": (DisabledException, " is disabled.")},
    "enable_disable": {**PENDING, "Updating": (KMSInvalidStateException, " is updating.")},
    "replicate": {**PENDING, "Updating": (KMSInvalidStateException, " is updating.")},
    "update_primary": {
        **PENDING,
        "Disabled": (DisabledException, " is disabled."),
        "Updating": (KMSInvalidStateException, " is updating."),
    },
    "cancel": {
        state: (KMSInvalidStateException, " is not pending deletion.")
        for state in ("Enabled", "Disabled", "Creating", "Updating")
    },
}


def arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def not_found(region: str, key_id: str) -> Refusal:
    return NotFoundException, f"Key '{arn(region, key_id)}' does not exist"


@dataclass
class ModelKey:
    state: str = "Enabled"
    creating_until: float = 0.0
    updating_until: float = 0.0
    deletion_date: float | None = None
    window: int | None = None


@dataclass
class ModelMrk:
    primary: str
    keys: dict[str, ModelKey] = field(default_factory=dict)


class MultiRegionLifecycle(RuleBasedStateMachine):
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.kms = LocalKMS(
            clock=self.clock,
            replica_creating_seconds=CREATING,
            updating_seconds=UPDATING,
            seed=0,
        )
        base = make_client(self.kms)
        self.clients: dict[str, TestClient] = {r: base.for_region(r) for r in REGIONS}
        self.model: dict[str, ModelMrk] = {}
        self.counter = 0

    # ------------------------------------------------------------------ model helpers

    def now(self) -> float:
        return self.clock.now()

    def state(self, key: ModelKey) -> str:
        if self.now() < key.creating_until:
            return "Creating"
        if self.now() < key.updating_until:
            return "Updating"
        return key.state

    def tick(self) -> None:
        """Delete what is due, in date order, starting primaries' waiting periods."""
        while True:
            due = [
                (k.deletion_date, key_id, region)
                for key_id, mrk in self.model.items()
                for region, k in mrk.keys.items()
                if k.state == "PendingDeletion" and k.deletion_date is not None
            ]
            due = [d for d in due if d[0] is not None and d[0] <= self.now()]
            if not due:
                return
            when, key_id, region = min(due, key=lambda d: (d[0], d[1], d[2]))
            assert when is not None
            mrk = self.model[key_id]
            del mrk.keys[region]
            primary = mrk.keys.get(mrk.primary)
            if (
                primary is not None
                and primary.state == "PendingReplicaDeletion"
                and len(mrk.keys) == 1
            ):
                primary.state = "PendingDeletion"
                primary.deletion_date = when + (primary.window or 30) * DAY
            if not mrk.keys:
                del self.model[key_id]

    def refusal(self, kind: str, key_id: str, region: str) -> Refusal | None:
        """How the key-state table refuses ``kind`` on the key in ``region`` (None: allowed)."""
        key = self.model[key_id].keys.get(region)
        if key is None:
            return not_found(region, key_id)
        refused = REFUSED_IN[kind].get(self.state(key))
        return None if refused is None else (refused[0], arn(region, key_id) + refused[1])

    def expect(self, refusal: Refusal | None, call: Callable[[], Any]) -> Any:
        """Call; when ``refusal`` is given, the call must raise exactly that error."""
        if refusal is None:
            return call()
        with pytest.raises(KMSServiceException) as info:
            call()
        error, message = refusal
        assert type(info.value) is error, (info.value, refusal)
        assert info.value.message == message
        assert info.value.http_status == 400
        return None

    def gone(self, key_id: str) -> bool:
        if key_id in self.model:
            return False
        with pytest.raises(NotFoundException):
            self.clients[REGIONS[0]].call("DescribeKey", KeyId=key_id)
        return True

    # ------------------------------------------------------------------ rules

    @rule(target=keys, region=st.sampled_from(REGIONS))
    def create(self, region: str) -> str:
        key_id: str = self.clients[region].call("CreateKey", MultiRegion=True).key_metadata.key_id
        self.model[key_id] = ModelMrk(primary=region, keys={region: ModelKey()})
        return key_id

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def replicate(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        primary_arn = arn(mrk.primary, key_id)
        refusal = self.refusal("replicate", key_id, mrk.primary)
        if refusal is None and region == mrk.primary:
            refusal = (
                ValidationException,
                f"The replica Region must differ from the primary key's Region ({region}).",
            )
        if refusal is None and region in mrk.keys:
            refusal = (
                AlreadyExistsException,
                f"Multi-Region key {key_id} already has a replica in {region}.",
            )
        self.expect(
            refusal,
            lambda: self.clients[mrk.primary].call(
                "ReplicateKey", KeyId=primary_arn, ReplicaRegion=region
            ),
        )
        if refusal is None:
            mrk.keys[region] = ModelKey(creating_until=self.now() + CREATING)

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def update_primary_region(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        primary, target = mrk.keys.get(mrk.primary), mrk.keys.get(region)
        refusal: Refusal | None
        if primary is None:
            refusal = not_found(mrk.primary, key_id)
        elif region == mrk.primary:
            refusal = (
                ValidationException,
                f"{arn(region, key_id)} is already the primary key in {region}.",
            )
        elif target is None:
            refusal = not_found(region, key_id)
        else:
            refusal = self.refusal("update_primary", key_id, mrk.primary) or self.refusal(
                "update_primary", key_id, region
            )
        self.expect(
            refusal,
            lambda: self.clients[mrk.primary].call(
                "UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion=region
            ),
        )
        if refusal is None:
            assert primary is not None and target is not None
            primary.updating_until = target.updating_until = self.now() + UPDATING
            mrk.primary = region

    @rule(key_id=keys, region=st.sampled_from(REGIONS), enable=st.booleans())
    def enable_or_disable(self, key_id: str, region: str, enable: bool) -> None:
        if self.gone(key_id):
            return
        refusal = self.refusal("enable_disable", key_id, region)
        operation = "EnableKey" if enable else "DisableKey"
        self.expect(refusal, lambda: self.clients[region].call(operation, KeyId=key_id))
        if refusal is None:
            self.model[key_id].keys[region].state = "Enabled" if enable else "Disabled"

    def schedule(self, key_id: str, region: str, days: int) -> None:
        mrk = self.model[key_id]
        refusal = self.refusal("enable_disable", key_id, region)  # the same row
        response = self.expect(
            refusal,
            lambda: self.clients[region].call(
                "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=days
            ),
        )
        if refusal is None:
            key = mrk.keys[region]
            key.window = days
            if region == mrk.primary and len(mrk.keys) > 1:
                key.state, key.deletion_date = "PendingReplicaDeletion", None
                assert response.deletion_date is None
            else:
                key.state, key.deletion_date = "PendingDeletion", self.now() + days * DAY
                assert math.isclose(response.deletion_date.timestamp(), key.deletion_date)
            assert response.key_state == key.state
            assert response.pending_window_in_days == days

    @rule(key_id=keys, region=st.sampled_from(REGIONS), days=st.integers(7, 30))
    def schedule_deletion(self, key_id: str, region: str, days: int) -> None:
        if not self.gone(key_id):
            self.schedule(key_id, region, days)

    @rule(
        key_id=keys,
        days=st.lists(st.integers(7, 30), min_size=len(REGIONS), max_size=len(REGIONS)),
        primary_first=st.booleans(),
    )
    def retire_the_group(self, key_id: str, days: list[int], primary_first: bool) -> None:
        """Schedule the deletion of every key of a group: the primary waits for its replicas."""
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        regions = sorted(mrk.keys, key=lambda r: (r == mrk.primary) != primary_first)
        for region, window in zip(regions, days, strict=False):
            self.schedule(key_id, region, window)

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def cancel_deletion(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        refusal = self.refusal("cancel", key_id, region)
        self.expect(refusal, lambda: self.clients[region].call("CancelKeyDeletion", KeyId=key_id))
        if refusal is None:
            key = self.model[key_id].keys[region]
            key.state, key.deletion_date, key.window = "Disabled", None, None

    @rule(key_id=keys, source=st.sampled_from(REGIONS), there=st.sampled_from(REGIONS))
    def encrypt_here_decrypt_there(self, key_id: str, source: str, there: str) -> None:
        if self.gone(key_id):
            return
        self.counter += 1
        plaintext = f"message {self.counter}".encode()
        response = self.expect(
            self.refusal("cryptographic", key_id, source),
            lambda: self.clients[source].call("Encrypt", KeyId=key_id, Plaintext=plaintext),
        )
        if response is None:
            return
        blob = response.ciphertext_blob
        refusal = self.refusal("cryptographic", key_id, there)
        if refusal is not None and refusal[0] is NotFoundException:
            # Decrypt without a KeyId finds no key for the blob in that Region.
            with pytest.raises(InvalidCiphertextException):
                self.clients[there].call("Decrypt", CiphertextBlob=blob)
            return
        result = self.expect(
            refusal, lambda: self.clients[there].call("Decrypt", CiphertextBlob=blob)
        )
        if result is not None:
            assert result.plaintext == plaintext
            assert result.key_id == arn(there, key_id)

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, DAY, 7 * DAY, 8 * DAY, 31 * DAY]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.tick()

    @rule(past=st.sampled_from([0.0, 1.0, DAY]))
    def advance_past_the_next_deletion(self, past: float) -> None:
        """Jump to a deletion (plus ``past``): where a primary's waiting period starts."""
        due = [
            key.deletion_date
            for mrk in self.model.values()
            for key in mrk.keys.values()
            if key.deletion_date is not None
        ]
        if due:
            self.clock.advance(max(0.0, min(due) - self.now()) + past)
            self.tick()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def describe_key_agrees_with_the_model(self) -> None:
        for key_id, mrk in self.model.items():
            primaries = []
            updating = False
            for region in REGIONS:
                key = mrk.keys.get(region)
                if key is None:
                    with pytest.raises(NotFoundException):
                        self.clients[region].call("DescribeKey", KeyId=key_id)
                    continue
                meta = self.clients[region].call("DescribeKey", KeyId=key_id).key_metadata
                expected = self.state(key)
                assert meta.key_state == expected
                assert meta.key_state in LEGAL
                assert meta.enabled is (expected in ("Enabled", "Updating"))
                if expected == "PendingDeletion":
                    assert meta.deletion_date is not None and key.deletion_date is not None
                    assert math.isclose(meta.deletion_date.timestamp(), key.deletion_date)
                else:
                    assert meta.deletion_date is None
                if expected == "PendingReplicaDeletion":
                    assert meta.pending_deletion_window_in_days == key.window
                else:
                    assert meta.pending_deletion_window_in_days is None
                config = meta.multi_region_configuration
                assert config.primary_key.region == mrk.primary
                assert sorted(k.region for k in config.replica_keys) == sorted(
                    r for r in mrk.keys if r != mrk.primary
                )
                if config.multi_region_key_type == "PRIMARY":
                    primaries.append(region)
                updating = updating or expected == "Updating"
            if not updating and mrk.primary in mrk.keys:
                assert primaries == [mrk.primary]

    def teardown(self) -> None:
        self.kms.close()


MultiRegionLifecycle.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestMultiRegionLifecycle = MultiRegionLifecycle.TestCase
