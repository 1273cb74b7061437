"""Output of the ``kms-mrk`` command: aligned tables, JSON documents, progress, error lines.

Standard output carries the result only: a table (``--output table``) or exactly one JSON
document (``--output json``). Progress goes to standard error, and only when standard error
is a terminal; errors are one line on standard error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO, Any, Final

__all__ = ["SCHEMA_VERSION", "Progress", "document", "one_line", "table"]

#: The ``schema_version`` of every JSON document the command prints.
SCHEMA_VERSION: Final = 1


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "") -> str:
    """Columns aligned on the widest cell, two spaces apart; None shows as ``-``."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in [list(headers), *cells]:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append(indent + "  ".join(padded).rstrip())
    return "\n".join(lines)


def document(command: str | None, exit_code: int, **body: Any) -> dict[str, Any]:
    """The envelope of every JSON document: schema version, command, ok, exit code.

    ``command`` is None only for a command line so wrong that it names no command.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        **body,
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, default=str)


def one_line(text: str) -> str:
    """``text`` on one line: line breaks become ``; ``, runs of spaces one space, and list
    bullets (``- ``) at the start of a line are dropped (``--option`` is kept)."""
    parts = [" ".join(line.split()) for line in str(text).splitlines()]
    parts = [p[2:] if p.startswith("- ") else p for p in parts]
    return "; ".join(p for p in parts if p and p != "-")


class Progress:
    """A status line rewritten in place on a terminal; silent when disabled."""

    def __init__(self, stream: IO[str], enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._shown = False

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
