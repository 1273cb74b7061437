"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and grants
in the authorizer (constraints, grant tokens, per-Region grants, Deny wins)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from kms_mrk.auth import Credentials
from kms_mrk.errors import (
    AccessDeniedException,
    DryRunOperationException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    KMSInvalidStateException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._handlers import _grants
from tests.local._calls import TestClient, make_client

ACCOUNT = "111122223333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ALICE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session-1"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ADMIN_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:*", "Resource": "*"}
        ],
    }
)


class People:
    def __init__(self, kms: LocalKMS) -> None:
        self.kms = kms
        self.admin = make_client(kms, credentials=Credentials("AKIDADMIN", "a"))
        self.alice = make_client(kms, credentials=Credentials("AKIDALICE", "a"))
        self.bob = make_client(kms, credentials=Credentials("AKIDBOB", "b"))
        self.session = make_client(kms, credentials=Credentials("AKIDSESSION", "s"))
        self.root = make_client(kms)

    def key(self, **members: Any) -> str:
        created = self.admin.call("CreateKey", Policy=ADMIN_ONLY, **members)
        key_id: str = created.key_metadata.key_id
        return key_id


@pytest.fixture
def people(clock: ManualClock) -> People:
    kms = LocalKMS(
        clock=clock,
        replica_creating_seconds=2,
        seed=3,
        principals={
            "AKIDADMIN": ADMIN,
            "AKIDALICE": ALICE,
            "AKIDBOB": BOB,
            "AKIDSESSION": ALICE_SESSION,
        },
    )
    return People(kms)


def grant(client: TestClient, key_id: str, grantee: str, *operations: str, **members: Any) -> Any:
    return client.call(
        "CreateGrant",
        KeyId=key_id,
        GranteePrincipal=grantee,
        Operations=list(operations),
        **members,
    )


def test_a_grant_allows_what_the_key_policy_does_not_until_revoked(people: People) -> None:
    key_id = people.key()
    with pytest.raises(AccessDeniedException, match=r"kms:Encrypt"):
        people.alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    made = grant(people.admin, key_id, ALICE, "Encrypt", "Decrypt")
    assert re.fullmatch(r"[0-9a-f]{64}", made.grant_id)
    assert made.grant_token.startswith("AQpA")
    blob = people.alice.call(
        "Encrypt", KeyId=key_id, Plaintext=b"x", GrantTokens=[made.grant_token]
    ).ciphertext_blob
    assert people.alice.call("Decrypt", CiphertextBlob=blob).plaintext == b"x"
    # only the granted operations, only for the grantee
    with pytest.raises(AccessDeniedException):
        people.alice.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
    with pytest.raises(AccessDeniedException):
        people.bob.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    listed = people.admin.call("ListGrants", KeyId=key_id).grants
    assert len(listed) == 1
    entry = listed[0]
    assert entry.grant_id == made.grant_id
    assert entry.key_id == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert entry.grantee_principal == ALICE
    assert entry.issuing_account == ROOT
    assert [str(op) for op in entry.operations] == ["Encrypt", "Decrypt"]
    assert entry.constraints is None
    people.admin.call("RevokeGrant", KeyId=key_id, GrantId=made.grant_id)
    with pytest.raises(AccessDeniedException):
        people.alice.call("Decrypt", CiphertextBlob=blob)
    assert people.admin.call("ListGrants", KeyId=key_id).grants == []
    with pytest.raises(NotFoundException, match="not found"):
        people.admin.call("RevokeGrant", KeyId=key_id, GrantId=made.grant_id)


