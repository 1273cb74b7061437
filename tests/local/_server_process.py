"""Run ``python -m kms_mrk.local serve`` in a subprocess and talk to it over HTTP."""

from __future__ import annotations

import http.client
import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]


def start_server(*args: str, timeout: float = 20.0) -> tuple[subprocess.Popen[str], str]:
    """Start a server on a free port; return the process and its URL once it listens."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kms_mrk.local",
            "serve",
            "--port",
            "0",
            "--log-level",
            "WARNING",
            *args,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if "listening on" not in line:
        process.kill()
        _out, err = process.communicate(timeout=10)
        raise AssertionError(f"server did not start: {line!r} {err!r}")
    return process, line.rsplit(" ", 1)[1].strip()


def stop_server(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then wait: (exit status, standard error)."""
    process.terminate()
    _out, err = process.communicate(timeout=20)
    return process.returncode, err


def kill_server(process: subprocess.Popen[str]) -> None:
    """SIGKILL: no chance to flush or clean up (and close our ends of its pipes)."""
    process.kill()
    process.communicate(timeout=20)


class Connection:
    """One keep-alive HTTP/1.1 connection sending unsigned KMS requests."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)

    def call(
        self, operation: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        self.http.request(
            "POST",
            "/",
            body=json.dumps(body or {}).encode(),
            headers={
                "X-Amz-Target": f"TrentService.{operation}",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        response = self.http.getresponse()
        data: dict[str, Any] = json.loads(response.read())
        return response.status, data

    def close(self) -> None:
        self.http.close()


def all_key_ids(url: str) -> set[str]:
    connection = Connection(url)
    ids: set[str] = set()
    marker = None
    while True:
        status, page = connection.call(
            "ListKeys", {"Limit": 1000, **({"Marker": marker} if marker else {})}
        )
        assert status == 200, page
        ids |= {k["KeyId"] for k in page["Keys"]}
        if not page["Truncated"]:
            connection.close()
            return ids
        marker = page["NextMarker"]
