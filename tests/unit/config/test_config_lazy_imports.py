"""Resolving configuration and endpoints must not pull in botocore, configparser or ssl."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    from kms_mrk._config import resolve_config
    from kms_mrk.endpoints import resolve_endpoint

    heavy = ("botocore", "configparser", "urllib3", "ssl", "http.client", "gzip", "shlex")
    loaded = lambda: [m for m in heavy if m in sys.modules]
    print("import:", loaded())
    config = resolve_config(environ={"AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": sys.argv[1]})
    print("config without a file:", loaded())
    print(resolve_endpoint(config.region, use_dualstack=True))
    print("endpoint:", loaded())
    """
)


def test_resolution_stays_light(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == [
        "import: []",
        "config without a file: []",
        "https://kms.eu-west-1.api.aws",
        "endpoint: []",
    ]
