"""The environment credentials are read without botocore.session, with botocore's precedence.

For every combination of the sources that decide precedence (the environment's keys, tokens
and expiration, ``AWS_PROFILE``, an explicit profile, the shared credentials and config files)
the provider must give exactly what botocore's own chain gives, or fail where it fails. The
fast path must not import ``botocore.session`` (checked in a fresh interpreter, since the
test process has imported it long ago).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.session
import pytest

from kms_mrk.auth import BotocoreCredentialsProvider, Credentials
from kms_mrk.errors._base import CredentialsError, NoCredentialsError

FILES = (
    "[default]\naws_access_key_id = AKIAFILEDEFAULT001\naws_secret_access_key = file-default\n"
    "[other]\naws_access_key_id = AKIAFILEOTHER00001\naws_secret_access_key = file-other\n"
    "aws_session_token = file-other-token\n"
)

ENV_CASES: dict[str, dict[str, str]] = {
    "none": {},
    "keys": {"AWS_ACCESS_KEY_ID": "AKIAENV00000000001", "AWS_SECRET_ACCESS_KEY": "env-secret"},
    "keys+session": {
        "AWS_ACCESS_KEY_ID": "AKIAENV00000000001",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_SESSION_TOKEN": "session-token",
    },
    "keys+both-tokens": {
        "AWS_ACCESS_KEY_ID": "AKIAENV00000000001",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_SESSION_TOKEN": "session-token",
        "AWS_SECURITY_TOKEN": "security-token",
    },
    "keys+empty-security-token": {
        "AWS_ACCESS_KEY_ID": "AKIAENV00000000001",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_SESSION_TOKEN": "session-token",
        "AWS_SECURITY_TOKEN": "",
    },
    "empty-access-key": {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "env-secret"},
    "secret-only": {"AWS_SECRET_ACCESS_KEY": "env-secret"},
    "access-only": {"AWS_ACCESS_KEY_ID": "AKIAENV00000000001"},
    "empty-secret": {"AWS_ACCESS_KEY_ID": "AKIAENV00000000001", "AWS_SECRET_ACCESS_KEY": ""},
    "keys+expiration": {
        "AWS_ACCESS_KEY_ID": "AKIAENV00000000001",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_CREDENTIAL_EXPIRATION": "2999-01-01T00:00:00Z",
    },
}


def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BOTO_CONFIG", str(tmp_path / "no-boto-config"))


def _botocore_answer(profile: str | None) -> Any:
    """What botocore's own chain gives: credentials as a tuple, or the error's class."""
    session = botocore.session.Session(
        session_vars={"profile": (None, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"], None, None)}
    )
    if profile is not None:
        session.set_config_variable("profile", profile)
    try:
        found = session.get_credentials()
    except botocore.exceptions.PartialCredentialsError:
        return CredentialsError
    except botocore.exceptions.ProfileNotFound:
        return CredentialsError
    if found is None:
        return NoCredentialsError
    frozen = found.get_frozen_credentials()
    return (frozen.access_key, frozen.secret_key, frozen.token)


def _our_answer(profile: str | None) -> Any:
    try:
        got = BotocoreCredentialsProvider(profile).get_credentials()
    except NoCredentialsError:
        return NoCredentialsError
    except CredentialsError:
        return CredentialsError
    assert isinstance(got, Credentials)
    return (got.access_key_id, got.secret_access_key, got.session_token)


@pytest.mark.parametrize(
    ("env_case", "files", "aws_profile", "explicit"),
    list(
        itertools.product(
            sorted(ENV_CASES), [False, True], [None, "other", "missing"], [None, "other"]
        )
    ),
)
def test_same_answer_as_botocore(
    env_case: str,
    files: bool,
    aws_profile: str | None,
    explicit: str | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _clean(monkeypatch, tmp_path)
    for name, value in ENV_CASES[env_case].items():
        monkeypatch.setenv(name, value)
    if aws_profile is not None:
        monkeypatch.setenv("AWS_PROFILE", aws_profile)
    if files:
        (tmp_path / "credentials").write_text(FILES, encoding="utf-8")
    expected = _botocore_answer(explicit)
    assert _our_answer(explicit) == expected


def test_partial_environment_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000001")
    with pytest.raises(CredentialsError, match="missing: AWS_SECRET_ACCESS_KEY") as info:
        BotocoreCredentialsProvider().get_credentials()
    assert "env-secret" not in str(info.value)


def test_the_secret_stays_out_of_reprs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "very-secret-token")
    provider = BotocoreCredentialsProvider()
    credentials = provider.get_credentials()
    for text in (repr(provider), repr(credentials), repr(provider._source), str(credentials)):
        assert "very-secret" not in text


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(result.stdout.split())


def _child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    env.update(extra)
    return env


def test_environment_credentials_do_not_import_botocore_session(tmp_path: Path) -> None:
    env = _child_env(
        tmp_path, AWS_ACCESS_KEY_ID="AKIAENV00000000001", AWS_SECRET_ACCESS_KEY="env-secret"
    )
    modules = _modules_after(
        """
        from kms_mrk.auth import BotocoreCredentialsProvider
        assert BotocoreCredentialsProvider().get_credentials().access_key_id.startswith("AKIA")
        """,
        env,
    )
    assert "botocore.session" not in modules
    assert not any(name == "botocore" or name.startswith("botocore.") for name in modules)


def test_other_sources_still_use_botocore(tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text(FILES, encoding="utf-8")
    modules = _modules_after(
        """
        from kms_mrk.auth import BotocoreCredentialsProvider
        assert BotocoreCredentialsProvider().get_credentials().access_key_id == "AKIAFILEDEFAULT001"
        """,
        _child_env(tmp_path),
    )
    assert "botocore.session" in modules
