"""A hypothesis state machine of the multi-Region key lifecycle against a simple model.

Rules create primaries, replicate, move the primary Region, enable and disable, schedule and
cancel deletions, encrypt in one Region and decrypt in another, and move the clock. Each rule
predicts from the model whether the local KMS accepts the request; refusals must be modeled
KMS errors (HTTP 400), never internal errors. Invariants after every step: DescribeKey agrees
with the model in every Region, every key state is legal, and once no key of a multi-Region
key is Updating exactly one of them is the primary.
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

from kms_mrk.errors import KMSInternalException, KMSServiceException, NotFoundException
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
CREATING = 2.0
UPDATING = 5.0
DAY = 86400.0
LEGAL = {"Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "Creating", "Updating"}


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

    def expect(self, accepted: bool, call: Callable[[], Any]) -> Any:
        if accepted:
            return call()
        with pytest.raises(KMSServiceException) as info:
            call()
        assert not isinstance(info.value, KMSInternalException)
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
        primary = mrk.keys.get(mrk.primary)
        accepted = (
            primary is not None
            and region not in mrk.keys
            and self.state(primary) in ("Enabled", "Disabled")
        )
        self.expect(
            accepted,
            lambda: self.clients[mrk.primary].call(
                "ReplicateKey", KeyId=key_id, ReplicaRegion=region
            ),
        )
        if accepted:
            mrk.keys[region] = ModelKey(creating_until=self.now() + CREATING)

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def update_primary_region(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        primary, target = mrk.keys.get(mrk.primary), mrk.keys.get(region)
        accepted = (
            primary is not None
            and target is not None
            and region != mrk.primary
            and self.state(primary) == "Enabled"
            and self.state(target) == "Enabled"
        )
        self.expect(
            accepted,
            lambda: self.clients[mrk.primary].call(
                "UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion=region
            ),
        )
        if accepted:
            assert primary is not None and target is not None
            primary.updating_until = target.updating_until = self.now() + UPDATING
            mrk.primary = region

    @rule(key_id=keys, region=st.sampled_from(REGIONS), enable=st.booleans())
    def enable_or_disable(self, key_id: str, region: str, enable: bool) -> None:
        if self.gone(key_id):
            return
        key = self.model[key_id].keys.get(region)
        accepted = key is not None and self.state(key) in ("Enabled", "Disabled")
        operation = "EnableKey" if enable else "DisableKey"
        self.expect(accepted, lambda: self.clients[region].call(operation, KeyId=key_id))
        if accepted:
            assert key is not None
            key.state = "Enabled" if enable else "Disabled"

    @rule(key_id=keys, region=st.sampled_from(REGIONS), days=st.integers(7, 30))
    def schedule_deletion(self, key_id: str, region: str, days: int) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        key = mrk.keys.get(region)
        accepted = key is not None and self.state(key) in ("Enabled", "Disabled")
        response = self.expect(
            accepted,
            lambda: self.clients[region].call(
                "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=days
            ),
        )
        if accepted:
            assert key is not None
            key.window = days
            if region == mrk.primary and len(mrk.keys) > 1:
                key.state, key.deletion_date = "PendingReplicaDeletion", None
            else:
                key.state, key.deletion_date = "PendingDeletion", self.now() + days * DAY
            assert response.key_state == key.state

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def cancel_deletion(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        key = self.model[key_id].keys.get(region)
        accepted = key is not None and self.state(key) in (
            "PendingDeletion",
            "PendingReplicaDeletion",
        )
        self.expect(accepted, lambda: self.clients[region].call("CancelKeyDeletion", KeyId=key_id))
        if accepted:
            assert key is not None
            key.state, key.deletion_date, key.window = "Disabled", None, None

    @rule(key_id=keys, source=st.sampled_from(REGIONS), there=st.sampled_from(REGIONS))
    def encrypt_here_decrypt_there(self, key_id: str, source: str, there: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]

        def usable(region: str) -> bool:
            key = mrk.keys.get(region)
            return key is not None and self.state(key) in ("Enabled", "Updating")

        self.counter += 1
        plaintext = f"message {self.counter}".encode()
        response = self.expect(
            usable(source),
            lambda: self.clients[source].call("Encrypt", KeyId=key_id, Plaintext=plaintext),
        )
        if response is None:
            return
        blob = response.ciphertext_blob
        result = self.expect(
            usable(there), lambda: self.clients[there].call("Decrypt", CiphertextBlob=blob)
        )
        if result is not None:
            assert result.plaintext == plaintext

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, DAY, 7 * DAY, 31 * DAY]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
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
    max_examples=40, stateful_step_count=30, deadline=None
)
TestMultiRegionLifecycle = MultiRegionLifecycle.TestCase