def test_an_explicit_deny_in_the_key_policy_beats_a_grant(people: People) -> None:
    policy = json.loads(ADMIN_ONLY)
    policy["Statement"].append(
        {"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    key_id = people.key()
    people.admin.call("PutKeyPolicy", KeyId=key_id, Policy=json.dumps(policy))
    grant(people.admin, key_id, ALICE, "Encrypt", "Decrypt")
    blob = people.alice.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    with pytest.raises(AccessDeniedException, match="explicit deny"):
        people.alice.call("Decrypt", CiphertextBlob=blob)


def test_a_grant_to_a_role_covers_its_sessions_and_one_to_the_account_everyone(
    people: People,
) -> None:
    key_id = people.key()
    grant(people.admin, key_id, APP_ROLE, "Encrypt")
    people.session.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    with pytest.raises(AccessDeniedException):
        people.bob.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    grant(people.admin, key_id, ACCOUNT, "Encrypt")
    people.bob.call("Encrypt", KeyId=key_id, Plaintext=b"x")


def test_encryption_context_constraints(people: People) -> None:
    key_id = people.key()
    grant(
        people.admin,
        key_id,
        ALICE,
        "Encrypt",
        "Decrypt",
        "DescribeKey",
        Constraints={"EncryptionContextSubset": {"Purpose": "billing"}},
    )
    alice = people.alice
    blob = alice.call(
        "Encrypt",
        KeyId=key_id,
        Plaintext=b"x",
        EncryptionContext={"purpose": "billing", "Tenant": "7"},  # keys fold case
    ).ciphertext_blob
    with pytest.raises(AccessDeniedException):
        alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    with pytest.raises(AccessDeniedException):  # values do not fold case
        alice.call(
            "Encrypt", KeyId=key_id, Plaintext=b"x", EncryptionContext={"Purpose": "BILLING"}
        )
    decrypted = alice.call(
        "Decrypt", CiphertextBlob=blob, EncryptionContext={"purpose": "billing", "Tenant": "7"}
    )
    assert decrypted.plaintext == b"x"
    # operations without an encryption context are not constrained
    alice.call("DescribeKey", KeyId=key_id)

    other = people.key()
    grant(
        people.admin,
        other,
        ALICE,
        "Encrypt",
        Constraints={"EncryptionContextEquals": {"Purpose": "billing"}},
    )
    alice.call("Encrypt", KeyId=other, Plaintext=b"x", EncryptionContext={"PURPOSE": "billing"})
    with pytest.raises(AccessDeniedException):
        alice.call(
            "Encrypt",
            KeyId=other,
            Plaintext=b"x",
            EncryptionContext={"Purpose": "billing", "Tenant": "7"},
        )
    listed = people.admin.call("ListGrants", KeyId=other).grants[0]
    assert listed.constraints.encryption_context_equals == {"Purpose": "billing"}
    assert listed.constraints.encryption_context_subset is None


def test_re_encrypt_checks_each_side_with_its_own_context(people: People) -> None:
    source, destination = people.key(), people.key()
    grant(
        people.admin,
        source,
        ALICE,
        "ReEncryptFrom",
        Constraints={"EncryptionContextSubset": {"side": "from"}},
    )
    grant(
        people.admin,
        destination,
        ALICE,
        "ReEncryptTo",
        Constraints={"EncryptionContextSubset": {"side": "to"}},
    )
    blob = people.admin.call(
        "Encrypt", KeyId=source, Plaintext=b"x", EncryptionContext={"side": "from"}
    ).ciphertext_blob
    moved = people.alice.call(
        "ReEncrypt",
        CiphertextBlob=blob,
        SourceEncryptionContext={"side": "from"},
        DestinationKeyId=destination,
        DestinationEncryptionContext={"side": "to"},
    )
    assert moved.key_id.endswith(destination)
    with pytest.raises(AccessDeniedException, match="ReEncryptTo"):
        people.alice.call(
            "ReEncrypt",
            CiphertextBlob=blob,
            SourceEncryptionContext={"side": "from"},
            DestinationKeyId=destination,
            DestinationEncryptionContext={"side": "from"},
        )


def test_grants_belong_to_one_region(people: People) -> None:
    key_id = people.key(MultiRegion=True)
    people.admin.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1", Policy=ADMIN_ONLY)
    people.kms.advance(2)
    grant(people.admin, key_id, ALICE, "Encrypt")
    people.alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    west_alice = people.alice.for_region("eu-west-1")
    with pytest.raises(AccessDeniedException):
        west_alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    assert people.admin.for_region("eu-west-1").call("ListGrants", KeyId=key_id).grants == []


def test_name_makes_create_grant_idempotent_for_identical_terms(people: People) -> None:
    key_id = people.key()
    first = grant(people.admin, key_id, ALICE, "Encrypt", "Decrypt", Name="app")
    again = grant(people.admin, key_id, ALICE, "Decrypt", "Encrypt", Name="app")
    assert again.grant_id == first.grant_id
    assert again.grant_token != first.grant_token
    people.alice.call("Encrypt", KeyId=key_id, Plaintext=b"x", GrantTokens=[again.grant_token])
    other = grant(people.admin, key_id, ALICE, "Encrypt", Name="app")
    assert other.grant_id != first.grant_id
    unnamed = [grant(people.admin, key_id, BOB, "Encrypt") for _ in range(2)]
    assert unnamed[0].grant_id != unnamed[1].grant_id
    names = [g.name for g in people.admin.call("ListGrants", KeyId=key_id).grants]
    assert names == ["app", "app", None, None]


def test_retire_grant_who_may_and_how(people: People) -> None:
    key_id = people.key()
    by_token = grant(people.admin, key_id, ALICE, "Encrypt", RetiringPrincipal=BOB)
    with pytest.raises(AccessDeniedException, match="kms:RetireGrant"):
        people.alice.call("RetireGrant", GrantToken=by_token.grant_token)
    people.bob.call("RetireGrant", GrantToken=by_token.grant_token)
    with pytest.raises(NotFoundException):
        people.bob.call("RetireGrant", GrantToken=by_token.grant_token)

    self_retiring = grant(people.admin, key_id, ALICE, "Encrypt", "RetireGrant")
    people.alice.call("RetireGrant", KeyId=key_id, GrantId=self_retiring.grant_id)

    plain = grant(people.admin, key_id, ALICE, "Encrypt")
    with pytest.raises(AccessDeniedException):
        people.alice.call("RetireGrant", KeyId=key_id, GrantId=plain.grant_id)
    people.root.call("RetireGrant", KeyId=key_id, GrantId=plain.grant_id)  # the key's account
    assert people.admin.call("ListGrants", KeyId=key_id).grants == []

    with pytest.raises(ValidationException, match="GrantToken"):
        people.root.call("RetireGrant", KeyId=key_id)
    with pytest.raises(InvalidGrantIdException):
        people.root.call("RetireGrant", KeyId=key_id, GrantId="not-a-grant-id")


def test_retire_grant_works_on_a_key_pending_deletion(people: People) -> None:
    key_id = people.key()
    made = grant(people.admin, key_id, ALICE, "Encrypt", RetiringPrincipal=ALICE)
    people.admin.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(KMSInvalidStateException, match="pending deletion"):
        grant(people.admin, key_id, ALICE, "Encrypt")
    people.alice.call("RetireGrant", GrantToken=made.grant_token)


def test_malformed_grant_tokens_are_refused_everywhere(people: People) -> None:
    key_id = people.key()
    for token in ("nonsense", base64.b64encode(b"\x01\x0a\x40" + b"0" * 10).decode()):
        with pytest.raises(InvalidGrantTokenException):
            people.admin.call("Encrypt", KeyId=key_id, Plaintext=b"x", GrantTokens=[token])
        with pytest.raises(InvalidGrantTokenException):
            people.admin.call("DescribeKey", KeyId=key_id, GrantTokens=[token])
        with pytest.raises(InvalidGrantTokenException):
            people.admin.call("RetireGrant", GrantToken=token)


def test_list_retirable_grants_spans_the_keys_of_the_region(people: People) -> None:
    keys = [people.key(), people.key()]
    made = [grant(people.admin, k, ALICE, "Encrypt", RetiringPrincipal=BOB) for k in keys]
    grant(people.admin, keys[0], ALICE, "Decrypt")  # no retiring principal
    page = people.bob.call("ListRetirableGrants", RetiringPrincipal=BOB, Limit=1)
    assert page.truncated
    rest = people.bob.call("ListRetirableGrants", RetiringPrincipal=BOB, Marker=page.next_marker)
    assert not rest.truncated
    found = [(g.key_id.rsplit("/", 1)[1], g.grant_id) for g in page.grants + rest.grants]
    assert found == [(k, m.grant_id) for k, m in zip(keys, made, strict=True)]
    assert people.bob.call("ListRetirableGrants", RetiringPrincipal=ALICE).grants == []


def test_list_grants_filters_and_pages(people: People) -> None:
    key_id = people.key()
    made = [grant(people.admin, key_id, who, "Encrypt") for who in (ALICE, BOB, ALICE)]
    by_alice = people.admin.call("ListGrants", KeyId=key_id, GranteePrincipal=ALICE).grants
    assert [g.grant_id for g in by_alice] == [made[0].grant_id, made[2].grant_id]
    one = people.admin.call("ListGrants", KeyId=key_id, GrantId=made[1].grant_id).grants
    assert [g.grantee_principal for g in one] == [BOB]
    seen, marker = [], None
    while True:
        members: dict[str, Any] = {"KeyId": key_id, "Limit": 2}
        if marker:
            members["Marker"] = marker
        page = people.admin.call("ListGrants", **members)
        seen += [g.grant_id for g in page.grants]
        marker = page.next_marker
        if not page.truncated:
            break
    assert seen == [m.grant_id for m in made]
    with pytest.raises(InvalidGrantIdException):
        people.admin.call("ListGrants", KeyId=key_id, GrantId="x")


def test_create_grant_validation(people: People) -> None:
    key_id = people.key()
    with pytest.raises(ValidationException, match="Sign"):
        grant(people.admin, key_id, ALICE, "Encrypt", "Sign")
    with pytest.raises(ValidationException, match=r"[gG]ranteePrincipal"):
        grant(people.admin, key_id, "alice", "Encrypt")
    with pytest.raises(ValidationException, match="at least one operation"):
        grant(people.admin, key_id, ALICE)
    hmac_key = people.key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    grant(people.admin, hmac_key, ALICE, "GenerateMac")
    with pytest.raises(ValidationException, match="symmetric encryption"):
        grant(
            people.admin,
            hmac_key,
            ALICE,
            "GenerateMac",
            Constraints={"EncryptionContextSubset": {"a": "b"}},
        )
    with pytest.raises(AccessDeniedException, match="kms:CreateGrant"):
        grant(people.alice, key_id, ALICE, "Encrypt")
    with pytest.raises(DryRunOperationException):
        grant(people.admin, key_id, ALICE, "Encrypt", DryRun=True)
    assert people.admin.call("ListGrants", KeyId=key_id).grants == []


def test_a_grant_for_create_grant_lets_the_grantee_grant(people: People) -> None:
    key_id = people.key()
    grant(people.admin, key_id, ALICE, "CreateGrant")
    grant(people.alice, key_id, BOB, "Encrypt")
    people.bob.call("Encrypt", KeyId=key_id, Plaintext=b"x")


def test_grants_per_key_are_limited(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_grants, "MAX_GRANTS_PER_KEY", 2)
    key_id = people.key()
    grant(people.admin, key_id, ALICE, "Encrypt", Name="a")
    grant(people.admin, key_id, ALICE, "Encrypt", Name="b")
    grant(people.admin, key_id, ALICE, "Encrypt", Name="a")  # idempotent: no new grant
    with pytest.raises(LimitExceededException):
        grant(people.admin, key_id, ALICE, "Encrypt", Name="c")


def test_grants_survive_a_restart(tmp_path: Any, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    kms = LocalKMS(clock=clock, state_file=path, principals={"AKIDALICE": ALICE})
    root = make_client(kms)
    key_id = root.call("CreateKey").key_metadata.key_id
    made = grant(
        root,
        key_id,
        ALICE,
        "Decrypt",
        Name="n",
        RetiringPrincipal=ROOT,
        Constraints={"EncryptionContextSubset": {"k": "v"}},
    )
    kms.close()
    again = LocalKMS(clock=clock, state_file=path, principals={"AKIDALICE": ALICE})
    listed = make_client(again).call("ListGrants", KeyId=key_id).grants
    assert [(g.grant_id, g.name, g.retiring_principal) for g in listed] == [
        (made.grant_id, "n", ROOT)
    ]
    assert listed[0].constraints.encryption_context_subset == {"k": "v"}
    again.close()
