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


class _SilentServer:
    """Accepts connections on 127.0.0.1 and never answers (a black-holed endpoint)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()
        self._thread.join(timeout=5)


@pytest.mark.usefixtures("aws_env")
def test_every_call_ends_within_the_documented_bound_against_a_silent_endpoint() -> None:
    import io
    import time

    from kms_mrk.cli._app import Runtime, run_cli
    from kms_mrk.cli._types import TimeBounds

    # Small bounds keep the test short; the defaults are checked against the docs below.
    bounds = TimeBounds(connect=0.2, read=0.3, attempt=0.5, max_attempts=3, max_backoff=0.05)
    server = _SilentServer()
    try:
        err = io.StringIO()
        runtime = Runtime(stdout=io.StringIO(), stderr=err, time_bounds=bounds)
        started = time.monotonic()
        code = run_cli(
            ["status", "mrk-" + "a" * 32, "--region", "us-east-1", "--endpoint-url", server.url],
            runtime,
        )
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert code == 1
    assert elapsed <= bounds.per_call + 1.0, elapsed
    assert len(server.accepted) == 3  # one connection per attempt, then it gave up
    assert f"endpoint {server.url} from --endpoint-url" in err.getvalue()


def test_the_default_bound_is_the_documented_one() -> None:
    from kms_mrk.cli._types import TimeBounds

    bounds = TimeBounds()
    assert bounds.per_call == 49.0
    assert bounds.per_call < 60
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert "49 seconds" in docs
    assert "5 seconds to connect" in docs


@pytest.mark.usefixtures("aws_env")
def test_a_connection_error_says_where_the_endpoint_came_from(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{port}")
    code = main(["status", "mrk-" + "a" * 32, "--region", "us-east-1"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"endpoint http://127.0.0.1:{port} from AWS_ENDPOINT_URL_KMS" in err
