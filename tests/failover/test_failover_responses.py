"""Malformed KMS answers are the service's fault: a response error, not a crash or usage error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kms_mrk import Credentials, KMSClient
from kms_mrk.errors import ResponseParseError
from kms_mrk.failover import (
    MalformedResponseError,
    PreflightError,
    describe_view,
    plan,
    promote,
)
from tests.failover._support import (
    MRK,
    SOURCE,
    TARGET,
    THIRD,
    ScriptedKMS,
    mrk_arn,
    mrk_metadata,
)


def _client(answer: Callable[[str, str, dict], object]) -> tuple[KMSClient, ScriptedKMS]:
    transport = ScriptedKMS(answer)
    client = KMSClient(
        SOURCE,
        credentials=Credentials("AKIDTEST", "test-secret"),
        transport=transport,
        sleep=lambda _s: None,
    )
    return client, transport


def _everywhere(**changes: object) -> Callable[[str, str, dict], object]:
    """DescribeKey answers :data:`MRK` in every Region, with ``changes`` applied."""

    def answer(operation: str, region: str, _body: dict) -> object:
        assert operation == "DescribeKey"
        metadata = mrk_metadata(region)
        metadata.update(changes)
        return {"KeyMetadata": metadata}

    return answer


BAD_ANSWERS = {
    "no KeyMetadata": lambda op, region, body: {},
    "KeyMetadata null": lambda op, region, body: {"KeyMetadata": None},
    "empty body": lambda op, region, body: b"",
    "Arn not an ARN": _everywhere(Arn="garbage"),
    "Arn of an alias": _everywhere(Arn=f"arn:aws:kms:{SOURCE}:111122223333:alias/x"),
    "Arn in another Region": _everywhere(Arn=mrk_arn(THIRD)),
    "Arn of another key": _everywhere(Arn=mrk_arn(SOURCE, "mrk-" + "b" * 32)),
    "no MultiRegionConfiguration": _everywhere(MultiRegionConfiguration=None),
    "no primary Region": _everywhere(MultiRegionConfiguration={"MultiRegionKeyType": "PRIMARY"}),
    "primary Region not a Region": _everywhere(
        MultiRegionConfiguration={
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": mrk_arn(SOURCE), "Region": "Nowhere At All"},
        }
    ),
    "replica Region not a Region": _everywhere(
        MultiRegionConfiguration={
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": mrk_arn(SOURCE), "Region": SOURCE},
            "ReplicaKeys": [{"Arn": mrk_arn(TARGET), "Region": "x"}],
        }
    ),
}


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_a_malformed_first_answer_raises_a_response_error(
    answer: Callable[[str, str, dict], object],
) -> None:
    client, _ = _client(answer)
    with pytest.raises(MalformedResponseError) as caught:
        describe_view(client, MRK)
    error = caught.value
    assert isinstance(error, ResponseParseError)
    assert not isinstance(error, ValueError)  # not the caller's mistake
    assert error.region == SOURCE
    assert f"Unexpected DescribeKey response in {SOURCE}" in str(error)
    assert "request id req-1" in str(error)


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_promote_refuses_naming_the_region_that_answered_badly(
    answer: Callable[[str, str, dict], object],
) -> None:
    client, transport = _client(answer)
    with pytest.raises(PreflightError) as caught:
        promote(client, MRK, TARGET, timeout=0)
    assert caught.value.names == (f"read_failed:{SOURCE}",)
    assert "UpdatePrimaryRegion" not in [operation for operation, _ in transport.calls]


def test_a_malformed_answer_from_a_replica_region_is_recorded_as_bad_response() -> None:
    def answer(_operation: str, region: str, _body: dict) -> object:
        if region == TARGET:
            return {"KeyMetadata": {**mrk_metadata(region), "Arn": "arn:aws:kms:oops"}}
        return {"KeyMetadata": mrk_metadata(region)}

    client, _ = _client(answer)
    view = describe_view(client, MRK)
    target = view.region(TARGET)
    assert target is not None
    assert target.error == "bad_response"
    assert isinstance(target.exception, MalformedResponseError)
    assert not view.agree
    assert any(p.startswith(f"{TARGET}: bad_response") for p in view.problems)
    with pytest.raises(PreflightError) as caught:
        promote(client, MRK, TARGET)
    assert f"read_failed:{TARGET}" in caught.value.names


def test_a_malformed_listing_skips_the_key_instead_of_failing_the_plan() -> None:
    good = "mrk-" + "c" * 32

    def answer(operation: str, region: str, body: dict) -> object:
        if operation == "ListKeys":
            return {
                "Keys": [
                    {"KeyId": MRK, "KeyArn": "garbage"},
                    {"KeyId": "mrk-" + "d" * 32, "KeyArn": mrk_arn(THIRD, "mrk-" + "d" * 32)},
                    {"KeyId": good, "KeyArn": mrk_arn(SOURCE, good)},
                ],
                "Truncated": False,
            }
        if operation == "ListAliases":
            return {"Aliases": [], "Truncated": False}
        metadata = mrk_metadata(region)
        metadata.update(KeyId=good, Arn=mrk_arn(region, good))
        return {"KeyMetadata": metadata}

    client, _ = _client(answer)
    the_plan = plan(client, SOURCE, TARGET)
    actions = {i.key_id: (i.action, i.reason) for i in the_plan.items}
    assert actions == {
        MRK: ("skip", "read_failed"),
        "mrk-" + "d" * 32: ("skip", "read_failed"),
        good: ("promote", None),
    }
    details = {i.key_id: i.detail or "" for i in the_plan.items}
    assert details[MRK].startswith(f"ListKeys in {SOURCE}: ")
