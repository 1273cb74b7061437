"""``serve`` arguments, ``python -m kms_mrk.local serve``, and what ``kms_mrk.local`` exports."""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kms_mrk.local
from kms_mrk.errors import ConfigurationError
from kms_mrk.local import FaultInjector, add_serve_arguments
from kms_mrk.local._cli import _options
from tests.local._server_process import REPO, Connection, start_server, stop_server


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_public_names() -> None:
    assert kms_mrk.local.__all__ == [
        "FaultInjector",
        "FaultRule",
        "LocalKMS",
        "LocalKMSServer",
        "ManualClock",
        "add_serve_arguments",
        "run_serve",
        "serve",
    ]
    with pytest.raises(AttributeError):
        kms_mrk.local.Store  # noqa: B018


def test_defaults_are_realistic_for_the_command_line() -> None:
    args = parse()
    assert (args.host, args.port, args.state) == ("127.0.0.1", 4566, None)
    options = _options(args)
    assert options["replica_creating_seconds"] >= 1
    assert options["updating_seconds"] >= 1
    assert options["faults"] is None
    assert (options["account_id"], options["default_region"]) == ("111122223333", "us-east-1")


def test_options_map_to_local_kms_arguments() -> None:
    args = parse(
        "--verify-signatures",
        "--access-key",
        "AKID1:s1",
        "--access-key",
        "AKID2:s:2",
        "--principal",
        "AKID1=arn:aws:iam::111122223333:user/alice",
        "--fault",
        "op=Encrypt,rate=0.5",
        "--fault-seed",
        "9",
        "--creating-seconds",
        "0",
        "--updating-seconds",
        "1.5",
    )
    options = _options(args)
    assert options["access_keys"] == {"AKID1": "s1", "AKID2": "s:2"}
    assert options["principals"] == {"AKID1": "arn:aws:iam::111122223333:user/alice"}
    assert options["verify_signatures"] is True
    assert isinstance(options["faults"], FaultInjector)
    assert options["faults"].seed == 9
    assert (options["replica_creating_seconds"], options["updating_seconds"]) == (0.0, 1.5)


def test_bad_options_are_reported_without_echoing_secrets() -> None:
    with pytest.raises(ConfigurationError, match="ID:SECRET") as info:
        _options(parse("--access-key", "no-separator-secretvalue"))
    assert "secretvalue" not in str(info.value)
    with pytest.raises(ConfigurationError, match="--fault"):
        _options(parse("--fault", "rate=7"))


def test_module_entry_point_serves_until_sigterm(tmp_path: object) -> None:
    process, url = start_server("--creating-seconds", "0")
    try:
        connection = Connection(url)
        status, created = connection.call("CreateKey", {"MultiRegion": True})
        assert status == 200
        status, body = connection.call("Nope")
        assert (status, body["__type"]) == (400, "UnknownOperationException")
        connection.close()
    finally:
        code, err = stop_server(process)
    assert code == 0, err
    assert created["KeyMetadata"]["KeyId"].startswith("mrk-")


def test_module_entry_point_reports_bad_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kms_mrk.local", "serve", "--port", "0", "--account-id", "12"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "account_id must be 12 digits" in result.stderr


def test_importing_the_package_stays_light() -> None:
    code = """
import sys
import kms_mrk.local
assert 'kms_mrk.local._kms' not in sys.modules
from kms_mrk.local import LocalKMS
heavy = ['cryptography', 'urllib3', 'requests', 'botocore', 'http.client', 'kms_mrk._client']
heavy = [m for m in heavy + ['kms_mrk._pipeline'] if m in sys.modules]
assert not heavy, heavy
kms = LocalKMS()
from kms_mrk.models import CreateKeyRequest, EncryptRequest
key = kms.handle('CreateKey', 'us-east-1', CreateKeyRequest()).key_metadata.key_id
assert 'cryptography' not in sys.modules
kms.handle('Encrypt', 'us-east-1', EncryptRequest(key_id=key, plaintext=b'x'))
assert 'cryptography' in sys.modules
assert 'kms_mrk._client' not in sys.modules
print('ok')
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_local_package_never_imports_the_client() -> None:
    sources = sorted((REPO / "kms_mrk" / "local").glob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text()
        assert "kms_mrk._client" not in text and "kms_mrk._pipeline" not in text, source.name
        assert "from kms_mrk import KMSClient" not in text, source.name


@pytest.fixture
def without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the cryptography package were not installed (None in sys.modules blocks it)."""
    for name in [m for m in sys.modules if m == "cryptography" or m.startswith("cryptography.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # type: ignore[arg-type]
    from kms_mrk.local import _crypto

    monkeypatch.setattr(_crypto, "_MODULES", None)
    monkeypatch.setattr(_crypto, "_AVAILABLE", False, raising=False)


@pytest.mark.usefixtures("without_cryptography")
def test_a_missing_cryptography_package_is_reported_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kms_mrk.local import LocalKMS, run_serve, serve

    with pytest.raises(ConfigurationError, match=r"pip install 'kms-mrk\[local\]'"):
        LocalKMS()
    with pytest.raises(ConfigurationError, match="cryptography"):
        serve(port=0)
    assert run_serve(parse("--port", "0")) == 2
    assert "pip install 'kms-mrk[local]'" in capsys.readouterr().err


def test_access_keys_come_from_the_environment_or_a_file_not_only_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Secrets on the command line are visible to every user of the machine (ps)."""
    monkeypatch.setenv(
        "KMS_MRK_LOCAL_ACCESS_KEYS", "AKIDENV1:env-secret-1, AKIDENV2:env:2\nAKIDENV3:e3"
    )
    keys_file = tmp_path / "keys"
    keys_file.write_text("# local development keys\n\nAKIDFILE:file-secret\n  AKIDTWO:two  \n")
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        options = _options(parse("--verify-signatures", "--access-keys-file", str(keys_file)))
    assert options["access_keys"] == {
        "AKIDENV1": "env-secret-1",
        "AKIDENV2": "env:2",
        "AKIDENV3": "e3",
        "AKIDFILE": "file-secret",
        "AKIDTWO": "two",
    }
    assert caplog.text == ""
    monkeypatch.delenv("KMS_MRK_LOCAL_ACCESS_KEYS")
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        options = _options(parse("--access-key", "AKIDARGV:argv-secret"))
    assert options["access_keys"] == {"AKIDARGV": "argv-secret"}
    assert "KMS_MRK_LOCAL_ACCESS_KEYS" in caplog.text and "--access-keys-file" in caplog.text
    assert "argv-secret" not in caplog.text


def test_bad_access_key_sources_are_reported_without_their_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("AKIDOK:fine\nno-separator-topsecret\n")
    with pytest.raises(ConfigurationError, match=rf"{re.escape(str(keys_file))}, line 2") as info:
        _options(parse("--access-keys-file", str(keys_file)))
    assert "topsecret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="cannot read"):
        _options(parse("--access-keys-file", str(tmp_path / "missing")))
    monkeypatch.setenv("KMS_MRK_LOCAL_ACCESS_KEYS", "AKID:ok,lonelysecretvalue")
    with pytest.raises(ConfigurationError, match="KMS_MRK_LOCAL_ACCESS_KEYS") as info:
        _options(parse())
    assert "lonelysecretvalue" not in str(info.value)
