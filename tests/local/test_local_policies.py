"""Key policies: the default one, PutKeyPolicy validation, and Allow/Deny enforcement."""

from __future__ import annotations

import json
import logging
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
            },  # evaluated: applies only to requests over plain HTTP
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
    assert compiled.decide(BOB, "kms:Encrypt", key) == "none"
    assert compiled.decide(ALICE, "KMS:encrypt", key) == "allow"  # action names ignore case
    plain_http = {"aws:securetransport": "false"}.get
    assert compiled.decide(ALICE, "kms:Encrypt", key, plain_http) == "deny"


def conditional(effect: str, action: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": "*",
        "Action": action,
        "Resource": "*",
        "Condition": condition,
    }


@pytest.fixture
def failover_key(
    people: tuple[TestClient, TestClient, TestClient], clock: ManualClock
) -> tuple[TestClient, str]:
    root = people[0]
    key_id = root.call("CreateKey", MultiRegion=True).key_metadata.key_id
    for region in ("eu-west-1", "ap-south-1"):
        root.call("ReplicateKey", KeyId=key_id, ReplicaRegion=region)
    clock.advance(1)
    return root, key_id


def test_a_conditional_deny_on_the_primary_region_is_enforced(
    failover_key: tuple[TestClient, str],
) -> None:
    """The usual way to restrict failover: Deny unless kms:PrimaryRegion is the chosen one."""
    root, key_id = failover_key
    only_mumbai = policy(
        allow(ROOT, "kms:*"),
        conditional(
            "Deny",
            "kms:UpdatePrimaryRegion",
            {"StringNotEquals": {"kms:PrimaryRegion": "ap-south-1"}},
        ),
    )
    root.call("PutKeyPolicy", KeyId=key_id, Policy=only_mumbai)
    with pytest.raises(AccessDeniedException, match="with an explicit deny"):
        root.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    root.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="ap-south-1")
    config = root.call("DescribeKey", KeyId=key_id).key_metadata.multi_region_configuration
    assert config.primary_key.region == "ap-south-1"
    root.call("Encrypt", KeyId=key_id, Plaintext=b"x")  # the Deny names one action only


def test_conditions_on_the_replica_region_caller_account_and_principal(
    people: tuple[TestClient, TestClient, TestClient],
) -> None:
    root, alice, bob = people
    text = policy(
        allow(ROOT, "kms:*"),
        conditional("Deny", "kms:ReplicateKey", {"StringLike": {"kms:ReplicaRegion": "eu-*"}}),
        conditional("Deny", "kms:Encrypt", {"StringEquals": {"aws:PrincipalArn": BOB}}),
        conditional("Deny", "kms:DescribeKey", {"StringNotEquals": {"kms:CallerAccount": ACCOUNT}}),
    )
    key_id = root.call("CreateKey", MultiRegion=True, Policy=text).key_metadata.key_id
    with pytest.raises(AccessDeniedException):
        root.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    root.call("ReplicateKey", KeyId=key_id, ReplicaRegion="ap-south-1")
    alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    with pytest.raises(AccessDeniedException, match="kms:Encrypt"):
        bob.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    assert alice.call("DescribeKey", KeyId=key_id).key_metadata.key_id == key_id


def test_a_conditional_allow_grants_only_when_its_condition_holds(
    people: tuple[TestClient, TestClient, TestClient], clock: ManualClock
) -> None:
    root, alice, _bob = people
    text = policy(
        allow(ROOT, ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:ReplicateKey", "kms:Describe*"]),
        {
            **allow(ALICE, "kms:UpdatePrimaryRegion"),
            "Condition": {"StringEqualsIfExists": {"kms:PrimaryRegion": ["eu-west-1"]}},
        },
        {
            **allow(ALICE, "kms:Encrypt"),
            "Condition": {"Bool": {"kms:MultiRegion": "true"}},
        },
    )
    key_id = root.call("CreateKey", MultiRegion=True, Policy=text).key_metadata.key_id
    for region in ("eu-west-1", "ap-south-1"):
        root.call("ReplicateKey", KeyId=key_id, ReplicaRegion=region, Policy=text)
    clock.advance(1)
    alice.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    with pytest.raises(AccessDeniedException, match="no resource-based policy allows"):
        alice.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="ap-south-1")
    alice.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")


