"""BotocoreCredentialsProvider against temporary config files, never the network.

Every test runs with a clean AWS_* environment, HOME in a temp folder, the config and
credentials files pointed at temp files, and EC2 instance metadata disabled.

The credential_process tests use a tiny script that counts its runs and answers with an
``Expiration`` chosen per run. botocore compares expirations with the real clock, so instead
of moving a clock the script picks expirations far on either side of botocore's refresh
windows (15 min advisory, 10 min mandatory): 5 minutes (refresh now, before expiry) and
2 hours (no refresh). Nothing sleeps.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from kms_mrk.auth import BotocoreCredentialsProvider, Credentials, CredentialsProvider
from kms_mrk.errors._base import CredentialsError, NoCredentialsError

PROCESS_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

state = Path(sys.argv[1])
count = int((state / "count").read_text()) + 1 if (state / "count").exists() else 1
(state / "count").write_text(str(count))
plan = json.loads((state / "plan.json").read_text())
step = plan[min(count, len(plan)) - 1]
if step == "fail":
    sys.stderr.write("credential helper exploded")
    sys.exit(3)
expires = datetime.now(timezone.utc) + timedelta(seconds=step)
print(json.dumps({
    "Version": 1,
    "AccessKeyId": f"ASIAPROCESS{count:05d}",
    "SecretAccessKey": f"process-secret-{count}",
    "SessionToken": f"process-token-{count}",
    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
}))
"""


