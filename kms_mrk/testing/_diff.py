"""Matching canonical inputs, and the readable diff shown when nothing matches.

Partial matching (the default of ``on(...)``, as in aws-sdk-client-mock) asks every member the
stub names to be equal, at every level of nesting (structures and maps alike); members the stub
does not name are ignored. Lists must have the same length and match item by item. Strict
matching asks for equality of the whole input. ``unittest.mock.ANY`` matches any value that is
set.

Diffs are unified diffs of pretty JSON with wire names and sensitive members redacted. For a
partial stub the request is first cut down to the members the stub names, so the diff shows
only what matters.
"""

from __future__ import annotations

import difflib
from typing import Any
from unittest.mock import ANY

from kms_mrk.schema import Schema
from kms_mrk.testing._shapes import ABSENT, display, leaf_count, pretty

__all__ = ["input_diff", "matches", "mismatches", "project", "similarity"]


def mismatches(expected: Any, actual: Any, *, partial: bool) -> int:
    """How many leaves of ``expected`` (and, when strict, of ``actual``) do not match."""
    if expected is ANY:
        return 0 if actual is not ABSENT else 1
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return leaf_count(expected)
        count = sum(
            mismatches(item, actual.get(key, ABSENT), partial=partial)
            for key, item in expected.items()
        )
        if not partial:
            count += sum(leaf_count(v) for k, v in actual.items() if k not in expected)
        return count
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return max(leaf_count(expected), 1)
        return sum(mismatches(e, a, partial=partial) for e, a in zip(expected, actual, strict=True))
    return 0 if expected == actual else 1


def matches(expected: Any, actual: Any, *, partial: bool) -> bool:
    """Whether ``actual`` satisfies ``expected``."""
    return mismatches(expected, actual, partial=partial) == 0


def project(expected: Any, actual: Any) -> Any:
    """``actual`` cut down to the members ``expected`` names (for partial diffs)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: project(expected[k], actual[k]) for k in actual if k in expected}
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [project(e, a) for e, a in zip(expected, actual, strict=True)]
    return actual


def similarity(schema: Schema, expected: Any, actual: Any, *, partial: bool) -> float:
    """How alike the two inputs read (0 to 1), to rank stubs with as many mismatches.

    Computed on the redacted text, so secrets do not influence which stub is shown.
    """
    shown = project(expected, actual) if partial else actual
    left = pretty(display(schema, expected))
    right = pretty(display(schema, shown, expected))
    return difflib.SequenceMatcher(None, left, right).ratio()


def input_diff(
    schema: Schema,
    expected: Any,
    actual: Any,
    *,
    partial: bool,
    labels: tuple[str, str] = ("expected (stub)", "actual (request)"),
) -> str:
    """A unified diff from ``expected`` to ``actual``, redacted; ``labels`` head both sides."""
    shown = project(expected, actual) if partial else actual
    left = pretty(display(schema, expected)).splitlines()
    right = pretty(display(schema, shown, expected)).splitlines()
    context = max(len(left), len(right))
    lines = difflib.unified_diff(left, right, labels[0], labels[1], n=context, lineterm="")
    return "\n".join(lines)
