"""Server-side request validation with the messages real KMS sends (the service side).

KMS reports broken model constraints as one ``ValidationException``::

    1 validation error detected: Value null at 'keyId' failed to satisfy constraint:
    Member must not be null
    2 validation errors detected: Value '0' at 'numberOfBytes' failed to satisfy ...; Value ...

Member paths are lower-camel wire names, list items are ``<list>.<n>.member`` counted from 1,
and sensitive values (plaintext, messages) are never quoted. The client's validator
(:mod:`kms_mrk._validation`) checks the same schema but words problems for Python callers and,
by design, accepts enum values it does not know and leaves the model's regular expressions to
the service; the service checks both and answers in its own words, so the server side walks the
schema here. Both the local KMS and the testing toolkit's MockTransport use these rules
(through :mod:`kms_mrk.protocol._service`).

Offending values are quoted through :func:`echo`, which shortens long ones: a 900 KB value
must not produce a 900 KB error message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from kms_mrk.errors import ValidationException
from kms_mrk.schema import (
    BLOB,
    BOOLEAN,
    INTEGER_TYPES,
    LIST,
    MAP,
    STRING,
    STRUCTURED_TYPES,
    Schema,
)

__all__ = [
    "MAX_ECHO",
    "echo",
    "member_path",
    "pattern_problems",
    "problems",
    "raise_for",
    "required_missing",
    "string_leaves",
    "validation_error",
]

#: The most characters of an offending value an error message quotes. KMS's messages quote
#: short values whole; longer ones are cut here, with the full length said.
MAX_ECHO: Final = 128
#: The most problems one ValidationException lists (KMS lists a handful, never thousands).
MAX_PROBLEMS: Final = 10


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters when longer.

    Every place that quotes a value a client sent goes through here, so no message grows
    with the request.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text)} characters]"


_PATHS: dict[str, str] = {}


def member_path(wire_name: str) -> str:
    """``KeyId`` -> ``keyId`` (the member path KMS uses in messages)."""
    path = _PATHS.get(wire_name)
    if path is None:
        path = wire_name[:1].lower() + wire_name[1:]
        _PATHS[wire_name] = path
    return path


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _problem(value: str | None, path: str, constraint: str) -> str:
    shown = "Value" if value is None else f"Value {value}"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _shown(value: Any, sensitive: bool) -> str | None:
    if sensitive or isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, list):
        return "'" + echo("[" + ", ".join(str(v) for v in value[:MAX_ECHO]) + "]") + "'"
    return f"'{echo(value)}'"


def validation_error(found: list[str]) -> ValidationException:
    """One ValidationException listing every problem, in KMS's wording."""
    noun = "error" if len(found) == 1 else "errors"
    shown = found[:MAX_PROBLEMS]
    more = f"; and {len(found) - MAX_PROBLEMS} more" if len(found) > MAX_PROBLEMS else ""
    return ValidationException(f"{len(found)} validation {noun} detected: {'; '.join(shown)}{more}")


def problems(schema: Schema, value: Any, path: str = "") -> list[str]:
    """Every constraint ``value`` (a typed request) breaks, as KMS message parts."""
    found: list[str] = []
    _walk(schema, value, path, False, found)
    return found


def raise_for(schema: Schema, value: Any) -> None:
    """Raise the ValidationException for ``value`` if it breaks its schema."""
    found = problems(schema, value)
    if found:
        raise validation_error(found)


def _walk(schema: Schema, value: Any, path: str, sensitive: bool, found: list[str]) -> None:
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        for member in schema.members:
            item = getattr(value, member.py_name, None)
            if item is None:
                if member.required:
                    where = _join(path, member_path(member.name))
                    found.append(_problem("null", where, "Member must not be null"))
                continue
            if _plainly_valid(member.target, item):
                continue
            where = _join(path, member_path(member.name))
            _walk(member.target, item, where, member.sensitive, found)
        return
    if kind == STRING:
        if not isinstance(value, str):
            found.append(_problem(None, path, "Member must be a string"))
            return
        _length(schema, len(value), value, path, sensitive, found)
        allowed = _enum_values(schema)
        if allowed is not None and value not in allowed:
            found.append(
                _problem(
                    _shown(value, sensitive),
                    path,
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]",
                )
            )
    elif kind == BLOB:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            found.append(_problem(None, path, "Member must be a blob"))
            return
        _length(schema, len(value), value, path, True, found)
    elif kind in INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(_problem(None, path, "Member must be an integer"))
            return
        if schema.min is not None and value < schema.min:
            found.append(
                _problem(
                    _shown(value, sensitive),
                    path,
                    f"Member must have value greater than or equal to {int(schema.min)}",
                )
            )
        if schema.max is not None and value > schema.max:
            found.append(
                _problem(
                    _shown(value, sensitive),
                    path,
                    f"Member must have value less than or equal to {int(schema.max)}",
                )
            )
    elif kind == LIST:
        if not isinstance(value, list):
            found.append(_problem(None, path, "Member must be a list"))
            return
        _length(schema, len(value), value, path, sensitive, found)
        item_schema = schema.member
        assert item_schema is not None
        for index, item in enumerate(value):
            if item is not None:
                _walk(item_schema, item, f"{path}.{index + 1}.member", sensitive, found)
    elif kind == MAP:
        if not isinstance(value, dict):
            found.append(_problem(None, path, "Member must be a map"))
            return
        _length(schema, len(value), None, path, True, found)
        key_schema, value_schema = schema.key, schema.value
        assert key_schema is not None
        assert value_schema is not None
        for key, item in value.items():
            _walk(key_schema, key, f"{path}.{key}.key", sensitive, found)
            if item is not None:
                _walk(value_schema, item, f"{path}.{key}.value", sensitive, found)


