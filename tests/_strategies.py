"""Hypothesis strategies that build valid Python values for any schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from kms_mrk.schema import (
    BLOB,
    BOOLEAN,
    DOCUMENT,
    FLOAT_TYPES,
    INTEGER_TYPES,
    LIST,
    MAP,
    STRING,
    STRUCTURED_TYPES,
    TIMESTAMP,
    UNION,
    Schema,
)

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF), max_size=12
)
_MOMENTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.just(dt.timezone.utc),
)


def _bounded(schema: Schema, default_max: int) -> tuple[int, int]:
    lo = int(schema.min or 0)
    hi = int(schema.max) if schema.max is not None else max(lo, default_max)
    return lo, min(hi, max(lo, default_max))


def values(
    schema: Schema, depth: int = 0, *, floats_special: bool = True
) -> st.SearchStrategy[Any]:
    """A strategy for valid values of ``schema`` (structures as their Python classes)."""
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        cls = schema.py_type
        assert cls is not None
        required = {m.py_name: values(m.target, depth + 1) for m in schema.members if m.required}
        optional = (
            {m.py_name: values(m.target, depth + 1) for m in schema.members if not m.required}
            if depth < 3
            else {}
        )
        if kind == UNION:
            choices = [
                st.builds(cls, **{m.py_name: values(m.target, depth + 1)}) for m in schema.members
            ]
            return st.one_of(choices)
        return st.builds(cls, **required, **{k: st.none() | v for k, v in optional.items()})
    if kind == STRING:
        lo, hi = _bounded(schema, 12)
        if schema.enum and lo <= 1:
            return st.sampled_from(list(schema.enum)) | st.text(min_size=max(lo, 1), max_size=hi)
        return st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF),
            min_size=lo,
            max_size=hi,
        )
    if kind == BLOB:
        lo, hi = _bounded(schema, 24)
        return st.binary(min_size=lo, max_size=hi)
    if kind == BOOLEAN:
        return st.booleans()
    if kind in INTEGER_TYPES:
        lo = int(schema.min) if schema.min is not None else -(2**31)
        hi = int(schema.max) if schema.max is not None else 2**31 - 1
        return st.integers(min_value=lo, max_value=hi)
    if kind in FLOAT_TYPES:
        finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
        return (
            finite | st.sampled_from([float("nan"), float("inf"), float("-inf")])
            if floats_special
            else finite
        )
    if kind == TIMESTAMP:
        return _MOMENTS
    if kind == LIST:
        assert schema.member is not None
        lo, hi = _bounded(schema, 3 if depth < 3 else 0)
        return st.lists(values(schema.member, depth + 1), min_size=lo, max_size=max(lo, hi))
    if kind == MAP:
        assert schema.key is not None and schema.value is not None
        lo, hi = _bounded(schema, 3 if depth < 3 else 0)
        return st.dictionaries(
            values(schema.key, depth + 1),
            values(schema.value, depth + 1),
            min_size=lo,
            max_size=max(lo, hi),
        )
    if kind == DOCUMENT:
        return st.recursive(
            st.none() | st.booleans() | st.integers() | _TEXT,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
            max_leaves=5,
        )
    raise AssertionError(f"no strategy for {kind}")
