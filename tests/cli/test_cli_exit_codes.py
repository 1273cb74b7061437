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
    counts = "after 1 promoted, 0 already there, 0 skipped, 0 failed, 2 remaining"
    assert f"{counts}; resume with --journal {journal} --resume" in line
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
    assert "is not valid JSON" in result.stderr
    missing = cli("failover-all", "--plan", str(tmp_path / "absent.json"))
    assert missing.code == EXIT_USAGE


@pytest.mark.parametrize("depth", [17, 100_000])
def test_a_deeply_nested_plan_file_is_a_usage_error(cli: Cli, tmp_path: Path, depth: int) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"plan": ' + "[" * depth + "]" * depth + "}")
    result = cli("failover-all", "--plan", str(bad), "--output", "json")
    assert result.code == EXIT_USAGE
    assert "nests arrays and objects deeper than 16 levels" in result.stderr
    assert "RecursionError" not in result.stderr
    assert result.json()["error"]["type"] == "UsageError"


@pytest.mark.parametrize("resume", [False, True])
def test_journal_on_a_file_that_is_not_a_journal_is_refused_and_left_alone(
    cli: Cli, tmp_path: Path, resume: bool
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("call Alice about the migration")
    argv = ["failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--journal", str(notes)]
    result = cli(*argv, *(["--resume"] if resume else []))
    assert result.code == EXIT_USAGE
    assert "not a kms-mrk journal" in result.stderr
    assert notes.read_text() == "call Alice about the migration"


def test_a_deeply_nested_journal_line_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    start = '{"v":1,"run":1,"type":"start","from_region":"us-east-1","to_region":"eu-west-1"}'
    journal.write_text(start + '\n{"v":1,"x":' + "[" * 50_000 + "]" * 50_000 + "}\n")
    argv = ["failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--journal", str(journal)]
    result = cli(*argv, "--resume")
    assert result.code == EXIT_USAGE
    assert "line 2" in result.stderr
    assert "RecursionError" not in result.stderr


# --------------------------------------------------------------------------- review of issue 5


def _scripted(answer: object) -> Cli:
    """A Cli whose KMS answers every request with the JSON ``answer`` (a malformed one)."""
    from tests.failover._support import ScriptedKMS

    return Cli(ScriptedKMS(lambda _op, _region, _body: answer), ManualClock())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [{}, {"KeyMetadata": None}],
    ids=["no KeyMetadata", "KeyMetadata null"],
)
def test_a_describe_key_answer_without_metadata_is_a_kms_error(answer: object) -> None:
    from tests.failover._support import MRK

    result = _scripted(answer)("status", MRK, "--region", "us-east-1", "--output", "json")
    assert result.code == EXIT_ERROR
    line = _one_error_line(result.stderr, "status")
    assert "Unexpected DescribeKey response in us-east-1: it has no KeyMetadata" in line
    assert "unexpected" not in line.split("error: ", 1)[1][:12]  # not "unexpected <Bug>"
    assert result.json()["error"]["type"] == "MalformedResponseError"


def test_a_malformed_arn_from_kms_is_not_a_usage_error() -> None:
    from tests.failover._support import MRK, mrk_metadata

    answer = {"KeyMetadata": {**mrk_metadata("us-east-1"), "Arn": "garbage"}}
    result = _scripted(answer)("status", MRK, "--region", "us-east-1")
    assert result.code == EXIT_ERROR
    assert "KeyMetadata.Arn 'garbage' is not an ARN" in _one_error_line(result.stderr, "status")


