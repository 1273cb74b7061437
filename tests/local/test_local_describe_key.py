"""DescribeKey, the hottest call: its directly written body and its caches.

The wire-level handler writes KeyMetadata from cached JSON fragments; these tests hold it to
the bytes the AWS JSON codec writes for the typed answer, in every key state, and check that
the caches (per key, per related-key group) follow every change.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._handlers import _metadata, key_metadata, key_metadata_json
from kms_mrk.models import DescribeKeyRequest, DescribeKeyResponse
from kms_mrk.models._shared import KeyMetadata
from kms_mrk.protocol.awsjson11 import encode_body
from tests.local._calls import TestClient, make_client

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1", "cn-north-1")
SPECS = [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("ECC_NIST_P384", "KEY_AGREEMENT"),
]

descriptions = st.text(
    alphabet=st.sampled_from(string.printable + 'é"\\\u2028\U0001f511\x00\x7f'), max_size=12
)
actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.sampled_from(REGIONS),
            st.sampled_from(SPECS),
            st.booleans(),
            descriptions,
        ),
        st.tuples(st.just("replicate"), st.sampled_from(REGIONS[:3])),
        st.tuples(st.just("update_primary"), st.sampled_from(REGIONS[:3])),
        st.tuples(st.just("schedule"), st.sampled_from(REGIONS), st.integers(7, 30)),
        st.tuples(st.just("cancel"), st.sampled_from(REGIONS)),
        st.tuples(st.just("disable"), st.sampled_from(REGIONS)),
        st.tuples(st.just("describe"), st.sampled_from(REGIONS)),
        st.tuples(
            st.just("advance"), st.sampled_from([0.000001, 0.123456789, 1.5, 3.0, 86400 * 8.0])
        ),
    ),
    max_size=25,
)


def codec_bytes(meta: KeyMetadata) -> bytes:
    return encode_body(DescribeKeyResponse.__schema__, DescribeKeyResponse(key_metadata=meta))


def try_call(client: TestClient, operation: str, **members: Any) -> Any:
    from kms_mrk.errors import KMSServiceException

    try:
        return client.call(operation, **members)
    except KMSServiceException:
        return None


@settings(max_examples=150, deadline=None)
@given(actions=actions, start=st.floats(1_600_000_000, 1_800_000_000))
def test_the_written_body_is_what_the_codec_writes(actions: list[Any], start: float) -> None:
    clock = ManualClock(start)
    kms = LocalKMS(clock=clock, replica_creating_seconds=2, updating_seconds=3, seed=5)
    base = make_client(kms)
    clients = {region: base.for_region(region) for region in REGIONS}
    last: dict[str, str] = {}
    for action in actions:
        kind = action[0]
        if kind == "create":
            _, region, (spec, usage), multi, description = action
            meta = try_call(
                clients[region],
                "CreateKey",
                KeySpec=spec,
                KeyUsage=usage,
                MultiRegion=multi,
                Description=description,
            )
            if meta is not None:
                last["id"], last["region"] = meta.key_metadata.key_id, region
        elif "id" not in last:
            continue
        elif kind == "replicate":
            try_call(
                clients[last["region"]], "ReplicateKey", KeyId=last["id"], ReplicaRegion=action[1]
            )
        elif kind == "update_primary":
            for region in REGIONS:
                try_call(
                    clients[region],
                    "UpdatePrimaryRegion",
                    KeyId=last["id"],
                    PrimaryRegion=action[1],
                )
        elif kind == "schedule":
            try_call(
                clients[action[1]],
                "ScheduleKeyDeletion",
                KeyId=last["id"],
                PendingWindowInDays=action[2],
            )
        elif kind in ("cancel", "disable"):
            operation = "CancelKeyDeletion" if kind == "cancel" else "DisableKey"
            try_call(clients[action[1]], operation, KeyId=last["id"])
        elif kind == "describe":
            try_call(clients[action[1]], "DescribeKey", KeyId=last["id"])
        else:
            clock.advance(action[1])
        now = clock.now()
        for key in list(kms._store.all_keys()):
            typed = key_metadata(key, now)
            assert (
                key_metadata_json(key, now).encode("ascii")
                == codec_bytes(typed)[len(b'{"KeyMetadata":') : -1]
            )
            answer = kms.send(describe_request(key.key_id, key.region))
            assert answer.status == 200
            through_send = answer.body
            handled = kms.handle("DescribeKey", key.region, DescribeKeyRequest(key_id=key.key_id))
            assert through_send == codec_bytes(handled.key_metadata)  # type: ignore[attr-defined]
    kms.close()


def describe_request(key_id: str, region: str) -> Any:
    import json

    from kms_mrk.auth import SigV4Signer
    from kms_mrk.transport import HttpRequest
    from tests.local._calls import CREDENTIALS

    request = HttpRequest(
        "POST",
        f"https://kms.{region}.amazonaws.com/",
        {"X-Amz-Target": "TrentService.DescribeKey", "Content-Type": "application/x-amz-json-1.1"},
        json.dumps({"KeyId": key_id}).encode(),
    )
    return SigV4Signer("kms").sign(request, CREDENTIALS, region)


def test_a_group_builds_its_configuration_once_per_change(
    kms: LocalKMS, east: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every member of a related-key group shares one multi-Region configuration."""
    key_id = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    for region in ("eu-west-1", "ap-south-1"):
        east.call("ReplicateKey", KeyId=key_id, ReplicaRegion=region)
    kms.advance(2)
    made: list[str] = []
    original = _metadata.MultiRegionKey

    def counting(**fields: str) -> Any:
        made.append(fields["region"])
        return original(**fields)

    monkeypatch.setattr(_metadata, "MultiRegionKey", counting)
    regions = ("us-east-1", "eu-west-1", "ap-south-1")
    for region in regions:
        for _ in range(2):
            config = (
                east.for_region(region)
                .call("DescribeKey", KeyId=key_id)
                .key_metadata.multi_region_configuration
            )
            assert [k.region for k in config.replica_keys] == ["eu-west-1", "ap-south-1"]
        kms.handle("DescribeKey", region, DescribeKeyRequest(key_id=key_id))
    assert made == []  # ReplicateKey made the group's entries; every member reuses them
    east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    kms.advance(5)
    for region in regions:
        config = (
            east.for_region(region)
            .call("DescribeKey", KeyId=key_id)
            .key_metadata.multi_region_configuration
        )
        assert config.primary_key.region == "eu-west-1"
        assert [k.region for k in config.replica_keys] == ["us-east-1", "ap-south-1"]
        assert config.multi_region_key_type == ("PRIMARY" if region == "eu-west-1" else "REPLICA")
    assert sorted(made) == sorted(regions)  # made again, once, after the change
