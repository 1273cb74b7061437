"""A hypothesis state machine of the multi-Region key lifecycle against a simple model.

Rules create primaries (with generated or imported key material), replicate, move the
primary Region, enable and disable, schedule and cancel deletions (one key, or every key of
a group at once, which drives the deletion timeline of a primary waiting for its replicas),
encrypt in one Region and decrypt in another (also ciphertexts made before rotations), grant
and revoke another principal's use of a key in one Region and have it use the key, rotate on
demand and enable automatic rotation, import and delete key material per Region, and move
the clock. Each rule predicts from the model whether the local KMS accepts
the request and, when it refuses, the exact exception class and message the KMS key-state
table gives (written out here from the documentation, not read from the implementation).
Invariants after every step: DescribeKey agrees with the model in every Region (state,
deletion date, waiting period, primary and replicas, current key material), every key state
is legal, every Region lists the rotations the model counts, and once no key of a
multi-Region key is Updating exactly one of them is the primary.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from kms_mrk.auth import Credentials
from kms_mrk.errors import (
    AccessDeniedException,
    AlreadyExistsException,
    DisabledException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    KMSInvalidStateException,
    KMSServiceException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock, _crypto
from tests.local._calls import TestClient, make_client

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
CREATING = 2.0
UPDATING = 5.0
DAY = 86400.0
LEGAL = {
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingReplicaDeletion",
    "PendingImport",
    "Creating",
    "Updating",
}
ACCOUNT = "111122223333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
# Only the admin may use keys through their policy: Alice needs a grant.
ADMIN_ONLY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'
    + ADMIN
    + '"},"Action":"kms:*","Resource":"*"}]}'
)
PERIOD = 90
_WRAPPING: list[bytes] = []  # one RSA wrapping key for every GetParametersForImport here
_NEW_WRAPPING_KEY = _crypto.new_wrapping_key


def wrapping_key(spec: str) -> bytes:
    if not _WRAPPING:
        _WRAPPING.append(_NEW_WRAPPING_KEY("RSA_2048"))
    return _WRAPPING[0]


Refusal = tuple[type[KMSServiceException], str]

# What the key-state table of the KMS Developer Guide says, per kind of operation: the
# exception and message (after the key ARN) in each state that refuses it.
PENDING = {
    "PendingDeletion": (KMSInvalidStateException, " is pending deletion."),
    "PendingReplicaDeletion": (KMSInvalidStateException, " is pending replica deletion."),
    "Creating": (KMSInvalidStateException, " is creating."),
}
IMPORT = {"PendingImport": (KMSInvalidStateException, " is pending import.")}
UPDATING_ = {"Updating": (KMSInvalidStateException, " is updating.")}
DISABLED_ = {"Disabled": (DisabledException, " is disabled.")}
EXTERNAL_ = {
    "PendingImport": (
        UnsupportedOperationException,
        " origin is EXTERNAL which is not valid for this operation.",
    )
}
REFUSED_IN: dict[str, dict[str, tuple[type[KMSServiceException], str]]] = {
    "cryptographic": {**PENDING, **DISABLED_, **IMPORT},
    "enable_disable": {**PENDING, **UPDATING_, **IMPORT},
    "schedule": {**PENDING, **UPDATING_},
    "replicate": {**PENDING, **UPDATING_},
    "update_primary": {**PENDING, **DISABLED_, **UPDATING_, **IMPORT},
    "cancel": {
        state: (KMSInvalidStateException, " is not pending deletion.")
        for state in ("Enabled", "Disabled", "Creating", "Updating", "PendingImport")
    },
    "create_grant": {
        "PendingDeletion": PENDING["PendingDeletion"],
        "PendingReplicaDeletion": PENDING["PendingReplicaDeletion"],
    },
    "rotate": {**PENDING, **DISABLED_, **UPDATING_, **IMPORT},
    "rotation_change": {**PENDING, **DISABLED_, **UPDATING_, **EXTERNAL_},
    "import": {**PENDING},
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
    imported: bool = False
    grants: list[str] = field(default_factory=list)


@dataclass
class ModelMrk:
    primary: str
    keys: dict[str, ModelKey] = field(default_factory=dict)
    external: bool = False
    material: bytes | None = None  # imported key material, once imported anywhere
    rotations: int = 0
    on_demand: int = 0
    rotating_from: float | None = None  # automatic rotation: when the period began
    blobs: list[tuple[bytes, bytes]] = field(default_factory=list)


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
            principals={"AKIDADMIN": ADMIN, "AKIDALICE": ALICE},
        )
        self.patch = pytest.MonkeyPatch()
        self.patch.setattr(_crypto, "new_wrapping_key", wrapping_key)  # RSA keygen is slow
        base = make_client(self.kms, credentials=Credentials("AKIDADMIN", "s"))
        alice = make_client(self.kms, credentials=Credentials("AKIDALICE", "s"))
        self.clients: dict[str, TestClient] = {r: base.for_region(r) for r in REGIONS}
        self.alice: dict[str, TestClient] = {r: alice.for_region(r) for r in REGIONS}
        self.model: dict[str, ModelMrk] = {}
        self.counter = 0

    # ------------------------------------------------------------------ model helpers

    def now(self) -> float:
        return self.clock.now()

    def state(self, key: ModelKey, external: bool = False) -> str:
        if self.now() < key.creating_until:
            return "Creating"
        if self.now() < key.updating_until:
            return "Updating"
        if external and not key.imported and key.state in ("Enabled", "Disabled"):
            return "PendingImport"
        return key.state

    def rotate_automatically(self) -> None:
        """Automatic rotations due by now, of keys whose primary is Enabled."""
        for mrk in self.model.values():
            primary = mrk.keys.get(mrk.primary)
            if primary is None or primary.state != "Enabled" or mrk.rotating_from is None:
                continue
            while mrk.rotating_from + PERIOD * DAY <= self.now():
                mrk.rotating_from += PERIOD * DAY
                mrk.rotations += 1

    def tick(self) -> None:
        """Rotate what is due; delete what is due, in date order, starting primaries' waiting
        periods."""
        self.rotate_automatically()
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
        mrk = self.model[key_id]
        key = mrk.keys.get(region)
        if key is None:
            return not_found(region, key_id)
        refused = REFUSED_IN[kind].get(self.state(key, mrk.external))
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

    @rule(
        target=keys,
        region=st.sampled_from(REGIONS),
        origin=st.sampled_from(["AWS_KMS", "AWS_KMS, rotating", "EXTERNAL"]),
    )
    def create(self, region: str, origin: str) -> str:
        external = origin == "EXTERNAL"
        extra = {"Origin": "EXTERNAL"} if external else {}
        created = self.clients[region].call(
            "CreateKey", MultiRegion=True, Policy=ADMIN_ONLY, **extra
        )
        key_id: str = created.key_metadata.key_id
        mrk = ModelMrk(primary=region, keys={region: ModelKey()}, external=external)
        self.model[key_id] = mrk
        if origin.endswith("rotating"):
            self.clients[region].call(
                "EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=PERIOD
            )
            mrk.rotating_from = self.now()
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
                "ReplicateKey", KeyId=primary_arn, ReplicaRegion=region, Policy=ADMIN_ONLY
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
            mrk = self.model[key_id]
            key = mrk.keys[region]
            was = key.state
            key.state = "Enabled" if enable else "Disabled"
            due = mrk.rotating_from is not None and (mrk.rotating_from + PERIOD * DAY <= self.now())
            if enable and was != "Enabled" and region == mrk.primary and due:
                mrk.rotations += 1  # EnableKey catches up on a missed rotation
                mrk.rotating_from = self.now()

    def schedule(self, key_id: str, region: str, days: int) -> None:
        mrk = self.model[key_id]
        refusal = self.refusal("schedule", key_id, region)
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
        self.model[key_id].blobs.append((blob, plaintext))
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

    @rule(key_id=keys, region=st.sampled_from(REGIONS), which=st.integers(0, 5))
    def decrypt_an_older_ciphertext(self, key_id: str, region: str, which: int) -> None:
        """Ciphertexts made before rotations (and imports) still decrypt."""
        if self.gone(key_id) or not self.model[key_id].blobs:
            return
        blobs = self.model[key_id].blobs
        blob, plaintext = blobs[which % len(blobs)]
        refusal = self.refusal("cryptographic", key_id, region)
        if refusal is not None and refusal[0] is NotFoundException:
            with pytest.raises(InvalidCiphertextException):
                self.clients[region].call("Decrypt", CiphertextBlob=blob)
            return
        result = self.expect(
            refusal, lambda: self.clients[region].call("Decrypt", CiphertextBlob=blob)
        )
        if result is not None:
            assert result.plaintext == plaintext

    @rule(
        key_id=keys,
        region=st.sampled_from(REGIONS),
        change=st.sampled_from(
            ["grant", "grant, then revoke", "grant, then retire", "revoke", "none"]
        ),
    )
    def alice_uses_a_grant(self, key_id: str, region: str, change: str) -> None:
        """Grant Alice Encrypt (and maybe revoke it, or have her retire it, at once), or
        revoke her last grant, in one Region; then she tries to encrypt there. She may use
        the key only where she holds a grant (grants do not replicate), and a revoked or
        retired grant stops working at once."""
        if self.gone(key_id):
            return
        key = self.model[key_id].keys.get(region)
        if change.startswith("grant"):
            made = self.expect(
                self.refusal("create_grant", key_id, region),
                lambda: self.clients[region].call(
                    "CreateGrant",
                    KeyId=key_id,
                    GranteePrincipal=ALICE,
                    RetiringPrincipal=ALICE,
                    Operations=["Encrypt"],
                ),
            )
            if made is not None:
                assert key is not None
                key.grants.append(made.grant_id)
                if change.endswith("revoke"):
                    self.clients[region].call("RevokeGrant", KeyId=key_id, GrantId=key.grants.pop())
                elif change.endswith("retire"):
                    self.alice[region].call("RetireGrant", GrantToken=made.grant_token)
                    key.grants.pop()
        elif change == "revoke" and key is not None and key.grants:
            self.clients[region].call("RevokeGrant", KeyId=key_id, GrantId=key.grants.pop())
        refusal: Refusal | None
        if key is None:
            refusal = not_found(region, key_id)
        elif not key.grants:
            refusal = (
                AccessDeniedException,
                f"User: {ALICE} is not authorized to perform: kms:Encrypt on resource: "
                f"{arn(region, key_id)} because no resource-based policy allows the "
                "kms:Encrypt action",
            )
        else:
            refusal = self.refusal("cryptographic", key_id, region)
        self.expect(
            refusal, lambda: self.alice[region].call("Encrypt", KeyId=key_id, Plaintext=b"a")
        )

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def rotate_on_demand(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        refusal = self.refusal("rotate", key_id, region)
        if refusal is None and region != mrk.primary:
            refusal = (
                UnsupportedOperationException,
                f"{arn(region, key_id)} is not a multi-region primary key.",
            )
        if refusal is None and mrk.external:
            refusal = (
                UnsupportedOperationException,
                f"{arn(region, key_id)} origin is EXTERNAL which is not valid for "
                "RotateKeyOnDemand (importing new key material is not modeled).",
            )
        self.expect(refusal, lambda: self.clients[region].call("RotateKeyOnDemand", KeyId=key_id))
        if refusal is None:
            mrk.rotations += 1
            mrk.on_demand += 1

    @rule(key_id=keys)
    def enable_automatic_rotation(self, key_id: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        refusal = self.refusal("rotation_change", key_id, mrk.primary)
        if refusal is None and mrk.external:
            refusal = (
                UnsupportedOperationException,
                f"{arn(mrk.primary, key_id)} origin is EXTERNAL which is not valid for "
                "EnableKeyRotation.",
            )
        self.expect(
            refusal,
            lambda: self.clients[mrk.primary].call(
                "EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=PERIOD
            ),
        )
        if refusal is None and mrk.rotating_from is None:
            mrk.rotating_from = self.now()

    @rule(key_id=keys, region=st.sampled_from(REGIONS), wrong=st.booleans())
    def import_material(self, key_id: str, region: str, wrong: bool) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        refusal = self.refusal("import", key_id, region)
        if refusal is None and not mrk.external:
            refusal = (
                UnsupportedOperationException,
                f"{arn(region, key_id)} origin is AWS_KMS which is not valid for "
                "GetParametersForImport.",
            )
        material = mrk.material if mrk.material is not None and not wrong else os.urandom(32)
        client = self.clients[region]

        def both() -> Any:
            params = client.call(
                "GetParametersForImport",
                KeyId=key_id,
                WrappingAlgorithm="RSAES_OAEP_SHA_256",
                WrappingKeySpec="RSA_2048",
            )
            public: Any = serialization.load_der_public_key(params.public_key)
            sha = hashes.SHA256()
            oaep = padding.OAEP(mgf=padding.MGF1(algorithm=sha), algorithm=sha, label=None)
            if refusal is None and mrk.material is not None and wrong:
                with pytest.raises(IncorrectKeyMaterialException):
                    client.call(
                        "ImportKeyMaterial",
                        KeyId=key_id,
                        ImportToken=params.import_token,
                        EncryptedKeyMaterial=public.encrypt(material, oaep),
                        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                    )
                return None
            return client.call(
                "ImportKeyMaterial",
                KeyId=key_id,
                ImportToken=params.import_token,
                EncryptedKeyMaterial=public.encrypt(material, oaep),
                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
            )

        done = self.expect(refusal, both)
        if done is not None:
            mrk.material = material
            mrk.keys[region].imported = True

    @rule(key_id=keys, region=st.sampled_from(REGIONS))
    def delete_material(self, key_id: str, region: str) -> None:
        if self.gone(key_id):
            return
        mrk = self.model[key_id]
        refusal = self.refusal("import", key_id, region)
        if refusal is None and not mrk.external:
            refusal = (
                UnsupportedOperationException,
                f"{arn(region, key_id)} origin is AWS_KMS which is not valid for "
                "DeleteImportedKeyMaterial.",
            )
        self.expect(
            refusal, lambda: self.clients[region].call("DeleteImportedKeyMaterial", KeyId=key_id)
        )
        if refusal is None:
            mrk.keys[region].imported = False

    @rule(
        seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, DAY, 7 * DAY, 8 * DAY, 31 * DAY, PERIOD * DAY])
    )
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
            materials: set[str | None] = set()
            updating = False
            for region in REGIONS:
                key = mrk.keys.get(region)
                if key is None:
                    with pytest.raises(NotFoundException):
                        self.clients[region].call("DescribeKey", KeyId=key_id)
                    continue
                meta = self.clients[region].call("DescribeKey", KeyId=key_id).key_metadata
                expected = self.state(key, mrk.external)
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
                if expected in ("Creating", "PendingImport") or (mrk.external and not key.imported):
                    assert meta.current_key_material_id is None
                else:
                    materials.add(meta.current_key_material_id)
                if not mrk.external:
                    rotations = self.clients[region].call("ListKeyRotations", KeyId=key_id)
                    assert len(rotations.rotations) == mrk.rotations
                updating = updating or expected == "Updating"
            if not updating and mrk.primary in mrk.keys:
                assert primaries == [mrk.primary]
            assert len(materials) <= 1 and None not in materials

    def teardown(self) -> None:
        self.patch.undo()
        self.kms.close()


MultiRegionLifecycle.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestMultiRegionLifecycle = MultiRegionLifecycle.TestCase
