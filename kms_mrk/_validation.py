"""Client-side validation of a command against its model, before any I/O.

Checked: required members, Python types, string and blob lengths, numeric ranges, list and
map sizes, that a union has exactly one member set, and that a timestamp is an aware datetime
or finite epoch seconds that a datetime can hold (years 1 to 9999 in UTC). Like botocore,
patterns are not checked (a model's regular expressions are advisory and sometimes stricter
than the service), and enum members accept any string (services add values).

Every problem is collected, then reported at once in one :class:`ParamValidationError`
whose paths use wire names (``Tags[2].TagKey``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kms_mrk.errors._base import ParamValidationError, ValidationProblem
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
    Shape,
)

__all__ = ["check", "validate"]

_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)


def check(value: Shape, operation: str | None = None) -> None:
    """Raise :class:`ParamValidationError` if ``value`` breaks its schema's rules."""
    problems = validate(value.__schema__, value)
    if problems:
        raise ParamValidationError(operation or value.__schema__.name, problems)


def validate(schema: Schema, value: Any) -> list[ValidationProblem]:
    """Return every rule that ``value`` breaks (an empty list when it is valid)."""
    problems: list[ValidationProblem] = []
    _validate(schema, value, "", problems)
    return problems


def _tname(value: Any) -> str:
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _validate(schema: Schema, value: Any, path: str, problems: list[ValidationProblem]) -> None:
    kind = schema.type
    add = problems.append
    if kind in STRUCTURED_TYPES:
        cls = schema.py_type
        if cls is not None and not isinstance(value, cls):
            add(ValidationProblem(path, f"expected {schema.name}, got {_tname(value)}"))
            return
        set_count = 0
        for m in schema.members:
            v = getattr(value, m.py_name, None)
            if v is None:
                if m.required:
                    add(ValidationProblem(_join(path, m.name), "required member is missing"))
                continue
            set_count += 1
            _validate(m.target, v, _join(path, m.name), problems)
        if kind == UNION and set_count != 1:
            add(ValidationProblem(path, f"exactly one member must be set, got {set_count}"))
        return
    if kind == STRING:
        if not isinstance(value, str):
            add(ValidationProblem(path, f"expected str, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "length", path, add)
    elif kind == BLOB:
        if isinstance(value, str):
            size = len(value.encode("utf-8"))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            size = len(value)
        else:
            add(ValidationProblem(path, f"expected bytes, got {_tname(value)}"))
            return
        _check_length(schema, size, "length in bytes", path, add)
    elif kind in INTEGER_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            add(ValidationProblem(path, f"expected int, got {_tname(value)}"))
            return
        _check_range(schema, value, path, add)
    elif kind in FLOAT_TYPES:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            add(ValidationProblem(path, f"expected float, got {_tname(value)}"))
            return
        if value == value:  # NaN has no place in a range
            _check_range(schema, value, path, add)
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            add(ValidationProblem(path, f"expected bool, got {_tname(value)}"))
    elif kind == TIMESTAMP:
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                add(
                    ValidationProblem(
                        path,
                        "expected a timezone-aware datetime, got a naive one "
                        "(give tzinfo, e.g. datetime.timezone.utc)",
                    )
                )
                return
            try:
                value.astimezone(_UTC)
            except OverflowError:
                add(ValidationProblem(path, f"{value.isoformat()} is out of range in UTC"))
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            add(ValidationProblem(path, f"expected datetime, got {_tname(value)}"))
        else:
            try:
                _EPOCH + _dt.timedelta(seconds=value)
            except (OverflowError, ValueError):
                add(
                    ValidationProblem(
                        path,
                        f"{value!r} is not a time: epoch seconds must be a finite number "
                        "between years 1 and 9999",
                    )
                )
    elif kind == LIST:
        if not isinstance(value, (list, tuple)):
            add(ValidationProblem(path, f"expected list, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "number of items", path, add)
        member = schema.member
        assert member is not None
        for i, item in enumerate(value):
            if item is None and not schema.sparse:
                add(ValidationProblem(f"{path}[{i}]", "None is not allowed in this list"))
                continue
            if item is not None:
                _validate(member, item, f"{path}[{i}]", problems)
    elif kind == MAP:
        if not isinstance(value, dict):
            add(ValidationProblem(path, f"expected dict, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "number of entries", path, add)
        key_schema, value_schema = schema.key, schema.value
        assert key_schema is not None
        assert value_schema is not None
        for k, v in value.items():
            item_path = f"{path}[{k!r}]"
            _validate(key_schema, k, f"{item_path} (key)", problems)
            if v is None:
                if not schema.sparse:
                    add(ValidationProblem(item_path, "None is not allowed as a map value"))
                continue
            _validate(value_schema, v, item_path, problems)
    elif kind == DOCUMENT:
        return


def _check_length(schema: Schema, size: int, what: str, path: str, add: Any) -> None:
    if schema.min is not None and size < schema.min:
        add(ValidationProblem(path, f"{what} {size} is below the minimum of {int(schema.min)}"))
    if schema.max is not None and size > schema.max:
        add(ValidationProblem(path, f"{what} {size} is above the maximum of {int(schema.max)}"))


def _check_range(schema: Schema, value: float, path: str, add: Any) -> None:
    if schema.min is not None and value < schema.min:
        add(ValidationProblem(path, f"value {value} is below the minimum of {schema.min:g}"))
    if schema.max is not None and value > schema.max:
        add(ValidationProblem(path, f"value {value} is above the maximum of {schema.max:g}"))
