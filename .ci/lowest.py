"""Print a pip constraints file pinning every runtime dependency to its lowest allowed version.

Reads ``[project].dependencies`` and the ``local`` extra of pyproject.toml; each requirement
must have a ``>=`` floor, which becomes ``name==floor``. CI installs the project with these
constraints and runs the suite once more, so the floors in pyproject.toml are versions the
suite passed on, not guesses.

    python .ci/lowest.py > lowest.txt && pip install -c lowest.txt -e '.[dev,local]'
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

EXTRAS = ("local",)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def floors(pyproject: Path) -> list[str]:
    import tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in EXTRAS:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    pins = []
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement.split(";", 1)[0])
        if match is None:
            raise SystemExit(f"cannot read the requirement {requirement!r}")
        name, spec = match.groups()
        lowest = [s.strip()[2:].strip() for s in spec.split(",") if s.strip().startswith(">=")]
        if len(lowest) != 1:
            raise SystemExit(f"{requirement!r} needs exactly one >= floor to be tested at")
        pins.append(f"{name}=={lowest[0]}")
    return pins


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    sys.stdout.write("".join(f"{pin}\n" for pin in floors(root / "pyproject.toml")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
