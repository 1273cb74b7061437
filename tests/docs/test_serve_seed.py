"""``kms-mrk serve --seed``: the key the README's tour and the docs use, ready at once."""

from __future__ import annotations

import argparse

import pytest

pytest.importorskip("cryptography")

from kms_mrk import KMSClient
from kms_mrk.auth import Credentials
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._cli import add_serve_arguments, seed_tour_keys

REGIONS = ("us-east-1", "eu-central-1", "eu-west-1")


def _client(kms: LocalKMS) -> KMSClient:
    return KMSClient(
        "us-east-1", credentials=Credentials("AKIDLOCAL", "local-secret"), transport=kms, environ={}
    )


def test_the_seeded_key_is_ready_in_every_region_even_with_serves_delays() -> None:
    kms = LocalKMS.realistic(clock=ManualClock())  # 3 s Creating, as `kms-mrk serve`
    key_id = seed_tour_keys(kms)
    client = _client(kms)
    for region in REGIONS:
        regional = client.for_region(region)
        meta = regional.describe_key(key_id="alias/payments").key_metadata
        assert meta is not None and meta.key_id == key_id
        assert meta.key_state == "Enabled"
        config = meta.multi_region_configuration
        assert config is not None and config.primary_key is not None
        assert config.primary_key.region == "us-east-1"
        tags = regional.list_resource_tags(key_id=key_id).tags or []
        assert [(t.tag_key, t.tag_value) for t in tags] == [("tier", "critical")]
    # the server's own delays are left as they were for the keys users create
    assert kms.replica_creating_seconds == 3.0
    kms.close()


def test_seeding_again_changes_nothing() -> None:
    kms = LocalKMS()
    first = seed_tour_keys(kms)
    assert seed_tour_keys(kms) == first
    keys = _client(kms).list_keys().keys or []
    assert [k.key_id for k in keys] == [first]
    kms.close()


def test_serve_takes_the_option() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    assert parser.parse_args(["--seed"]).seed is True
    assert parser.parse_args([]).seed is False
    assert "alias/payments" in parser.format_help()
