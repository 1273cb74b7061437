"""kms-mrk against the local KMS served on 127.0.0.1, through the real HTTP transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kms_mrk import Credentials, KMSClient
from kms_mrk.cli import main
from kms_mrk.local import LocalKMS, serve


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("aws_env")
def test_status_and_failover_over_http(capsys: pytest.CaptureFixture[str]) -> None:
    kms = LocalKMS(seed=5)
    with serve(port=0, kms=kms) as server:
        client = KMSClient(
            "us-east-1",
            credentials=Credentials("AKIDLOCAL", "local-secret"),
            endpoint_url=server.url,
        )
        created = client.create_key(multi_region=True)
        assert created.key_metadata is not None
        key_id = created.key_metadata.key_id
        client.replicate_key(key_id=key_id, replica_region="eu-west-1")
        client.close()
        common = ["--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]

        assert main(["failover", key_id, "--to", "eu-west-1", *common]) == 0
        result = json.loads(capsys.readouterr().out)["result"]
        assert result["status"] == "promoted"
        assert result["request_id"]

        assert main(["status", key_id, *common]) == 0
        view = json.loads(capsys.readouterr().out)["key"]
        assert view["primary_region"] == "eu-west-1"
        assert view["agree"] is True
    kms.close()


@pytest.mark.usefixtures("aws_env")
def test_unreachable_endpoint_is_a_preflight_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(
        [
            "failover",
            "mrk-" + "a" * 32,
            "--to",
            "eu-west-1",
            "--region",
            "us-east-1",
            "--endpoint-url",
            f"http://127.0.0.1:{port}",
        ]
    )
    assert code == 3
    assert "region_unreachable:us-east-1" in capsys.readouterr().err
