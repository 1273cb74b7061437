"""Server-side request validation with the messages real KMS sends.

KMS reports broken model constraints as one ``ValidationException``::

    1 validation error detected: Value null at 'keyId' failed to satisfy constraint:
    Member must not be null
    2 validation errors detected: Value '0' at 'numberOfBytes' failed to satisfy ...; Value ...

Member paths are lower-camel wire names, list items are ``<list>.<n>.member`` counted from 1,
and sensitive values (plaintext, messages) are never quoted. The client's validator
(:mod:`kms_mrk._validation`) checks the same schema but words problems for Python callers and,
by design, accepts enum values it does not know; the service checks enums and answers in its
own words, so the server side walks the schema here.
"""

from __future__ import annotations

from typing import Any

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

__all__ = ["member_path", "problems", "raise_for", "required_missing", "validation_error"]

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
        return "'[" + ", ".join(str(v) for v in value) + "]'"
    return f"'{value}'"


def validation_error(found: list[str]) -> ValidationException:
    """One ValidationException listing every problem, in KMS's wording."""
    noun = "error" if len(found) == 1 else "errors"
    return ValidationException(f"{len(found)} validation {noun} detected: {'; '.join(found)}")


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
