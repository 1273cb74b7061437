from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms_mrk._json import JsonLimitError, json_depth, loads_bounded

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=20,
)


@given(_json)
def test_round_trips_what_json_does(value: object) -> None:
    assert loads_bounded(json.dumps(value), what="x", max_depth=1000) == value


def test_depth_counts_containers() -> None:
    assert json_depth(1, 5) == 0
    assert json_depth([], 5) == 1
    assert json_depth({"a": [[1]]}, 5) == 3


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_deep_nesting_is_refused_with_the_rule(depth: int) -> None:
    with pytest.raises(JsonLimitError, match=r"policy nests .* deeper than 64 levels"):
        loads_bounded("[" * depth + "]" * depth, what="policy")


def test_depth_at_the_limit_is_accepted() -> None:
    assert json_depth(loads_bounded("[" * 64 + "]" * 64, what="x"), 100) == 64


def test_invalid_and_oversized_texts_name_the_source() -> None:
    with pytest.raises(JsonLimitError, match=r"journal line 3 is not valid JSON: .* at offset"):
        loads_bounded("{", what="journal line 3")
    with pytest.raises(JsonLimitError, match=r"plan is 11 bytes long; the limit is 10"):
        loads_bounded("[1,2,3,4,5]", what="plan", max_bytes=10)
    with pytest.raises(JsonLimitError, match="not valid JSON"):
        loads_bounded(b"\xff\xfe\x00", what="state")