def _plainly_valid(schema: Schema, value: Any) -> bool:
    """A fast yes for the common case: a string, blob or number inside its bounds."""
    kind = schema.type
    if kind == STRING:
        if type(value) is not str or _enum_values(schema) is not None:
            return False
    elif kind == BLOB:
        if type(value) is not bytes:
            return False
    elif kind in INTEGER_TYPES:
        if type(value) is not int:
            return False
        low, high = schema.min, schema.max
        return (low is None or value >= low) and (high is None or value <= high)
    elif kind == BOOLEAN:
        return type(value) is bool
    else:
        return False
    size = len(value)
    low, high = schema.min, schema.max
    return (low is None or size >= low) and (high is None or size <= high)


_ENUMS: dict[int, tuple[Schema, tuple[str, ...] | None]] = {}


def _enum_values(schema: Schema) -> tuple[str, ...] | None:
    """The values an enum-typed string may take (None when it is not an enum)."""
    hit = _ENUMS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    values: tuple[str, ...] | None = schema.enum
    if values is None and schema.enum_type is not None:
        values = tuple(str(v) for v in schema.enum_type._value2member_map_)
    _ENUMS[id(schema)] = (schema, values)
    return values


def _length(
    schema: Schema, size: int, value: Any, path: str, sensitive: bool, found: list[str]
) -> None:
    if schema.min is not None and size < schema.min:
        found.append(
            _problem(
                _shown(value, sensitive),
                path,
                f"Member must have length greater than or equal to {int(schema.min)}",
            )
        )
    if schema.max is not None and size > schema.max:
        found.append(
            _problem(
                _shown(value, sensitive),
                path,
                f"Member must have length less than or equal to {int(schema.max)}",
            )
        )


def required_missing(schema: Schema, data: Any, path: str = "") -> list[str]:
    """Required members absent from a parsed JSON body (before typed decoding)."""
    found: list[str] = []
    if not isinstance(data, dict) or schema.type not in STRUCTURED_TYPES:
        return found
    for member in schema.members:
        where = _join(path, member_path(member.name))
        item = data.get(member.name)
        if item is None:
            if member.required:
                found.append(_problem("null", where, "Member must not be null"))
            continue
        target = member.target
        if target.type in STRUCTURED_TYPES:
            found.extend(required_missing(target, item, where))
        elif target.type == LIST and isinstance(item, list) and target.member is not None:
            for index, entry in enumerate(item):
                found.extend(required_missing(target.member, entry, f"{where}.{index + 1}.member"))
    return found


# --------------------------------------------------------------------------------------
# the model's regular expressions

_COMPILED: dict[str, re.Pattern[str]] = {}


def _pattern(schema: Schema) -> tuple[str, re.Pattern[str]] | None:
    text = schema.pattern
    if text is None or schema.type != STRING:
        return None
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = _COMPILED[text] = re.compile(text, re.ASCII)
    return text, compiled


def string_leaves(
    schema: Schema, value: Any, path: str = "", kms_path: str = "", sensitive: bool = False
) -> Iterator[tuple[Schema, str, str, str, bool]]:
    """Every string set in a typed value: (schema, value, wire path, KMS path, sensitive).

    Wire paths read ``Tags[0].TagKey``; KMS paths read ``tags.1.member.tagKey``.
    """
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        for member in schema.members:
            item = getattr(value, member.py_name, None)
            if item is None:
                continue
            wire = f"{path}.{member.name}" if path else member.name
            kms = member_path(member.name)
            kms = f"{kms_path}.{kms}" if kms_path else kms
            yield from string_leaves(member.target, item, wire, kms, sensitive or member.sensitive)
    elif kind == STRING:
        if isinstance(value, str):
            yield schema, str.__str__(value), path, kms_path, sensitive or schema.sensitive
    elif kind == LIST and isinstance(value, (list, tuple)):
        item_schema = schema.member
        assert item_schema is not None
        for index, item in enumerate(value):
            if item is not None:
                yield from string_leaves(
                    item_schema,
                    item,
                    f"{path}[{index}]",
                    f"{kms_path}.{index + 1}.member",
                    sensitive,
                )
    elif kind == MAP and isinstance(value, Mapping):
        key_schema, value_schema = schema.key, schema.value
        assert key_schema is not None
        assert value_schema is not None
        for key, item in value.items():
            yield from string_leaves(
                key_schema, key, f"{path}[{key!r}]", f"{kms_path}.{key}.key", sensitive
            )
            if item is not None:
                yield from string_leaves(
                    value_schema, item, f"{path}[{key!r}]", f"{kms_path}.{key}.value", sensitive
                )


_HAS_PATTERNS: dict[int, tuple[Schema, bool]] = {}


def _has_patterns(schema: Schema) -> bool:
    """Whether any string reachable from ``schema`` carries a pattern (cached per schema)."""
    hit = _HAS_PATTERNS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    seen: set[int] = set()
    stack = [schema]
    found = False
    while stack and not found:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if item.type == STRING and item.pattern is not None:
            found = True
        stack.extend(m.target for m in item.members)
        stack.extend(s for s in (item.member, item.key, item.value) if s is not None)
    _HAS_PATTERNS[id(schema)] = (schema, found)
    return found


def pattern_problems(schema: Schema, value: Any) -> list[str]:
    """The model's regular expressions ``value`` breaks, worded as KMS words them."""
    if not _has_patterns(schema):
        return []
    found: list[str] = []
    for leaf, text, _wire, kms_path, sensitive in string_leaves(schema, value):
        pattern = _pattern(leaf)
        if pattern is not None and pattern[1].fullmatch(text) is None:
            shown = "Value" if sensitive else f"Value '{echo(text)}'"
            found.append(
                f"{shown} at '{kms_path}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {pattern[0]}"
            )
    return found
