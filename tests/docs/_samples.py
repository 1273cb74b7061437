"""Finding the code samples of README.md and docs/*.md, and the rules for running them.

Rules (also stated in README.md, "Working on kms-mrk"):

- Every fenced ```` ```python ```` block is run, the blocks of one file in order in one
  namespace, as a reader pasting them into one interpreter session would.
- A ```` ```sh ```` (or ``bash``/``console``) block runs when it calls ``kms-mrk``; other shell
  blocks (installing, regenerating code, ``export`` examples) are not samples of ours. In a run
  block, ``kms-mrk serve`` lines are not started: the test's own server stands in for them.
- ``<!-- not-run: reason -->`` on the line before a fence keeps that one block from running
  (for the rare sample that needs real AWS by nature). The test lists these blocks and their
  reasons, so they stay few and visible.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)\s*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->\s*$")
_SHELL = frozenset({"sh", "bash", "console", "shell"})
# `kms-mrk` in command position: at the start of a line or after ; & | ( $( or `, possibly
# after variable assignments (`AWS_REGION=x kms-mrk ...`).
_CALLS_CLI = re.compile(r"(^|[;&|(`]|\$\()\s*(\w+=\S*\s+)*kms-mrk(\s|$)", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the first line of code (after the fence)
    lang: str
    code: str
    not_run: str | None  # the reason given in <!-- not-run: ... -->, or None

    @property
    def where(self) -> str:
        shown = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        return f"{shown}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.lang == "python"

    @property
    def is_shell_sample(self) -> bool:
        return self.lang in _SHELL and bool(_CALLS_CLI.search(self.code))

    @property
    def runs(self) -> bool:
        return self.not_run is None and (self.is_python or self.is_shell_sample)

    def test_functions(self) -> list[str]:
        """Names of the pytest-style tests (top-level ``test_*`` functions) the block defines."""
        tree = ast.parse(self.code, filename=self.where)
        return [
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")
        ]


def doc_files() -> list[Path]:
    """README.md and every docs/*.md, found afresh (new docs are covered without edits)."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, lang = match["indent"], match["lang"].lower()
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        directive = _NOT_RUN.match(lines[j]) if j >= 0 else None
        body: list[str] = []
        k = i + 1
        while k < len(lines) and lines[k].strip() != "```":
            text = lines[k]
            body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
            k += 1
        if k == len(lines):
            raise AssertionError(f"{path.relative_to(REPO)}:{i + 1}: unclosed code fence")
        out.append(
            Block(
                path=path,
                line=i + 2,
                lang=lang,
                code="\n".join(body) + "\n",
                not_run=directive["reason"] if directive else None,
            )
        )
        i = k + 1
    return out
