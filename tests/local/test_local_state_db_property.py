"""Property: whatever requests ran, the state database holds exactly the live state.

A hypothesis state machine drives a LocalKMS with a state database through every mutating
operation (keys, multi-Region replicas and primary moves, deletion schedules carried out by
the clock, descriptions, tags, policies, rotation, aliases), read-only requests that run the
deletion timeline, failed writes, and restarts. After every acknowledged mutating request the
database, loaded afresh, dumps exactly as the live store does (:meth:`Store.dump`); after any
other step, once pending clock-driven changes are saved, too. This is what proves that every
change is tracked (``Store.touch``) and that only tracked rows need writing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kms_mrk.errors import KMSInternalException, KMSServiceException
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._persist import read_database
from tests.local._calls import TestClient, make_client

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
DAY = 86400.0


def _policy(sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-policy",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


regions = st.sampled_from(REGIONS)
picks = st.integers(min_value=0, max_value=1000)
names = st.sampled_from(["alias/a", "alias/b", "alias/c"])
texts = st.text(alphabet="abcxyz-\u00e9\u2603", max_size=8)


class DatabaseMirrorsTheStore(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="kms-mrk-property-"))
        self.path = self.directory / "kms.db"
        self.clock = ManualClock()
        self.kms = self._open()
        self.key_ids: list[str] = []
        self.saved = True  # whether the last step ended with everything committed

    def _open(self) -> LocalKMS:
        return LocalKMS(
            state_file=self.path,
            clock=self.clock,
            replica_creating_seconds=2.0,
            updating_seconds=5.0,
        )

    def teardown(self) -> None:
        try:
            live = self.kms._store.dump()
            self.kms.close()
            assert read_database(self.path).dump() == live
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def client(self, region: str) -> TestClient:
        return make_client(self.kms, region)

    def key(self, pick: int) -> str:
        return self.key_ids[pick % len(self.key_ids)] if self.key_ids else "mrk-" + "0" * 32

    def mutate(self, region: str, operation: str, **members: Any) -> Any:
        """Send a mutating request; when acknowledged, the database must match at once."""
        try:
            answer = self.client(region).call(operation, **members)
        except KMSServiceException:
            self.saved = False  # refused: the clock may have changed things not saved yet
            return None
        assert read_database(self.path).dump() == self.kms._store.dump(), operation
        self.saved = True
        return answer

    # ------------------------------------------------------------------ rules

    @rule(region=regions, multi_region=st.booleans(), description=texts, tagged=st.booleans())
    def create_key(self, region: str, multi_region: bool, description: str, tagged: bool) -> None:
        tags = [{"TagKey": "team", "TagValue": description}] if tagged else []
        answer = self.mutate(
            region, "CreateKey", MultiRegion=multi_region, Description=description, Tags=tags
        )
        if answer is not None:
            self.key_ids.append(answer.key_metadata.key_id)

    @rule(pick=picks, region=regions, to=regions)
    def replicate(self, pick: int, region: str, to: str) -> None:
        self.mutate(region, "ReplicateKey", KeyId=self.key(pick), ReplicaRegion=to)

    @rule(pick=picks, region=regions, to=regions)
    def update_primary(self, pick: int, region: str, to: str) -> None:
        self.mutate(region, "UpdatePrimaryRegion", KeyId=self.key(pick), PrimaryRegion=to)

    @rule(pick=picks, region=regions, enable=st.booleans())
    def enable_or_disable(self, pick: int, region: str, enable: bool) -> None:
        self.mutate(region, "EnableKey" if enable else "DisableKey", KeyId=self.key(pick))

    @rule(pick=picks, region=regions, days=st.integers(min_value=7, max_value=30))
    def schedule_deletion(self, pick: int, region: str, days: int) -> None:
        self.mutate(region, "ScheduleKeyDeletion", KeyId=self.key(pick), PendingWindowInDays=days)

    @rule(pick=picks, region=regions)
    def cancel_deletion(self, pick: int, region: str) -> None:
        self.mutate(region, "CancelKeyDeletion", KeyId=self.key(pick))

    @rule(pick=picks, region=regions, description=texts)
    def describe(self, pick: int, region: str, description: str) -> None:
        self.mutate(region, "UpdateKeyDescription", KeyId=self.key(pick), Description=description)

    @rule(pick=picks, region=regions, key=st.sampled_from(["a", "b"]), value=texts)
    def tag(self, pick: int, region: str, key: str, value: str) -> None:
        self.mutate(
            region, "TagResource", KeyId=self.key(pick), Tags=[{"TagKey": key, "TagValue": value}]
        )

    @rule(pick=picks, region=regions, key=st.sampled_from(["a", "b", "team"]))
    def untag(self, pick: int, region: str, key: str) -> None:
        self.mutate(region, "UntagResource", KeyId=self.key(pick), TagKeys=[key])

    @rule(pick=picks, region=regions, sid=st.sampled_from(["one", "two"]))
    def put_policy(self, pick: int, region: str, sid: str) -> None:
        self.mutate(region, "PutKeyPolicy", KeyId=self.key(pick), Policy=_policy(sid))

    @rule(pick=picks, region=regions, days=st.none() | st.integers(90, 2560))
    def rotation(self, pick: int, region: str, days: int | None) -> None:
        if days is None:
            self.mutate(region, "DisableKeyRotation", KeyId=self.key(pick))
        else:
            self.mutate(
                region, "EnableKeyRotation", KeyId=self.key(pick), RotationPeriodInDays=days
            )

    @rule(pick=picks, region=regions, name=names, action=st.sampled_from(["create", "update"]))
    def alias(self, pick: int, region: str, name: str, action: str) -> None:
        operation = "CreateAlias" if action == "create" else "UpdateAlias"
        self.mutate(region, operation, AliasName=name, TargetKeyId=self.key(pick))

    @rule(region=regions, name=names)
    def delete_alias(self, region: str, name: str) -> None:
        self.mutate(region, "DeleteAlias", AliasName=name)

    @rule(seconds=st.sampled_from([1.0, 3.0, 6.0, 7 * DAY, 31 * DAY]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(region=regions)
    def read(self, region: str) -> None:
        """A read runs the deletion timeline; what it deletes is saved with the next write."""
        self.client(region).call("ListKeys")
        self.saved = False

    @precondition(lambda self: self.saved)
    @rule(region=regions)
    def failed_write(self, region: str) -> None:
        """A write the database refuses changes neither memory nor disk."""
        state_file = self.kms._state_file
        assert state_file is not None
        before = self.kms._store.dump()
        original = state_file.write

        def refuse(batches: list[Any]) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        state_file.write = refuse  # type: ignore[method-assign]
        try:
            self.client(region).call("CreateKey", Description="never saved")
        except KMSInternalException as exc:
            assert "not made" in exc.message
        else:  # pragma: no cover - the assertion below explains
            raise AssertionError("a CreateKey whose write failed was acknowledged")
        finally:
            del state_file.write
        assert state_file.write == original
        assert self.kms._store.dump() == before
        assert read_database(self.path).dump() == before

    @rule()
    def restart(self) -> None:
        live = self.kms._store.dump()
        self.kms.close()
        self.kms = self._open()
        assert self.kms._store.dump() == live
        self.saved = True

    # ------------------------------------------------------------------ invariant

    @invariant()
    def database_matches_once_saved(self) -> None:
        if not self.saved:
            self.kms._save()
            self.saved = True
        assert read_database(self.path).dump() == self.kms._store.dump()


TestDatabaseMirrorsTheStore = DatabaseMirrorsTheStore.TestCase
TestDatabaseMirrorsTheStore.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