def test_failover_timeout_json_says_whether_the_change_was_sent(clock: ManualClock) -> None:
    kms = LocalKMS(clock=clock, updating_seconds=3600.0, seed=4)
    cli = Cli(kms, clock)
    key_id = cli.key()
    result = cli("failover", key_id, "--to", "eu-west-1", "--timeout", "20", "--output", "json")
    assert result.code == EXIT_TIMEOUT
    error = result.json()["error"]
    assert error["sent"] is True
    assert isinstance(error["request_id"], str) and error["request_id"]
    assert error["request_id"] in error["message"]
    # Rerun while the change is still in progress: it only waits; nothing is sent.
    again = cli("failover", key_id, "--to", "eu-west-1", "--timeout", "20", "--output", "json")
    assert again.code == EXIT_TIMEOUT
    assert again.json()["error"]["sent"] is False
    assert again.json()["error"]["request_id"] is None
    kms.close()


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":[1]}',
            "plan items[0] must be a JSON object",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":'
            '[{"action":"promote","key_id":"mrk-00000000000000000000000000000000",'
            '"replica_regions":5}]}',
            "plan items[0].replica_regions must be an array of strings",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":[],'
            '"filter":"x"}',
            "plan filter must be a JSON object",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"nowhere","items":[]}',
            "plan to_region='nowhere' is not a valid Region name",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":'
            '[{"action":"promote","key_id":"mrk-00000000000000000000000000000000",'
            '"aliases":"abc"}],"single_region_keys":"x"}',
            "plan items[0].aliases must be an array of strings",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":[],'
            '"single_region_keys":"x"}',
            "plan single_region_keys must be a whole number",
        ),
        (
            '{"schema_version":1,"from_region":"us-east-1","to_region":"eu-west-1","items":'
            '[{"action":"skip","reason":"because","key_id":"mrk-00000000000000000000000000000000"}]}',
            "plan items[0].reason must be one of",
        ),
    ],
    ids=[
        "item",
        "replica_regions",
        "filter",
        "to_region",
        "aliases",
        "single_region_keys",
        "reason",
    ],
)
def test_a_malformed_plan_file_is_a_usage_error_naming_the_field(
    cli: Cli, tmp_path: Path, content: str, field: str
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    result = cli("failover-all", "--plan", str(bad), "--output", "json")
    assert result.code == EXIT_USAGE
    line = _one_error_line(result.stderr, "failover-all")
    assert f"--plan {bad}: {field}" in line
    assert result.json()["error"]["type"] == "UsageError"


def test_journal_problems_are_found_before_any_kms_call(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    from tests.failover._support import CountingTransport

    for _ in range(2):
        Cli(kms, clock).key()
    transport = CountingTransport(kms)
    cli = Cli(transport, clock)  # type: ignore[arg-type]
    fleet = ["failover-all", "--from", "us-east-1", "--to", "eu-west-1"]
    used = tmp_path / "used.jsonl"
    assert cli(*fleet, "--journal", str(used)).code == EXIT_OK
    transport.operations.clear()

    cases = {
        "no such directory": ([*fleet, "--journal", str(tmp_path / "nowhere" / "j.jsonl")], 1),
        "exists without --resume": ([*fleet, "--journal", str(used)], 2),
        "another pair of Regions": (
            [*fleet[:3], "--to", "ap-southeast-2", "--journal", str(used), "--resume"],
            2,
        ),
        "resume of a missing journal": (
            [*fleet, "--journal", str(tmp_path / "typo.jsonl"), "--resume"],
            2,
        ),
    }
    for name, (argv, code) in cases.items():
        result = cli(*argv)
        assert result.code == code, name
        assert "journal" in _one_error_line(result.stderr, "failover-all"), name
        assert transport.operations == [], name  # refused before ListKeys
    assert not (tmp_path / "typo.jsonl").exists()


def test_a_journal_in_use_by_another_run_is_refused(cli: Cli, tmp_path: Path) -> None:
    from kms_mrk.failover import Journal

    cli.key()
    path = tmp_path / "j.jsonl"
    with Journal.open(path, from_region="us-east-1", to_region="eu-west-1"):
        result = cli(
            "failover-all",
            "--from",
            "us-east-1",
            "--to",
            "eu-west-1",
            "--journal",
            str(path),
            "--resume",
        )
    assert result.code == EXIT_USAGE
    assert "another run has it open" in _one_error_line(result.stderr, "failover-all")


def test_a_failed_plan_leaves_the_journal_usable(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    from tests.failover._support import CountingTransport

    Cli(kms, clock).key()
    transport = CountingTransport(kms)
    cli = Cli(transport, clock)  # type: ignore[arg-type]
    journal = str(tmp_path / "j.jsonl")
    fleet = ["failover-all", "--from", "us-east-1", "--to", "eu-west-1", "--journal", journal]
    transport.unreachable.add("us-east-1")
    assert cli(*fleet).code == EXIT_ERROR  # ListKeys cannot reach the Region
    transport.unreachable.clear()
    assert cli(*fleet).code == EXIT_OK  # the same command again: not "journal exists"


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "json", "frobnicate"],
        ["status", "--output=json"],
        ["failover", "mrk-" + "a" * 32, "--to", "EU West", "--out", "json"],
    ],
    ids=["unknown command", "missing KEY", "bad Region"],
)
def test_command_line_errors_print_a_json_document_when_json_is_asked_for(
    cli: Cli, argv: list[str]
) -> None:
    result = cli(*argv)
    assert result.code == EXIT_USAGE
    document = result.json()
    assert document["ok"] is False
    assert document["exit_code"] == EXIT_USAGE
    assert document["error"]["type"] == "UsageError"
    assert document["error"]["message"]
    assert document["command"] == (None if "frobnicate" in argv else argv[0])
    _one_error_line(result.stderr, "x")


def test_ctrl_c_json_error_says_interrupted(
    kms: LocalKMS, clock: ManualClock, tmp_path: Path
) -> None:
    from tests.failover._support import CountingTransport

    Cli(kms, clock).key()
    transport = CountingTransport(kms)

    def interrupt(operation: str, _request: object) -> None:
        if operation == "UpdatePrimaryRegion":
            raise KeyboardInterrupt

    transport.hook = interrupt
    journal = tmp_path / "j.jsonl"
    result = Cli(transport, clock)(  # type: ignore[arg-type]
        "failover-all",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--journal",
        str(journal),
        "--output",
        "json",
    )
    assert result.code == EXIT_INTERRUPTED
    error = result.json()["error"]
    assert error["type"] == "KeyboardInterrupt"
    assert error["message"] == "interrupted"
