"""Key policies: the default one, PutKeyPolicy validation, and Allow/Deny enforcement."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kms_mrk.auth import Credentials
from kms_mrk.errors import (
    AccessDeniedException,
    MalformedPolicyDocumentException,
    NotFoundException,
)
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._policy import compile_policy
from tests.local._calls import TestClient, make_client

ACCOUNT = "111122223333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
DEFAULT_POLICY = f"""{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "{ROOT}"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"""


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: str | list[str], action: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}


def deny(principal: str | list[str], action: str | list[str]) -> dict[str, Any]:
    return {**allow(principal, action), "Effect": "Deny"}


@pytest.fixture
def people(clock: ManualClock) -> tuple[TestClient, TestClient, TestClient]:
    kms = LocalKMS(clock=clock, principals={"AKIDALICE": ALICE, "AKIDBOB": BOB})
    root = make_client(kms)
    alice = make_client(kms, credentials=Credentials("AKIDALICE", "a"))
    bob = make_client(kms, credentials=Credentials("AKIDBOB", "b"))
    return root, alice, bob


def test_default_policy_is_laid_out_as_kms_returns_it(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    got = east.call("GetKeyPolicy", KeyId=key_id)
    assert (got.policy, got.policy_name) == (DEFAULT_POLICY, "default")
    listed = east.call("ListKeyPolicies", KeyId=key_id)
    assert (listed.policy_names, listed.truncated) == (["default"], False)
    with pytest.raises(NotFoundException):
        east.call("GetKeyPolicy", KeyId=key_id, PolicyName="other")


def test_put_key_policy_round_trip(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    text = policy(allow(ROOT, "kms:*"), deny(BOB, "kms:Decrypt"))
    east.call("PutKeyPolicy", KeyId=key_id, Policy=text)
    assert east.call("GetKeyPolicy", KeyId=key_id).policy == text


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        policy({"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
        policy({"Effect": "Allow", "Principal": "*", "Resource": "*"}),
        policy(
            {"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "kms:*", "Resource": "*"}
        ),
        policy({"Effect": "Allow", "Principal": "*", "Action": "Decrypt", "Resource": "*"}),
        json.dumps({"Version": "2099-01-01", "Statement": [allow(ROOT, "kms:*")]}),
    ],
)
def test_malformed_policies_are_refused(east: TestClient, text: str) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(MalformedPolicyDocumentException):
        east.call("PutKeyPolicy", KeyId=key_id, Policy=text)
    with pytest.raises(MalformedPolicyDocumentException):
        east.call("CreateKey", Policy=text)
    assert east.call("GetKeyPolicy", KeyId=key_id).policy == DEFAULT_POLICY


def test_lockout_safety_check(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    only_alice = policy(allow(ALICE, "kms:*"))
    with pytest.raises(
        MalformedPolicyDocumentException,
        match="will not allow you to update the key policy in the future",
    ):
        east.call("PutKeyPolicy", KeyId=key_id, Policy=only_alice)
    east.call("PutKeyPolicy", KeyId=key_id, Policy=only_alice, BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(AccessDeniedException):
        east.call("DescribeKey", KeyId=key_id)


def test_deny_wins_and_wildcards_match(people: tuple[TestClient, TestClient, TestClient]) -> None:
    root, alice, bob = people
    text = policy(
        allow(ROOT, "kms:*"),
        deny(BOB, "kms:Update*"),
        deny([ALICE, BOB], ["kms:Decrypt", "kms:Re?ncrypt*"]),
    )
    key_id = root.call("CreateKey", Policy=text, Description="k").key_metadata.key_id
    blob = root.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    assert alice.call("Encrypt", KeyId=key_id, Plaintext=b"y").ciphertext_blob
    alice.call("UpdateKeyDescription", KeyId=key_id, Description="alice")
    with pytest.raises(AccessDeniedException) as info:
        bob.call("UpdateKeyDescription", KeyId=key_id, Description="bob")
    assert info.value.message == (
        f"User: {BOB} is not authorized to perform: kms:UpdateKeyDescription on resource: "
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id} with an explicit deny in a "
        "resource-based policy"
    )
    for client in (alice, bob):
        with pytest.raises(AccessDeniedException):
            client.call("Decrypt", CiphertextBlob=blob)
        with pytest.raises(AccessDeniedException, match="kms:ReEncryptFrom"):
            client.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=key_id)
    assert root.call("Decrypt", CiphertextBlob=blob).plaintext == b"x"


def test_without_an_allow_access_is_denied(
    people: tuple[TestClient, TestClient, TestClient],
) -> None:
    root, alice, bob = people
    text = policy(
        allow(ROOT, ["kms:PutKeyPolicy", "kms:GetKeyPolicy"]), allow(ALICE, "kms:Describe*")
    )
    key_id = root.call("CreateKey", Policy=text).key_metadata.key_id
    assert alice.call("DescribeKey", KeyId=key_id).key_metadata.key_id == key_id
    with pytest.raises(
        AccessDeniedException,
        match="because no resource-based policy allows the kms:DescribeKey action",
    ):
        bob.call("DescribeKey", KeyId=key_id)
    with pytest.raises(AccessDeniedException):
        alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")


def test_update_primary_region_needs_both_keys_policies(
    people: tuple[TestClient, TestClient, TestClient], clock: ManualClock
) -> None:
    root, alice, _bob = people
    key_id = root.call("CreateKey", MultiRegion=True).key_metadata.key_id
    no_update = policy(allow(ROOT, "kms:*"), deny(ALICE, "kms:UpdatePrimaryRegion"))
    root.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1", Policy=no_update)
    clock.advance(1)
    with pytest.raises(
        AccessDeniedException, match=re.escape(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key_id}")
    ):
        alice.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    west = root.for_region("eu-west-1")
    west.call("PutKeyPolicy", KeyId=key_id, Policy=policy(allow(ROOT, "kms:*")))
    root.call("PutKeyPolicy", KeyId=key_id, Policy=no_update)
    with pytest.raises(
        AccessDeniedException, match=re.escape(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}")
    ):
        alice.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    root.call("PutKeyPolicy", KeyId=key_id, Policy=policy(allow(ROOT, "kms:*")))
    alice.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    config = west.call("DescribeKey", KeyId=key_id).key_metadata.multi_region_configuration
    assert config.primary_key.region == "eu-west-1"


def test_policy_evaluation_details() -> None:
    compiled = compile_policy(
        policy(
            allow("*", "kms:Describe*"),
            allow(f"arn:aws:iam::{ACCOUNT}:role/Admin", "kms:*"),
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": BOB},
                "NotAction": "kms:Delete*",
                "Resource": "*",
            },
        )
    )
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/session-1"
    assert compiled.decide("arn:aws:iam::999999999999:user/x", "kms:DescribeKey", key) == "allow"
    assert compiled.decide(session, "kms:ScheduleKeyDeletion", key) == "allow"
    assert compiled.decide(ALICE, "kms:Encrypt", key) == "allow"  # NotPrincipal/NotAction
    assert compiled.decide(ALICE, "kms:DeleteAlias", key) == "none"
    assert compiled.decide(BOB, "kms:Encrypt", key) == "none"  # the Condition statement is skipped
    assert compiled.decide(ALICE, "KMS:encrypt", key) == "allow"  # action names ignore case