class Env:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.config = root / "config"
        self.credentials = root / "credentials"

    def write_credentials(self, text: str) -> None:
        self.credentials.write_text(text, encoding="utf-8")

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def process_profile(self, name: str, plan: list[Any]) -> Path:
        """Add profile ``name`` whose credential_process follows ``plan`` (one step per run)."""
        state = self.root / f"state-{name}"
        state.mkdir()
        (state / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        script = self.root / "creds_process.py"
        script.write_text(PROCESS_SCRIPT, encoding="utf-8")
        command = " ".join(shlex.quote(str(p)) for p in (sys.executable, script, state))
        with self.config.open("a", encoding="utf-8") as handle:
            handle.write(f"[profile {name}]\ncredential_process = {command}\n")
        return state


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(name)
    env = Env(tmp_path, monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(env.config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(env.credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BOTO_CONFIG", str(tmp_path / "no-boto-config"))
    return env


def counting_factory() -> tuple[Callable[[], Any], list[int]]:
    calls: list[int] = []
    lock = threading.Lock()

    def factory() -> Any:
        with lock:
            calls.append(1)
        return botocore.session.Session()

    return factory, calls


def runs(state: Path) -> int:
    return int((state / "count").read_text())


def test_environment_variables(aws_env: Env) -> None:
    aws_env.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001")
    aws_env.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    aws_env.monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    provider = BotocoreCredentialsProvider()
    assert isinstance(provider, CredentialsProvider)
    assert provider.get_credentials() == Credentials(
        "AKIAENVIRONMENT0001", "env-secret", "env-token"
    )


def test_default_profile_in_shared_credentials_file(aws_env: Env) -> None:
    aws_env.write_credentials(
        "[default]\naws_access_key_id = AKIADEFAULT000001\naws_secret_access_key = file-secret\n"
    )
    credentials = BotocoreCredentialsProvider().get_credentials()
    assert credentials == Credentials("AKIADEFAULT000001", "file-secret")
    assert credentials.expiration is None


def test_named_profile_wins_over_environment(aws_env: Env) -> None:
    aws_env.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001")
    aws_env.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    aws_env.write_credentials(
        "[default]\naws_access_key_id = AKIADEFAULT000001\naws_secret_access_key = a\n"
        "[dev]\naws_access_key_id = AKIADEV0000000001\naws_secret_access_key = dev-secret\n"
    )
    provider = BotocoreCredentialsProvider("dev")
    assert provider.profile == "dev"
    assert provider.get_credentials().access_key_id == "AKIADEV0000000001"


def test_aws_profile_variable_selects_the_profile(aws_env: Env) -> None:
    aws_env.write_config(
        "[profile ops]\naws_access_key_id = AKIAOPS0000000001\naws_secret_access_key = ops\n"
    )
    aws_env.monkeypatch.setenv("AWS_PROFILE", "ops")
    assert BotocoreCredentialsProvider().get_credentials().access_key_id == "AKIAOPS0000000001"


def test_missing_profile_is_a_credentials_error_naming_it(aws_env: Env) -> None:
    aws_env.write_credentials("[default]\naws_access_key_id = A\naws_secret_access_key = b\n")
    with pytest.raises(CredentialsError) as info:
        BotocoreCredentialsProvider("no-such-profile").get_credentials()
    assert type(info.value) is CredentialsError
    assert "'no-such-profile'" in str(info.value)
    assert str(aws_env.config) in str(info.value)
    assert info.value.__cause__ is not None


def test_nothing_found(aws_env: Env) -> None:
    with pytest.raises(NoCredentialsError) as info:
        BotocoreCredentialsProvider().get_credentials()
    message = str(info.value)
    for expected in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "'default'",
        str(aws_env.credentials),
        str(aws_env.config),
        "SSO",
        "container",
        "instance metadata",
    ):
        assert expected in message


def test_nothing_found_for_an_explicit_profile_says_env_was_skipped(aws_env: Env) -> None:
    aws_env.write_config("[profile empty]\nregion = us-east-1\n")
    with pytest.raises(NoCredentialsError, match="skipped: a profile was given") as info:
        BotocoreCredentialsProvider("empty").get_credentials()
    assert "'empty'" in str(info.value)


def test_partial_credentials_are_a_credentials_error(aws_env: Env) -> None:
    aws_env.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001")
    with pytest.raises(CredentialsError, match="PartialCredentialsError") as info:
        BotocoreCredentialsProvider().get_credentials()
    assert type(info.value) is CredentialsError


def test_resolution_is_lazy_and_happens_once(aws_env: Env) -> None:
    aws_env.write_credentials("[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n")
    factory, calls = counting_factory()
    provider = BotocoreCredentialsProvider(session_factory=factory)
    assert calls == []
    first = provider.get_credentials()
    assert provider.get_credentials() is first  # unchanged credentials are not rebuilt
    assert len(calls) == 1


def test_failing_session_factory(aws_env: Env) -> None:
    def factory() -> Any:
        raise RuntimeError("no session for you")

    with pytest.raises(CredentialsError, match="no session for you"):
        BotocoreCredentialsProvider(session_factory=factory).get_credentials()


@pytest.mark.parametrize("profile", ["", "   ", 7])
def test_bad_profile_argument(profile: object) -> None:
    with pytest.raises(ValueError, match="profile"):
        BotocoreCredentialsProvider(profile)  # type: ignore[arg-type]


def test_repr_names_the_profile_only(aws_env: Env) -> None:
    aws_env.write_credentials("[p]\naws_access_key_id = AKIA1\naws_secret_access_key = hush\n")
    provider = BotocoreCredentialsProvider("p")
    provider.get_credentials()
    assert repr(provider) == "BotocoreCredentialsProvider(profile='p')"


def test_process_credentials_refresh_before_expiry(aws_env: Env) -> None:
    state = aws_env.process_profile("proc", [300, 7200])
    provider = BotocoreCredentialsProvider("proc")
    credentials = provider.get_credentials()
    # Run 1 gave credentials with 5 minutes left: inside botocore's 10-minute mandatory
    # window, so they were replaced (run 2) before being handed out, while still valid.
    assert runs(state) == 2
    assert credentials.access_key_id == "ASIAPROCESS00002"
    assert credentials.session_token == "process-token-2"
    assert credentials.expiration is not None
    assert credentials.expiration.tzinfo is not None
    left = credentials.expiration - datetime.now(timezone.utc)
    assert timedelta(hours=1, minutes=55) < left <= timedelta(hours=2)
    # Two hours left: no further refresh, same object back.
    assert provider.get_credentials() is credentials
    assert runs(state) == 2


def test_process_credentials_far_from_expiry_are_not_refreshed(aws_env: Env) -> None:
    state = aws_env.process_profile("proc", [7200])
    provider = BotocoreCredentialsProvider("proc")
    assert provider.get_credentials().access_key_id == "ASIAPROCESS00001"
    provider.get_credentials()
    assert runs(state) == 1


def test_process_returning_expired_credentials(aws_env: Env) -> None:
    aws_env.process_profile("proc", [-60])
    with pytest.raises(CredentialsError, match="still expired") as info:
        BotocoreCredentialsProvider("proc").get_credentials()
    assert "process-secret" not in str(info.value)


def test_process_failure_on_refresh(aws_env: Env) -> None:
    state = aws_env.process_profile("proc", [300, "fail"])
    with pytest.raises(CredentialsError, match="credential helper exploded") as info:
        BotocoreCredentialsProvider("proc").get_credentials()
    assert runs(state) == 2
    assert "Refreshing" in str(info.value)
    assert "process-secret" not in str(info.value)


def test_process_failure_on_first_load(aws_env: Env) -> None:
    aws_env.process_profile("proc", ["fail"])
    with pytest.raises(CredentialsError, match="Loading AWS credentials failed"):
        BotocoreCredentialsProvider("proc").get_credentials()


def test_many_threads_resolve_once_and_refresh_once(aws_env: Env) -> None:
    state = aws_env.process_profile("proc", [300, 7200])
    factory, calls = counting_factory()
    provider = BotocoreCredentialsProvider("proc", session_factory=factory)
    threads_count = 12
    barrier = threading.Barrier(threads_count)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(provider.get_credentials())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == threads_count
    assert len(calls) == 1  # one session, one chain resolution
    assert runs(state) == 2  # one load plus exactly one refresh
    assert {c.access_key_id for c in results} == {"ASIAPROCESS00002"}
