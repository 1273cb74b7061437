"""The ``kms-mrk`` command: status, failover, plan, failover-all, drill, serve, demo.

``main(argv)`` parses ``argv`` (default: ``sys.argv[1:]``), runs the command and returns the
exit status; the ``kms-mrk`` console script calls it. docs/cli.md documents every command,
option, exit status and JSON document.
"""

from __future__ import annotations

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PREFLIGHT",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
"""Success."""
EXIT_ERROR = 1
"""Any other error (KMS refused, credentials, network, bad state file...)."""
EXIT_USAGE = 2
"""Bad command line or input (unknown option, malformed key id, bad Region...)."""
EXIT_PREFLIGHT = 3
"""Preflight refused: nothing was changed; the failed checks are named."""
EXIT_PARTIAL = 4
"""Partial failure: some keys (failover-all) or steps (drill) failed."""
EXIT_TIMEOUT = 5
"""A wait timed out; the last state seen is reported."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C); a journaled failover-all can be resumed."""


def main(argv: list[str] | None = None) -> int:
    """Run ``kms-mrk`` with ``argv`` and return its exit status."""
    from kms_mrk.cli._app import run_cli

    try:
        return run_cli(argv)
    except BrokenPipeError:
        # Standard output was closed early (piped into `head`): stop quietly, and keep the
        # interpreter from complaining when it flushes standard output on exit.
        import os
        import sys

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
