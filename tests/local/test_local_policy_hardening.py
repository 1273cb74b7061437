"""Hostile and unusual key policies: refused as KMS refuses them, never an internal error."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from kms_mrk.commands import CreateKeyCommand, PutKeyPolicyCommand
from kms_mrk.errors import MalformedPolicyDocumentException
from kms_mrk.local import LocalKMS
from kms_mrk.local._policy import INVALID_PRINCIPALS, compile_policy
from tests.local._calls import TestClient

ACCOUNT = "111122223333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def admin() -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


def with_principal(principal: Any) -> str:
    extra = {"Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"}
    return policy(admin(), extra)


def refused(east: TestClient, text: str) -> str:
    with pytest.raises(MalformedPolicyDocumentException) as raised:
        east.send(CreateKeyCommand(policy=text))
    key_id = east.send(CreateKeyCommand()).key_metadata.key_id
    with pytest.raises(MalformedPolicyDocumentException):
        east.send(PutKeyPolicyCommand(key_id=key_id, policy_name="default", policy=text))
    return raised.value.message or ""


def test_deep_nesting_is_a_malformed_policy_not_an_internal_error(east: TestClient) -> None:
    deep = "[" * 15_000 + "]" * 15_000
    text = policy(admin())[:-1] + f', "Extra": {deep}}}'
    assert len(text) < 32_768
    message = refused(east, text)
    assert message == "The key policy nests arrays and objects deeper than 32 levels"


@pytest.mark.parametrize("depth", [33, 200, 10_000])
def test_nesting_is_bounded_at_compile_time(depth: int) -> None:
    text = '{"Statement": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(MalformedPolicyDocumentException, match="deeper than 32 levels"):
        compile_policy(text)


@pytest.mark.parametrize(
    "principal",
    [
        {"aws": ROOT},
        {"Aws": ROOT},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/*"},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app-?"},
        {"AWS": "arn:aws:iam::*:root"},
        {"AWS": "alice"},
        {},
        "everyone",
    ],
    ids=["aws", "Aws", "user/*", "role/app-?", "account *", "bare name", "empty", "string"],
)
def test_principals_kms_refuses_are_refused_in_its_words(east: TestClient, principal: Any) -> None:
    assert refused(east, with_principal(principal)) == INVALID_PRINCIPALS


@pytest.mark.parametrize(
    ("principal", "shown"),
    [
        ({"Service": "logs.amazonaws.com"}, "Service: logs.amazonaws.com"),
        ({"Federated": "cognito-identity.amazonaws.com"}, "Federated: cognito-identity"),
        ({"AWS": "AROAEXAMPLEEXAMPLE123"}, "AROAEXAMPLEEXAMPLE123 (an IAM unique id)"),
    ],
)
def test_principals_kms_accepts_but_cannot_be_matched_are_warned_about(
    east: TestClient, caplog: pytest.LogCaptureFixture, principal: Any, shown: str
) -> None:
    text = with_principal(principal).replace("Decrypt", f"Decrypt{len(shown)}x")
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        east.send(CreateKeyCommand(policy=text))
        east.send(CreateKeyCommand(policy=text))  # compiled once: warned once
    warnings = [r for r in caplog.records if "cannot match to a caller" in r.getMessage()]
    assert len(warnings) == 1
    assert shown in warnings[0].getMessage()
    assert compile_policy(text).unmatched


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"Version": ["2012-10-17"], "Statement": [admin()]}),
        json.dumps({"Version": {"a": 1}, "Statement": [admin()]}),
        json.dumps({"Statement": [{**admin(), "Principal": {"AWS": [["nested"]]}}]}),
        json.dumps({"Statement": [{**admin(), "Condition": {"StringEquals": []}}]}),
    ],
    ids=["version list", "version object", "nested principal", "condition list"],
)
def test_odd_shapes_are_malformed_never_internal(east: TestClient, text: str) -> None:
    refused(east, text)


def test_offending_values_are_echoed_short(east: TestClient) -> None:
    action = "x" * 20_000
    text = policy(admin(), {**admin(), "Action": action})
    message = refused(east, text)
    assert len(message) < 300
    assert "[20000 characters]" in message


def test_the_local_kms_keeps_working_after_a_hostile_policy(kms: LocalKMS) -> None:
    from kms_mrk.models import CreateKeyRequest

    deep = '{"Statement": ' + "[" * 15_000 + "]" * 15_000 + "}"
    with pytest.raises(MalformedPolicyDocumentException):
        kms.handle("CreateKey", "us-east-1", CreateKeyRequest(policy=deep))
    assert kms.handle("CreateKey", "us-east-1", CreateKeyRequest()).key_metadata is not None
