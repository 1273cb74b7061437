"""Every example script runs to completion (CI executes them; none needs AWS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith(("test_", "_")))


def _run(script: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=EXAMPLES.parent,
        check=False,
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    result = _run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_update_primary_region_example_prints_the_documented_request() -> None:
    result = _run(EXAMPLES / "update_primary_region_request.py")
    lines = result.stdout.splitlines()
    assert lines[0] == "POST https://kms.us-west-1.amazonaws.com/"
    assert "X-Amz-Target: TrentService.UpdatePrimaryRegion" in lines
    body = json.loads(result.stdout.split("\n\n", 1)[1])
    assert body == {
        "KeyId": "arn:aws:kms:us-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "PrimaryRegion": "eu-central-1",
    }


def test_update_primary_region_example_goes_through_a_client() -> None:
    # The example captures what a KMSClient sends (validated, serialized, signed) instead of
    # calling the protocol layer with a hand-written target prefix.
    source = (EXAMPLES / "update_primary_region_request.py").read_text(encoding="utf-8")
    assert "KMSClient(" in source
    assert "awsjson11" not in source and "TrentService" not in source
    lines = _run(EXAMPLES / "update_primary_region_request.py").stdout.splitlines()
    auth = next(line for line in lines if line.startswith("Authorization: "))
    assert auth.startswith("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-1/kms/aws4_request" in auth
    signature = auth.split("Signature=", 1)[1]
    assert signature.endswith("...") and len(signature) < 64
    assert any(line.startswith("X-Amz-Date: ") for line in lines)
    assert "Content-Type: application/x-amz-json-1.1" in lines
