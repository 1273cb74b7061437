"""``kms-mrk docs [TOPIC]``: the command's guide, installed with it.

The wheel carries docs/cli.md and docs/failover.md as ``kms_mrk/cli/_docs/*.md`` (see
``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml), so an installed user
reads the same guide as the repository's. From a source checkout (an editable install), the
repository's docs/ folder is read instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Final

__all__ = ["TOPICS", "find_docs", "print_docs"]

#: Topic -> file name in docs/.
_FILES: Final = {"cli": "cli.md", "failover": "failover.md"}
TOPICS: Final = tuple(_FILES)


def find_docs(topic: str) -> Path | None:
    """The Markdown file of ``topic``: the packaged copy, else the checkout's docs/."""
    name = _FILES[topic]
    here = Path(__file__).resolve().parent
    for candidate in (here / "_docs" / name, here.parents[1] / "docs" / name):
        if candidate.is_file():
            return candidate
    return None


def print_docs(topic: str, stdout: IO[str], stderr: IO[str]) -> int:
    """Write the guide of ``topic`` to ``stdout``; 1 (and why) when it is not installed."""
    path = find_docs(topic)
    if path is None:
        stderr.write(
            f"kms-mrk docs: error: the {topic} guide is not installed with this copy of "
            "kms-mrk (it is docs/" + _FILES[topic] + " in the source distribution)\n"
        )
        return 1
    stdout.write(path.read_text(encoding="utf-8"))
    stdout.flush()
    return 0
