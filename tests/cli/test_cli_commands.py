"""The kms-mrk commands: what they print, in tables and as JSON documents."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from kms_mrk.cli import main
from tests.cli._cli import Cli


def test_status_table_is_aligned(cli: Cli) -> None:
    key_id = cli.key("eu-west-1", "ap-southeast-2")
    result = cli("status", key_id)
    assert result.code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"Key      {key_id}"
    assert lines[2] == "Primary  us-east-1"
    header = next(line for line in lines if line.startswith("REGION"))
    rows = lines[lines.index(header) + 1 : lines.index(header) + 4]
    # Every column starts at the same offset on every line.
    for column in ("ROLE", "STATE", "PRIMARY"):
        offset = header.index(column)
        assert all(row[offset - 2 : offset] == "  " and row[offset] != " " for row in rows)
    assert rows[0].split() == ["us-east-1", "PRIMARY", "Enabled", "us-east-1"]
    assert "All 3 Regions agree." in result.stdout


def test_status_json_document(cli: Cli) -> None:
    key_id = cli.key()
    document = cli("status", key_id, "--output", "json").json()
    assert document["schema_version"] == 1
    assert document["command"] == "status"
    assert document["ok"] is True
    assert document["exit_code"] == 0
    key = document["key"]
    assert key["key_id"] == key_id
    assert key["primary_region"] == "us-east-1"
    assert [r["region"] for r in key["regions"]] == ["us-east-1", "eu-west-1"]


def test_status_options_go_before_or_after_the_command(cli: Cli) -> None:
    key_id = cli.key()
    before = cli("--output", "json", "--region", "us-east-1", "status", key_id)
    after = cli("status", key_id, "--output", "json", "--region", "us-east-1")
    for result in (before, after):
        assert result.code == 0
    views = [r.json()["key"] for r in (before, after)]
    for view in views:
        for region in view["regions"]:
            region.pop("request_id")
    assert views[0] == views[1]


def test_status_of_a_replica_arn_reads_from_its_region(cli: Cli) -> None:
    key_id = cli.key()
    arn = f"arn:aws:kms:eu-west-1:111122223333:key/{key_id}"
    assert cli("status", arn, "--output", "json").json()["key"]["primary_region"] == "us-east-1"


def test_failover_waits_and_reports(cli: Cli) -> None:
    key_id = cli.key()
    result = cli("failover", key_id, "--to", "eu-west-1")
    assert result.code == 0
    assert result.stdout.startswith(f"Promoted {key_id}: primary us-east-1 -> eu-west-1 in ")
    assert "confirmed from both Regions" in result.stdout
    assert "UpdatePrimaryRegion request id: " in result.stdout
    again = cli("failover", key_id, "--to", "eu-west-1", "--output", "json").json()
    assert again["result"]["status"] == "already_primary"
    assert again["result"]["changed"] is False


def test_failover_json_shows_the_updating_state_it_passed(cli: Cli) -> None:
    key_id = cli.key()
    document = cli("failover", key_id, "--to", "eu-west-1", "--output", "json").json()
    result = document["result"]
    assert result["status"] == "promoted"
    assert any("Updating" in s for s in result["states"])
    assert result["after"]["primary_region"] == "eu-west-1"
    assert result["before"]["primary_region"] == "us-east-1"


def test_failover_no_wait_and_dry_run(cli: Cli) -> None:
    key_id = cli.key()
    dry = cli("failover", key_id, "--to", "eu-west-1", "--dry-run")
    assert dry.code == 0
    assert dry.stdout.startswith("Dry run: every check passed")
    sent = cli("failover", key_id, "--to", "eu-west-1", "--no-wait", "--output", "json").json()
    assert sent["result"]["status"] == "sent"
    assert cli("status", key_id, "--output", "json").json()["key"]["updating"] is True


def test_progress_goes_to_stderr_only_on_a_terminal(cli: Cli) -> None:
    key_id = cli.key()
    quiet = cli("failover", key_id, "--to", "eu-west-1", tty=False)
    assert quiet.stderr == ""
    loud = cli("failover", key_id, "--to", "us-east-1", tty=True)
    assert "waiting for us-east-1 to take over" in loud.stderr
    assert "\r" in loud.stderr
    assert "waiting" not in loud.stdout
    silenced = cli("failover", key_id, "--to", "eu-west-1", "--quiet", tty=True)
    assert silenced.stderr == ""


def test_plan_table_and_json(cli: Cli) -> None:
    ready = cli.key()
    lonely = cli.key("ap-southeast-2")
    table = cli("plan", "--from", "us-east-1", "--to", "eu-west-1")
    assert table.code == 0
    assert "1 to promote, 1 to skip (no_replica_in_target 1)." in table.stdout
    row = next(line for line in table.stdout.splitlines() if line.startswith(lonely))
    assert row.split()[1:3] == ["skip", "no_replica_in_target"]
    document = cli("plan", "--from", "us-east-1", "--to", "eu-west-1", "--output", "json").json()
    items = {i["key_id"]: i for i in document["plan"]["items"]}
    assert items[ready]["action"] == "promote"
    assert items[lonely]["reason"] == "no_replica_in_target"
    assert document["plan"]["schema_version"] == 1


def test_plan_filters(cli: Cli) -> None:
    from kms_mrk import Tag

    client = cli.client()
    tagged = cli.key()
    client.tag_resource(key_id=tagged, tags=[Tag(tag_key="team", tag_value="pay")])
    other = cli.key()
    client.create_alias(alias_name="alias/ops-db", target_key_id=other)
    by_tag = cli(
        "plan", "--from", "us-east-1", "--to", "eu-west-1", "--tag", "team=pay", "--output", "json"
    ).json()
    chosen = [i["key_id"] for i in by_tag["plan"]["items"] if i["action"] == "promote"]
    assert chosen == [tagged]
    by_alias = cli(
        "plan",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--alias-prefix",
        "ops-",
        "--output",
        "json",
    ).json()
    chosen = [i["key_id"] for i in by_alias["plan"]["items"] if i["action"] == "promote"]
    assert chosen == [other]


def test_failover_all_from_a_reviewed_plan_with_a_journal(cli: Cli, tmp_path: Path) -> None:
    keys = [cli.key() for _ in range(3)]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(
        cli("plan", "--from", "us-east-1", "--to", "eu-west-1", "--output", "json").stdout
    )
    journal = tmp_path / "run.jsonl"
    result = cli(
        "failover-all",
        "--plan",
        str(plan_file),
        "--journal",
        str(journal),
        "--rate",
        "50",
        "--output",
        "json",
    )
    assert result.code == 0
    summary = result.json()["summary"]
    assert summary["counts"]["promoted"] == 3
    assert [k["key_id"] for k in summary["keys"]] == keys
    assert summary["journal"] == str(journal)
    assert journal.read_text().count('"type":"done"') == 3
    resumed = cli(
        "failover-all",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--journal",
        str(journal),
        "--resume",
    )
    assert resumed.code == 0
    assert "0 promoted, 3 already there" in resumed.stdout


def test_failover_all_progress_on_a_terminal(cli: Cli) -> None:
    for _ in range(2):
        cli.key()
    result = cli("failover-all", "--from", "us-east-1", "--to", "eu-west-1", tty=True)
    assert result.code == 0
    assert "[2/2] promoted 2, failed 0" in result.stderr
    assert result.stdout.startswith("failover-all us-east-1 -> eu-west-1: 2 promoted")


def test_drill_prints_each_step(cli: Cli) -> None:
    key_id = cli.key()
    result = cli("drill", key_id, "--to", "eu-west-1")
    assert result.code == 0
    assert f"Drill of {key_id}: us-east-1 -> eu-west-1 -> us-east-1: passed" in result.stdout
    for step in ("preflight", "promote", "fail_back", "verify"):
        assert f"  {step}  " in result.stdout
    document = cli("drill", key_id, "--to", "eu-west-1", "--output", "json").json()
    assert document["drill"]["ok"] is True
    assert len(document["drill"]["steps"]) == 6


def test_serve_is_delegated_to_the_local_kms(monkeypatch: pytest.MonkeyPatch) -> None:
    import kms_mrk.local

    seen = {}

    def fake_run_serve(args: object) -> int:
        seen["port"] = getattr(args, "port", None)
        seen["updating"] = getattr(args, "updating_seconds", None)
        return 0

    monkeypatch.setattr(kms_mrk.local, "run_serve", fake_run_serve)
    assert main(["serve", "--port", "0", "--updating-seconds", "1.5"]) == 0
    assert seen == {"port": 0, "updating": 1.5}


def test_main_with_a_local_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.json")
    from kms_mrk import Credentials, KMSClient
    from kms_mrk.local import LocalKMS

    with LocalKMS(state_file=state) as kms:
        client = KMSClient("us-east-1", credentials=Credentials("a", "b"), transport=kms)
        created = client.create_key(multi_region=True)
        assert created.key_metadata is not None
        key_id = created.key_metadata.key_id
        client.replicate_key(key_id=key_id, replica_region="eu-west-1")
    assert main(["--local", "--state", state, "failover", key_id, "--to", "eu-west-1"]) == 0
    assert "Promoted" in capsys.readouterr().out
    assert main(["--local", "--state", state, "status", key_id, "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["key"]["primary_region"] == "eu-west-1"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("status", "failover", "plan", "failover-all", "drill", "serve", "demo"):
        assert command in text
    assert "exit status: 0 success" in text


# --------------------------------------------------------------------------- review of issue 5


def _describe_times(cli: Cli) -> tuple[Cli, list[float]]:
    """A Cli on the same KMS that notes the model time of every DescribeKey it sends."""
    from tests.failover._support import CountingTransport

    transport = CountingTransport(cli.kms)
    times: list[float] = []

    def note(operation: str, _request: object) -> None:
        if operation == "DescribeKey":
            times.append(cli.clock())

    transport.hook = note
    return Cli(transport, cli.clock), times  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ["plan", "failover-all"])
def test_the_rate_cap_covers_planning(cli: Cli, command: str) -> None:
    for _ in range(3):
        cli.key()
    paced, times = _describe_times(cli)
    # One at a time: with several threads, the model clock adds up their pauses instead.
    result = paced(
        command, "--from", "us-east-1", "--to", "eu-west-1", "--rate", "2", "--concurrency", "1"
    )
    assert result.code == 0
    planning = times[:6]  # 2 DescribeKey per key while planning: us-east-1, then eu-west-1
    gaps = [b - a for a, b in itertools.pairwise(planning)]
    assert len(gaps) == 5
    assert min(gaps) >= 0.5 - 1e-9  # at most 2 calls per second


def test_plan_without_a_rate_cap_is_not_slowed_down(cli: Cli) -> None:
    for _ in range(3):
        cli.key()
    paced, times = _describe_times(cli)
    assert paced("plan", "--from", "us-east-1", "--to", "eu-west-1", "--rate", "1000").code == 0
    assert times[-1] - times[0] < 0.1


def test_status_of_a_single_region_key_says_so(cli: Cli) -> None:
    created = cli.client().create_key()
    assert created.key_metadata is not None
    result = cli("status", created.key_metadata.key_id)
    assert result.code == 0
    assert "Region   us-east-1" in result.stdout
    assert "Primary" not in result.stdout
    assert "A single-Region key" in result.stdout
    assert "Regions agree" not in result.stdout


def test_status_of_a_key_without_replicas(cli: Cli) -> None:
    created = cli.client().create_key(multi_region=True)
    assert created.key_metadata is not None
    result = cli("status", created.key_metadata.key_id)
    assert "no replicas: only us-east-1 holds it" in result.stdout
    assert "All 1 Regions" not in result.stdout


def test_no_wait_labels_the_state_it_shows(cli: Cli) -> None:
    key_id = cli.key()
    dry = cli("failover", key_id, "--to", "eu-west-1", "--dry-run")
    assert "\nNow:\n" in dry.stdout
    sent = cli("failover", key_id, "--to", "eu-west-1", "--no-wait")
    assert "\nBefore the change (not waited for):\n" in sent.stdout


def test_drill_counts_its_polls_in_words() -> None:
    from kms_mrk.local import LocalKMS, ManualClock

    clock = ManualClock()
    kms = LocalKMS(clock=clock, updating_seconds=0.0, seed=2)
    cli = Cli(kms, clock)
    key_id = cli.key()
    result = cli("drill", key_id, "--to", "eu-west-1", "--output", "json")
    details = [s["detail"] for s in result.json()["drill"]["steps"]]
    assert any("(1 poll)" in d for d in details), details
    assert not any("1 polls" in d for d in details)
    kms.close()


def test_one_line_keeps_options_and_drops_bullets() -> None:
    from kms_mrk.cli._output import one_line

    assert one_line("--plan p.json: bad") == "--plan p.json: bad"
    assert one_line("The Regions do not agree:\n  - a\n  - b") == "The Regions do not agree:; a; b"


def test_the_command_line_and_the_library_share_one_region_rule() -> None:
    import argparse

    from kms_mrk.cli._app import _region_type
    from kms_mrk.errors import ConfigurationError
    from kms_mrk.failover import check_region

    names = [
        "us-east-1",
        "us-gov-west-1",
        "eu-isoe-west-1",
        "nowhere",
        "US-EAST-1",
        "us-east-1 ",
        "",
        "a" * 40 + "-b-1",
        "us_east_1",
        "-us-east-1",
    ]
    for name in names:
        try:
            check_region(name, "r")
            library = True
        except ConfigurationError:
            library = False
        try:
            _region_type(name)
            command_line = True
        except argparse.ArgumentTypeError:
            command_line = False
        assert library == command_line, name
