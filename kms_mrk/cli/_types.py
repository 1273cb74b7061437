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
    "CALL_TIMEOUT",
    "CONNECT_TIMEOUT",
    "LOCAL_CREDENTIALS",
    "LOCAL_DEFAULT_REGION",
    "PROG",
    "READ_TIMEOUT",
    "Outcome",
    "Runtime",
    "UsageError",
]

PROG: Final = "kms-mrk"
LOCAL_CREDENTIALS: Final = ("AKIDLOCAL", "local-secret")
LOCAL_DEFAULT_REGION: Final = "us-east-1"
#: Seconds to wait for a connection (TCP and TLS) in each attempt.
CONNECT_TIMEOUT: Final = 5.0
#: Seconds to wait for each read of an answer in each attempt.
READ_TIMEOUT: Final = 10.0
#: The most one KMS call may take, every attempt and pause between attempts included: an
#: unreachable or silent Region is reported in well under a minute (the client's defaults,
#: 60 s per read and per connection, suit applications better than incidents).
CALL_TIMEOUT: Final = 30.0


class UsageError(Exception):
    """A bad combination of options or a bad option value (exit status 2)."""


@attrs.define(kw_only=True)
class Runtime:
    """What the command reads and writes; tests replace parts of it.

    ``transport`` replaces the network (like ``--local``, with a LocalKMS the test owns);
    ``sleep`` and ``clock`` drive every wait; ``stderr_tty`` overrides terminal detection.
    """

    stdout: IO[str] = attrs.field(factory=lambda: sys.stdout)
    stderr: IO[str] = attrs.field(factory=lambda: sys.stderr)
    environ: Mapping[str, str] | None = None
    transport: Transport | None = None
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stderr_tty: bool | None = None

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
