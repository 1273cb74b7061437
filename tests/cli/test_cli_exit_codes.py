"""Every documented exit status, the one-line errors and the JSON error documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from kms_mrk.cli import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PREFLIGHT,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from kms_mrk.local import FaultInjector, FaultRule, LocalKMS, ManualClock
from tests.cli._cli import Cli


def _one_error_line(stderr: str, command: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"kms-mrk {command}: error: ") or lines[0].startswith(
        "kms-mrk: error: "
    )
    return lines[0]


def test_distinct_documented_values() -> None:
    codes = [EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PREFLIGHT, EXIT_PARTIAL, EXIT_TIMEOUT]
    assert codes == [0, 1, 2, 3, 4, 5]
    assert EXIT_INTERRUPTED == 130


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["frobnicate"],
        ["failover", "mrk-" + "a" * 32],
        ["failover", "mrk-" + "a" * 32, "--to", "EU West"],
        ["plan", "--from", "us-east-1", "--to", "eu-west-1", "--concurrency", "0"],
        ["status", "mrk-123"],
        ["status", "mrk-" + "a" * 32, "--state", "x.json"],
        ["failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--resume"],
        ["failover-all", "--from", "us-east-1", "--to", "us-east-1"],
        ["plan", "--from", "us-east-1", "--to", "eu-west-1", "--tag", "novalue"],
        ["demo", "--region", "eu-west-1"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == EXIT_USAGE
    assert result.stdout == ""
    _one_error_line(result.stderr, argv[0])


def test_usage_error_in_json_mode_still_prints_one_document(cli: Cli) -> None:
    result = cli("status", "mrk-123", "--output", "json")
    assert result.code == EXIT_USAGE
    document = result.json()
    assert document["ok"] is False
    assert document["exit_code"] == EXIT_USAGE
    assert document["error"]["type"] == "InvalidKeyIdentifierError"


def test_preflight_refusal_exits_3_naming_every_check(cli: Cli) -> None:
    key_id = cli.key("ap-southeast-2")
    cli.client().disable_key(key_id=key_id)
    result = cli("failover", key_id, "--to", "eu-west-1", "--output", "json")
    assert result.code == EXIT_PREFLIGHT
    line = _one_error_line(result.stderr, "failover")
    assert "no_replica_in_target" in line
    assert "source_not_enabled" in line
    error = result.json()["error"]
    assert error["type"] == "PreflightError"
    assert {c["name"] for c in error["checks"]} == {"no_replica_in_target", "source_not_enabled"}
    assert error["key"]["primary_region"] == "us-east-1"


def test_drill_refusal_exits_3(cli: Cli) -> None:
    key_id = cli.key()
    assert cli("drill", key_id, "--to", "us-east-1").code == EXIT_PREFLIGHT


def test_timeout_exits_5_with_the_last_state(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=4)
    cli = Cli(kms, clock)
    key_id = cli.key()
    result = cli("failover", key_id, "--to", "eu-west-1", "--timeout", "20", "--output", "json")
    assert result.code == EXIT_TIMEOUT
    line = _one_error_line(result.stderr, "failover")
    assert "Timed out after 20.0s" in line
    assert "Updating" in line
    error = result.json()["error"]
    assert error["type"] == "WaiterTimeoutError"
    assert error["last_state"]["updating"] is True
    assert error["timeout_seconds"] == 20
    kms.close()


def test_partial_failure_exits_4(cli: Cli, tmp_path: Path) -> None:
    keys = [cli.key() for _ in range(3)]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(
        cli("plan", "--from", "us-east-1", "--to", "eu-west-1", "--output", "json").stdout
    )
    cli.client("eu-west-1").disable_key(key_id=keys[1])
    result = cli("failover-all", "--plan", str(plan_file), "--journal", str(tmp_path / "j"))
    assert result.code == EXIT_PARTIAL
    assert "2 promoted" in result.stdout
    assert "1 failed" in result.stdout
    failed_row = next(line for line in result.stdout.splitlines() if line.startswith(keys[1]))
    assert "preflight:target_not_enabled" in failed_row
    assert f"--journal {tmp_path / 'j'} --resume" in result.stdout


def test_drill_with_a_failed_step_exits_4(kms: LocalKMS, cli: Cli) -> None:
    key_id = cli.key()
    kms.faults = FaultInjector([FaultRule(operation="Decrypt", error="IncorrectKeyException")])
    result = cli("drill", key_id, "--to", "eu-west-1")
    assert result.code == EXIT_PARTIAL
    assert ": FAILED in" in result.stdout


def test_drill_timeout_exits_5(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=4)
    cli = Cli(kms, clock)
    key_id = cli.key()
    assert cli("drill", key_id, "--to", "eu-west-1", "--timeout", "5").code == EXIT_TIMEOUT
    kms.close()


def test_other_errors_exit_1(cli: Cli) -> None:
    result = cli("status", "mrk-" + "f" * 32)
    assert result.code == EXIT_ERROR
    line = _one_error_line(result.stderr, "status")
    assert "NotFoundException" in line
    assert "Traceback" not in result.stderr


def test_tracebacks_only_with_debug(cli: Cli) -> None:
    result = cli("status", "mrk-" + "f" * 32, "--debug")
    assert result.code == EXIT_ERROR
    assert "Traceback (most recent call last)" in result.stderr
    assert "DescribeKey" in result.stderr  # the call log of --debug


def test_interrupt_exits_130_and_says_how_to_resume(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    from tests.failover._support import CountingTransport

    cli = Cli(kms, clock)
    for _ in range(3):
        cli.key()
    transport = CountingTransport(kms)

    def interrupt(operation: str, _request: object) -> None:
        if operation == "UpdatePrimaryRegion" and transport.updates:
            raise KeyboardInterrupt

    transport.hook = interrupt
    journal = tmp_path / "j.jsonl"
    interrupted = Cli(transport, clock)  # type: ignore[arg-type]
    result = interrupted(
        "failover-all",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--journal",
        str(journal),
        "--concurrency",
        "1",
    )
    assert result.code == EXIT_INTERRUPTED
    line = _one_error_line(result.stderr, "failover-all")
    assert f"resume with --journal {journal} --resume" in line
    transport.hook = None
    resumed = interrupted(
        "failover-all",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--journal",
        str(journal),
        "--resume",
    )
    assert resumed.code == EXIT_OK
    assert sorted(transport.update_counts().values()) == [1, 1, 1]


def test_existing_journal_without_resume_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    cli.key()
    journal = str(tmp_path / "j.jsonl")
    assert (
        cli("failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--journal", journal).code
        == EXIT_OK
    )
    again = cli("failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--journal", journal)
    assert again.code == EXIT_USAGE
    assert "--resume" in again.stderr


def test_bad_plan_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    result = cli("failover-all", "--plan", str(bad))
    assert result.code == EXIT_USAGE
    assert "not a JSON document" in result.stderr
    missing = cli("failover-all", "--plan", str(tmp_path / "absent.json"))
    assert missing.code == EXIT_USAGE
