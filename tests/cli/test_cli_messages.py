"""What the command says: suggestions for typos, warnings, interrupted runs, help and docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kms_mrk.cli import EXIT_OK, EXIT_USAGE
from kms_mrk.local import LocalKMS, ManualClock
from tests.cli._cli import Cli


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["stauts", "K"], "did you mean 'status'?"),
        (["failover-al", "--from", "us-east-1"], "did you mean 'failover-all'?"),
        (["status", "K", "--output", "jsn"], "did you mean 'json'?"),
        (["failover", "K", "--to", "eu-centrl-1"], "did you mean eu-central-1?"),
        (["failover", "K", "--to", "EU-WEST-1"], "did you mean eu-west-1?"),
        (["plan", "--from", "us-esat-1", "--to", "eu-west-1"], "did you mean us-east-1?"),
    ],
)
def test_typos_get_a_suggestion(cli: Cli, argv: list[str], suggestion: str) -> None:
    result = cli(*argv)
    assert result.code == EXIT_USAGE
    assert suggestion in result.stderr


def test_a_new_region_of_a_known_family_is_let_through_to_kms(cli: Cli) -> None:
    from kms_mrk.cli._suggest import known_regions, region_suggestion

    assert "eu-central-1" in known_regions()
    assert region_suggestion("eu-central-1") is None
    assert region_suggestion("eu-central-9") is None  # maybe newer than the installed data
    assert region_suggestion("eu-centrl-1") == "eu-central-1"
    assert region_suggestion("zz-nowhere-1") is None  # nothing close: KMS will judge
    key = cli.key()
    result = cli("failover", key, "--to", "eu-central-9", "--dry-run")
    assert "did you mean" not in result.stderr


def test_failover_all_without_a_journal_warns_on_a_terminal(cli: Cli) -> None:
    cli.key()
    argv = ("failover-all", "--from", "us-east-1", "--to", "eu-west-1")
    on_terminal = cli(*argv, tty=True)
    assert on_terminal.code == EXIT_OK
    assert "warning: no --journal" in on_terminal.stderr
    quiet = cli("failover-all", "--from", "eu-west-1", "--to", "us-east-1", "-q", tty=True)
    assert "warning" not in quiet.stderr
    piped = cli("failover-all", "--from", "us-east-1", "--to", "eu-west-1")
    assert "warning" not in piped.stderr


def test_the_detail_column_never_cuts_a_request_id() -> None:
    from kms_mrk.cli._commands import _short

    rid = "1b92d355-079c-fc74-5cab-000000000001"
    text = "UpdatePrimaryRegion answered ServiceUnavailable " + "and more words " * 10
    long = f"{text}(request id {rid}); check again later"
    short = _short(long, 100)
    assert rid in short
    assert len(short) < len(long)
    assert rid in _short(f"request id {rid} " + "x " * 80, 40)
    assert _short("short text") == "short text"
    for limit in (20, 50, 100):
        cut = _short(long, limit)
        assert rid in cut
        fragments = [w.strip("();") for w in cut.split() if w.strip("();") != rid]
        assert not [f for f in fragments if f and rid.startswith(f) and len(f) > 4]


def test_demo_help_lists_only_what_demo_accepts(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli("demo", "--help")  # argparse prints help on sys.stdout
    assert result.code == EXIT_OK
    shown = capsys.readouterr().out
    for option in ("--region", "--profile", "--endpoint-url", "--local", "--state"):
        assert option not in shown
    for option in ("--fast", "--output", "--quiet", "--debug"):
        assert option in shown
    refused = cli("demo", "--region", "us-east-1")
    assert refused.code == EXIT_USAGE
    assert "demo always runs on its own embedded local KMS" in refused.stderr
    before = cli("--local", "demo")
    assert before.code == EXIT_USAGE
    assert "demo always runs on its own embedded local KMS" in before.stderr


def test_help_points_to_docs_an_installed_user_has(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("--help")
    shown = capsys.readouterr().out
    assert "kms-mrk docs" in shown
    assert "docs/cli.md" not in shown
    guide = cli("docs")
    assert guide.code == EXIT_OK
    assert guide.stdout.startswith("# The `kms-mrk` command")
    assert "## Exit status" in guide.stdout
    failover = cli("docs", "failover")
    assert failover.code == EXIT_OK
    assert failover.stdout == (Path(__file__).resolve().parents[2] / "docs/failover.md").read_text()


def test_the_wheel_carries_the_guides_docs_prints() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from kms_mrk.cli._docs import _FILES

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    included = project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for name in _FILES.values():
        assert included[f"docs/{name}"] == f"kms_mrk/cli/_docs/{name}"
        assert (root / "docs" / name).is_file()


def test_the_packaged_guide_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kms_mrk.cli._docs as docs

    package = tmp_path / "kms_mrk" / "cli"
    (package / "_docs").mkdir(parents=True)
    (package / "_docs" / "cli.md").write_text("# packaged\n")
    monkeypatch.setattr(docs, "__file__", str(package / "_docs.py"))
    assert docs.find_docs("cli") == package / "_docs" / "cli.md"
    assert docs.find_docs("failover") is None  # neither packaged nor in a checkout


def test_local_state_leaves_no_stray_files_and_releases_the_state(tmp_path: Path) -> None:
    import io

    from kms_mrk.cli._app import Runtime, run_cli

    state = tmp_path / "new.json"
    for argv in (
        ["--local", "--state", str(state), "plan", "--from", "us-east-1", "--to", "eu-west-1"],
        ["--local", "--state", str(state), "status", "mrk-" + "a" * 32, "--region", "us-east-1"],
    ):
        run_cli(argv, Runtime(stdout=io.StringIO(), stderr=io.StringIO(), environ={}))
        leftovers = {p.name for p in tmp_path.iterdir()} - {"new.json", "new.json.lock"}
        assert leftovers == set(), leftovers  # no temporaries (.new.json.*.tmp)
        again = LocalKMS(state_file=state)  # the lock was released: the state opens at once
        again.close()


def test_interrupted_note_counts_what_was_done() -> None:
    import argparse

    from kms_mrk.cli._commands import interrupted_note

    class _Session:
        fleet_progress = (10, {"promoted": 3, "sent": 1, "failed": 2, "skipped": 1})

    args = argparse.Namespace(command="failover-all", journal=None)
    note = interrupted_note(args, _Session())  # type: ignore[arg-type]
    assert "after 4 promoted, 0 already there, 1 skipped, 2 failed, 3 remaining" in note
    assert "no journal was kept" in note
    assert interrupted_note(argparse.Namespace(command="status")) == ""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
