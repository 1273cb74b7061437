"""What the parts of ``kms-mrk`` share: the runtime, a command's outcome, the usage error and
the command's constants.

Kept apart from ``_app`` (parsing and dispatch), ``_commands`` and ``_demo`` so that those
modules import this one and never each other at module level (no import cycles).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from kms_mrk import Transport

__all__ = [
    "DEMO_REFUSES",
    "LOCAL_CREDENTIALS",
    "LOCAL_DEFAULT_REGION",
    "PROG",
    "Outcome",
    "Runtime",
    "TimeBounds",
    "UsageError",
]

PROG: Final = "kms-mrk"
LOCAL_CREDENTIALS: Final = ("AKIDLOCAL", "local-secret")
LOCAL_DEFAULT_REGION: Final = "us-east-1"
DEMO_REFUSES: Final = (
    "demo always runs on its own embedded local KMS: --region, --profile, --endpoint-url, "
    "--local and --state do not apply"
)


@attrs.frozen(kw_only=True)
class TimeBounds:
    """How long one KMS call of the command may take (the defaults are documented in
    docs/cli.md; the client's own defaults, 60 s per connection and per read, suit
    applications better than incidents).

    Each attempt: ``connect`` seconds to connect (TCP and TLS), ``read`` seconds for each
    read of the answer and ``attempt`` seconds in all (sent to the transport as the
    request's ``timeout``). At most ``max_attempts`` attempts (``AWS_MAX_ATTEMPTS`` may
    lower it, not raise it), with pauses of at most ``max_backoff`` seconds between them.
    """

    connect: float = 5.0
    read: float = 10.0
    attempt: float = 15.0
    max_attempts: int = 3
    max_backoff: float = 2.0

    @property
    def per_call(self) -> float:
        """The most one KMS call may take: every attempt and every pause."""
        return self.max_attempts * self.attempt + (self.max_attempts - 1) * self.max_backoff


class UsageError(Exception):
    """A bad combination of options or a bad option value (exit status 2)."""


@attrs.define(kw_only=True)
class Runtime:
    """What the command reads and writes; tests replace parts of it.

    ``transport`` replaces the network (like ``--local``, with a LocalKMS the test owns);
    ``sleep`` and ``clock`` drive every wait; ``stderr_tty`` overrides terminal detection;
    ``time_bounds`` bounds each KMS call made over the network.
    """

    stdout: IO[str] = attrs.field(factory=lambda: sys.stdout)
    stderr: IO[str] = attrs.field(factory=lambda: sys.stderr)
    environ: Mapping[str, str] | None = None
    transport: Transport | None = None
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stderr_tty: bool | None = None
    time_bounds: TimeBounds = attrs.field(factory=TimeBounds)

    def is_tty(self) -> bool:
        if self.stderr_tty is not None:
            return self.stderr_tty
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())


@attrs.frozen(kw_only=True)
class Outcome:
    """What a command produced: its exit status, the JSON body and the table text."""

    exit_code: int
    body: dict[str, Any]
    text: str
