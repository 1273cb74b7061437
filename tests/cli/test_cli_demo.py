"""kms-mrk demo: the README's first command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli._cli import Cli

REPO = Path(__file__).resolve().parents[2]


def test_demo_tells_the_whole_story(cli: Cli) -> None:
    result = cli("demo", "--fast")
    assert result.code == 0
    out = result.stdout
    for step in range(1, 8):
        assert f"[{step}/7] " in out
    assert "Creating -> Enabled" in out
    failover = out.split("[4/7]")[1].split("[5/7]")[0]
    # The poll lines show Updating as it passes, then both Regions settled.
    assert "eu-west-1 Updating" in failover
    assert "eu-west-1 PRIMARY Enabled" in failover
    assert "us-east-1 REPLICA Enabled" in failover
    assert "the data matches the original" in out
    assert "all Regions agree" in out
    assert out.rstrip().endswith("`kms-mrk docs failover` for the real thing on AWS.")
    assert result.stderr == ""


def test_demo_json_document(cli: Cli) -> None:
    document = cli("demo", "--fast", "--output", "json").json()
    assert document["schema_version"] == 1
    demo = document["demo"]
    assert demo["data_matches"] is True
    assert demo["failover"]["to_region"] == "eu-west-1"
    assert any("Updating" in s for s in demo["failover"]["states"])
    assert demo["final"]["primary_region"] == "us-east-1"
    assert [s["name"] for s in demo["steps"]] == [
        "create",
        "replicate",
        "encrypt",
        "failover",
        "decrypt",
        "failback",
        "status",
    ]


def test_demo_quiet_prints_one_line(cli: Cli) -> None:
    result = cli("demo", "--fast", "--quiet")
    assert result.code == 0
    assert result.stdout.startswith("demo ok: us-east-1 -> eu-west-1 -> us-east-1")
    assert len(result.stdout.splitlines()) == 1


def test_demo_runs_as_a_program() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "kms_mrk.cli", "demo", "--fast"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[7/7]" in done.stdout
