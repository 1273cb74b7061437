"""'Did you mean ...?' for command names and Region names typed on the command line.

Known Regions come from botocore's partition data (the same data files kms_mrk reads for its
endpoint rules), read once, without importing botocore. A Region name that is well formed
but unknown is refused with a suggestion only when its words are unknown too
(``eu-centrl-1``): a new number in a known family (``ap-southeast-9``) may be a Region newer
than the installed data and is let through, for KMS to judge.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

__all__ = ["distance", "known_regions", "region_suggestion", "suggest"]


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) turning ``a`` into ``b``: the
    optimal string alignment distance, which counts a swap such as ``esat``/``east`` as one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def suggest(word: str, choices: Iterable[str], *, max_distance: int | None = None) -> str | None:
    """The choice closest to ``word`` when it is close enough (by default at most a third of
    the word's length in edits, and at least 2); ties go to the most similar spelling."""
    limit = max(2, len(word) // 3) if max_distance is None else max_distance
    scored = []
    for choice in choices:
        edits = distance(word, choice)
        if edits <= limit:
            ratio = difflib.SequenceMatcher(None, word, choice).ratio()
            scored.append((edits, -ratio, choice))
    return min(scored)[2] if scored else None


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every Region of every partition in botocore's data (empty when it cannot be read)."""
    import importlib.util
    import os

    from kms_mrk._json import JsonLimitError, loads_bounded

    spec = importlib.util.find_spec("botocore")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(location, "data", "partitions.json")
        try:
            with open(path, "rb") as file:
                data = loads_bounded(file.read(4 << 20), what=path, max_depth=16)
        except (OSError, JsonLimitError):
            continue
        regions: set[str] = set()
        for partition in data.get("partitions", []) if isinstance(data, dict) else []:
            names = partition.get("regions") if isinstance(partition, dict) else None
            if isinstance(names, dict):
                regions.update(name for name in names if isinstance(name, str))
        return frozenset(regions)
    return frozenset()


def _family(region: str) -> str:
    return region.rsplit("-", 1)[0]


def region_suggestion(region: str) -> str | None:
    """A known Region to suggest instead of ``region``, or None when ``region`` is known or
    plausibly a Region newer than the data (its family of names is known)."""
    known = known_regions()
    if not known or region in known:
        return None
    if _family(region) in {_family(r) for r in known}:
        return None
    return suggest(region, known)
