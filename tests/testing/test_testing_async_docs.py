"""The async testing samples of docs/testing.md, docs/async.md and docs/failover.md run as
written: pytest-asyncio tests through pytester, scripts with warnings as errors."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)

#: Text that marks a script sample of these features (run with exec).
SCRIPT_MARKERS = (
    "patch_clients()",
    "def test_clients_find_moto_by_themselves",
    "from kms_mrk.failover import promote, wait_for_primary_region",
)


def blocks(name: str) -> list[str]:
    return BLOCK.findall((DOCS / name).read_text(encoding="utf-8"))


def async_tests() -> list[tuple[str, int, str]]:
    found = []
    for name in ("testing.md", "async.md"):
        for index, code in enumerate(blocks(name)):
            if "@pytest.mark.asyncio" in code:
                found.append((name, index, code))
    return found


def scripts() -> list[tuple[str, int, str]]:
    found = []
    for name in ("testing.md", "async.md", "failover.md"):
        for index, code in enumerate(blocks(name)):
            self_contained = code.startswith(("import ", "from "))
            if self_contained and any(m in code for m in SCRIPT_MARKERS) and "kms_mock" not in code:
                found.append((name, index, code))
    return found


def test_the_samples_are_found() -> None:
    assert {name for name, _, _ in async_tests()} == {"testing.md", "async.md"}
    assert sum(code.count("async def test_") for _, _, code in async_tests()) >= 5
    assert {name for name, _, _ in scripts()} == {"testing.md", "async.md", "failover.md"}


@pytest.mark.parametrize(("doc", "index", "code"), async_tests(), ids=lambda v: str(v)[:20])
def test_async_pytest_samples_pass(
    pytester: pytest.Pytester, doc: str, index: int, code: str
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(test_sample=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:anyio", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == code.count("async def test_"), result.stdout.str()
    assert "failed" not in outcomes and "error" not in outcomes, result.stdout.str()


@pytest.mark.parametrize(("doc", "index", "code"), scripts(), ids=lambda v: str(v)[:20])
def test_script_samples_run(doc: str, index: int, code: str) -> None:
    if "moto" in code:
        pytest.importorskip("moto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, f"{doc}[{index}]", "exec"), {"__name__": "__docs__"})
