"""Run ``kms-mrk`` in process against a LocalKMS on a manual clock and capture its output."""

from __future__ import annotations

import io
import json
from typing import Any

import attrs

from kms_mrk import Credentials, KMSClient
from kms_mrk.cli._app import Runtime, run_cli
from kms_mrk.local import LocalKMS, ManualClock
from tests.failover._support import pauser


@attrs.define
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The one JSON document on stdout (json.loads fails on anything more)."""
        document: dict[str, Any] = json.loads(self.stdout)
        return document


class Cli:
    """``cli(*argv)`` runs the command with the test's LocalKMS as its transport."""

    def __init__(self, kms: LocalKMS, clock: ManualClock, *, tty: bool = False) -> None:
        self.kms = kms
        self.clock = clock
        self.tty = tty

    def __call__(self, *argv: str, tty: bool | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(
            stdout=out,
            stderr=err,
            environ={},
            transport=self.kms,
            sleep=self.clock.advance,
            clock=self.clock,
            stderr_tty=self.tty if tty is None else tty,
        )
        code = run_cli(list(argv), runtime)
        return Result(code, out.getvalue(), err.getvalue())

    def client(self, region: str = "us-east-1") -> KMSClient:
        return KMSClient(
            region,
            credentials=Credentials("AKIDLOCAL", "local-secret"),
            transport=self.kms,
            sleep=pauser(self.clock),
        )

    def key(self, *replicas: str, region: str = "us-east-1") -> str:
        client = self.client(region)
        created = client.create_key(multi_region=True)
        assert created.key_metadata is not None
        key_id = created.key_metadata.key_id
        for replica in replicas or ("eu-west-1",):
            client.replicate_key(key_id=key_id, replica_region=replica)
        self.clock.advance(60)
        return key_id