def test_conditions_the_local_kms_cannot_evaluate_fail_closed(
    east: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A Deny it cannot evaluate applies; an Allow it cannot evaluate does not; both warn."""
    deny_unknown = policy(
        allow(ROOT, "kms:*"),
        conditional("Deny", "kms:Decrypt", {"StringEquals": {"kms:ViaService": "s3.x"}}),
        conditional("Deny", "kms:Encrypt", {"NumericLessThan": {"kms:GrantConstraintType": "1"}}),
    )
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        key_id = east.call("CreateKey", Policy=deny_unknown).key_metadata.key_id
    assert "kms:ViaService" in caplog.text and "NumericLessThan" in caplog.text
    assert key_id in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        east.call("CreateKey", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Policy=deny_unknown)
    assert caplog.text.count("cannot evaluate") == 1  # once per stored policy
    blob = None
    with pytest.raises(AccessDeniedException, match="explicit deny"):
        blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    assert blob is None
    caplog.clear()
    allow_unknown = policy(
        allow(ROOT, ["kms:PutKeyPolicy", "kms:DescribeKey"]),
        {**allow(ROOT, "kms:Encrypt"), "Condition": {"DateLessThan": {"aws:CurrentTime": "x"}}},
    )
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        east.call("PutKeyPolicy", KeyId=key_id, Policy=allow_unknown)
    assert "aws:CurrentTime" in caplog.text
    with pytest.raises(AccessDeniedException, match="no resource-based policy allows"):
        east.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_id == key_id


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"


def decide(condition: dict[str, Any], values: dict[str, str], effect: str = "Deny") -> str:
    compiled = compile_policy(
        policy(
            allow(ROOT, "kms:*"),
            {**conditional(effect, "kms:Encrypt", condition)},
        )
    )
    return compiled.decide(ROOT, "kms:Encrypt", KEY, values.get)


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, {"kms:calleraccount": ACCOUNT}, True),
        (
            {"StringEquals": {"KMS:CALLERACCOUNT": ["1", ACCOUNT]}},
            {"kms:calleraccount": ACCOUNT},
            True,
        ),
        ({"StringEquals": {"kms:CallerAccount": "1"}}, {"kms:calleraccount": ACCOUNT}, False),
        ({"StringEquals": {"kms:PrimaryRegion": "x"}}, {}, False),  # absent: no match
        ({"StringNotEquals": {"kms:PrimaryRegion": "x"}}, {}, True),  # absent: negation holds
        ({"StringNotEquals": {"kms:PrimaryRegion": ["a", "b"]}}, {"kms:primaryregion": "b"}, False),
        ({"StringNotEqualsIfExists": {"kms:PrimaryRegion": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"kms:PrimaryRegion": "x"}}, {}, True),
        (
            {"StringEqualsIgnoreCase": {"kms:PrimaryRegion": "EU-West-1"}},
            {"kms:primaryregion": "eu-west-1"},
            True,
        ),
        (
            {"StringNotEqualsIgnoreCase": {"kms:PrimaryRegion": "EU-WEST-1"}},
            {"kms:primaryregion": "eu-west-1"},
            False,
        ),
        (
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a?ice"}},
            {"aws:principalarn": ALICE},
            True,
        ),
        (
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/A*"}},
            {"aws:principalarn": ALICE},
            False,
        ),
        (
            {"StringNotLike": {"kms:ReplicaRegion": "eu-*"}},
            {"kms:replicaregion": "eu-west-1"},
            False,
        ),
        ({"StringNotLikeIfExists": {"kms:ReplicaRegion": "eu-*"}}, {}, True),
        ({"Bool": {"kms:MultiRegion": "true"}}, {"kms:multiregion": "true"}, True),
        ({"Bool": {"kms:MultiRegion": False}}, {"kms:multiregion": "true"}, False),
        ({"Bool": {"kms:MultiRegion": "true"}}, {}, False),
        ({"BoolIfExists": {"kms:MultiRegion": "true"}}, {}, True),
        ({"Null": {"kms:PrimaryRegion": "true"}}, {}, True),
        ({"Null": {"kms:PrimaryRegion": "false"}}, {}, False),
        # every operator and every key must hold (AND), one False is enough to fail
        (
            {
                "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:PrimaryRegion": "x"},
                "Bool": {"kms:MultiRegion": "true"},
            },
            {"kms:calleraccount": ACCOUNT, "kms:primaryregion": "x", "kms:multiregion": "true"},
            True,
        ),
        (
            {"StringEquals": {"kms:CallerAccount": ACCOUNT}, "Bool": {"kms:MultiRegion": "true"}},
            {"kms:calleraccount": ACCOUNT, "kms:multiregion": "false"},
            False,
        ),
        # parts it cannot evaluate: a Deny applies and an Allow does not (None), unless a
        # known part already fails
        ({"StringEquals": {"kms:ViaService": "x"}}, {}, None),
        ({"ForAnyValue:StringEquals": {"kms:CallerAccount": ACCOUNT}}, {}, None),
        ({"StringEquals": {"kms:CallerAccount": "${aws:username}"}}, {}, None),
        ({"NumericLessThan": {"kms:CallerAccount": "1"}}, {}, None),
        (
            {"StringEquals": {"kms:ViaService": "x", "kms:CallerAccount": "1"}},
            {"kms:calleraccount": ACCOUNT},
            False,
        ),
    ],
)
def test_condition_operators(
    condition: dict[str, Any], values: dict[str, str], holds: bool | None
) -> None:
    assert decide(condition, values) == ("allow" if holds is False else "deny")
    allowed = compile_policy(policy(conditional("Allow", "kms:Encrypt", condition))).decide(
        ROOT, "kms:Encrypt", KEY, values.get
    )
    assert allowed == ("allow" if holds is True else "none")


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": "kms:CallerAccount"},
        {"StringEquals": {}},
        {"StringEquals": {"kms:CallerAccount": []}},
        {"StringEquals": {"kms:CallerAccount": {"a": "b"}}},
        {"Null": {"kms:PrimaryRegion": "maybe"}},
    ],
)
def test_malformed_conditions_are_refused(condition: dict[str, Any]) -> None:
    with pytest.raises(MalformedPolicyDocumentException, match="Condition"):
        compile_policy(policy(allow(ROOT, "kms:*"), conditional("Deny", "kms:*", condition)))


def test_secure_transport_is_true_in_process_and_false_over_plain_http() -> None:
    from kms_mrk.local import serve
    from tests.local._server_process import Connection

    text = policy(
        allow(ROOT, "kms:*"),
        conditional("Deny", "kms:Encrypt", {"Bool": {"aws:SecureTransport": "false"}}),
    )
    kms = LocalKMS()
    key_id = make_client(kms).call("CreateKey", Policy=text).key_metadata.key_id
    assert make_client(kms).call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    with serve(port=0, kms=kms) as server:
        connection = Connection(server.url)
        status, body = connection.call("Encrypt", {"KeyId": key_id, "Plaintext": "eA=="})
        connection.close()
    assert (status, body["__type"]) == (400, "AccessDeniedException")
