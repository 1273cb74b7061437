"""JSON from untrusted sources, with its size and nesting bounded.

``json.loads`` accepts nesting up to the interpreter's recursion limit and raises
``RecursionError`` past it; code that then walks the result recursively can hit the same
limit later, far from the input. :func:`loads_bounded` refuses both cases up front with one
error type whose message names the source and the rule broken, so each caller can turn it
into its own error (``MalformedPolicyDocumentException``, a usage error, ...).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DEFAULT_MAX_DEPTH", "JsonLimitError", "json_depth", "loads_bounded"]

DEFAULT_MAX_DEPTH: Final = 64


class JsonLimitError(ValueError):
    """A JSON text is not valid JSON, or breaks a size or nesting bound."""


def json_depth(value: Any, limit: int) -> int:
    """The nesting depth of a decoded JSON value (a scalar is 0), counting no further than
    ``limit + 1``; iterative, so it never recurses."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def loads_bounded(
    text: str | bytes,
    *,
    what: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int | None = None,
) -> Any:
    """Decode ``text`` as JSON; :class:`JsonLimitError` naming ``what`` if it is not JSON,
    is longer than ``max_bytes``, or nests arrays and objects deeper than ``max_depth``."""
    import json

    if max_bytes is not None and len(text) > max_bytes:
        raise JsonLimitError(f"{what} is {len(text)} bytes long; the limit is {max_bytes}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonLimitError(
            f"{what} nests arrays and objects deeper than {max_depth} levels"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonLimitError(f"{what} is not valid JSON: {_reason(exc)}") from None
    if json_depth(value, max_depth) > max_depth:
        raise JsonLimitError(f"{what} nests arrays and objects deeper than {max_depth} levels")
    return value


def _reason(exc: Exception) -> str:
    msg = getattr(exc, "msg", None)
    pos = getattr(exc, "pos", None)
    if isinstance(msg, str) and isinstance(pos, int):
        return f"{msg} at offset {pos}"
    return type(exc).__name__
