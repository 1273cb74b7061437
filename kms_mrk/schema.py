"""The small runtime description of a model shape that generated code carries.

A :class:`Schema` says what a shape is (type, members, constraints, sensitivity); codecs
(``kms_mrk.protocol``), validation and the ``to_dict``/``from_dict`` views are written once
against schemas, so they work for the KMS model and for any other botocore-format model alike
(the protocol compliance tests build schemas from other models at run time).

Generated classes derive from :class:`Shape` (structures), :class:`Response` (operation
outputs, which also carry :class:`~kms_mrk.errors.ResponseMetadata`) and :class:`Command`
(operation inputs that know their operation). They are frozen, slotted attrs classes whose
``__init__`` is written out by the generator; equality, hashing and the redacting ``repr``
come from :class:`Shape`, driven by the schema, so that no per-class code has to be compiled
when a model module is imported.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar

import attrs

from kms_mrk.errors._base import ParamValidationError, ResponseMetadata

if TYPE_CHECKING:
    from typing_extensions import Self

    from kms_mrk.errors._base import ServiceException
    from kms_mrk.errors._problem import ValidationProblem

__all__ = [
    "REQUIRED",
    "Command",
    "Member",
    "PaginatorInfo",
    "Response",
    "Schema",
    "Shape",
    "StrEnum",
    "init_error",
    "shape_from_dict",
    "shape_to_dict",
    "validate_value",
]

# Shape types, as botocore-format models name them.
STRING = "string"
BLOB = "blob"
BOOLEAN = "boolean"
BYTE = "byte"
SHORT = "short"
INTEGER = "integer"
LONG = "long"
FLOAT = "float"
DOUBLE = "double"
BIG_INTEGER = "bigInteger"
BIG_DECIMAL = "bigDecimal"
TIMESTAMP = "timestamp"
DOCUMENT = "document"
LIST = "list"
MAP = "map"
STRUCTURE = "structure"
UNION = "union"

INTEGER_TYPES = frozenset({BYTE, SHORT, INTEGER, LONG, BIG_INTEGER})
FLOAT_TYPES = frozenset({FLOAT, DOUBLE, BIG_DECIMAL})
STRUCTURED_TYPES = frozenset({STRUCTURE, UNION})

REDACTED = "***"
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Member:
    """A member of a structure: its wire name, Python name, target schema and traits."""

    __slots__ = ("name", "py_name", "required", "sensitive", "target", "timestamp_format")

    def __init__(
        self,
        name: str,
        py_name: str,
        target: Schema,
        *,
        required: bool = False,
        sensitive: bool = False,
        timestamp_format: str | None = None,
    ) -> None:
        self.name = name
        self.py_name = py_name
        self.target = target
        self.required = required
        self.sensitive = sensitive or target.sensitive
        self.timestamp_format = timestamp_format

    def __repr__(self) -> str:
        return f"Member({self.name!r} -> {self.target.name})"


class Schema:
    """What a shape is. Structures list their :class:`Member` objects in model order.

    Schemas are built once (by generated code, or by a model loader for other models) and
    then treated as immutable; codecs cache compiled helpers in :attr:`cache`. ``pattern``
    is the model's regular expression for a string: the client does not enforce it (like
    botocore), the service doubles of :mod:`kms_mrk.testing` do.
    """

    __slots__ = (
        "cache",
        "document",
        "enum",
        "enum_type",
        "error_code",
        "exception",
        "fault",
        "key",
        "max",
        "member",
        "members",
        "members_by_name",
        "min",
        "name",
        "pattern",
        "py_type",
        "required_names",
        "sensitive",
        "sparse",
        "timestamp_format",
        "type",
        "value",
    )

    def __init__(
        self,
        name: str,
        type: str,
        *,
        members: Iterable[Member] = (),
        member: Schema | None = None,
        key: Schema | None = None,
        value: Schema | None = None,
        min: float | None = None,
        max: float | None = None,
        pattern: str | None = None,
        enum: Iterable[str] | None = None,
        enum_type: type[enum.Enum] | None = None,
        sensitive: bool = False,
        sparse: bool = False,
        timestamp_format: str | None = None,
        py_type: type[Any] | None = None,
        exception: bool = False,
        fault: bool = False,
        error_code: str | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.member = member
        self.key = key
        self.value = value
        self.min = min
        self.max = max
        self.pattern = pattern
        self.enum: tuple[str, ...] | None = tuple(enum) if enum is not None else None
        self.enum_type = enum_type
        self.sensitive = sensitive
        self.sparse = sparse
        self.timestamp_format = timestamp_format
        self.py_type = py_type
        self.exception = exception
        self.fault = fault
        self.error_code = error_code
        self.document = type == DOCUMENT
        self.cache: dict[str, Any] = {}
        self.members: tuple[Member, ...] = ()
        self.members_by_name: dict[str, Member] = {}
        self.required_names: tuple[str, ...] = ()
        self.set_members(members)

    def set_members(self, members: Iterable[Member]) -> None:
        """Set the members (used once, after creation, for recursive shapes)."""
        self.members = tuple(members)
        self.members_by_name = {m.name: m for m in self.members}
        self.required_names = tuple(m.name for m in self.members if m.required)
        self.cache.clear()

    @property
    def py_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] | None = self.cache.get("py_names")
        if names is None:
            names = tuple(m.py_name for m in self.members)
            self.cache["py_names"] = names
        return names

    def __repr__(self) -> str:
        return f"Schema({self.name!r}, {self.type!r})"


class StrEnum(str, enum.Enum):
    """Base of generated enums: members are strings and print as their value.

    Fields typed with an enum also accept plain strings: a value the service adds after
    this library was generated arrives as a ``str`` and is kept, never rejected.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


@attrs.frozen(slots=True)
class PaginatorInfo:
    """How an operation pages, with wire names of its members."""

    input_token: str
    output_token: str
    result_key: str
    limit_key: str | None = None
    more_results: str | None = None


class _Required:
    """The default of a required member in a generated ``__init__``: the argument is missing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<required>"


#: Marks a required keyword argument not given (generated ``__init__`` methods check it).
REQUIRED: Any = _Required()


class Shape:
    """Base of every generated structure (frozen attrs classes with slots).

    Generated ``__init__`` methods take the members' Python names as keyword arguments. A
    wrong keyword (the wire name ``KeyId`` of the JavaScript SDK and boto3, a typo) or a missing
    required one raises a ``TypeError`` naming the right keyword and ``from_dict``; indexing a
    shape like a boto3 dict (``response["KeyMetadata"]``) names the attribute to read instead.
    """

    __slots__ = ()
    __schema__: ClassVar[Schema]

    if not TYPE_CHECKING:  # at run time only: type checkers keep refusing the subscript

        def __getitem__(self, key: object) -> NoReturn:
            raise TypeError(_subscript_message(self, key))

        def get(self, key: object, default: object = None) -> NoReturn:
            raise TypeError(_subscript_message(self, key, method="get"))

    def to_dict(self) -> dict[str, Any]:
        """Return this value as a dict keyed by wire names (``{"KeyId": ...}``)."""
        result: dict[str, Any] = shape_to_dict(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build an instance from a dict keyed by wire names, nested dicts included.

        Checked as ``client.send`` checks a command: unknown members, missing required ones,
        wrong types and the model's constraints (lengths, ranges, list sizes) raise one
        :class:`ParamValidationError` listing every problem at once.
        """
        return shape_from_dict(cls, data, check=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__schema__.py_names)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((type(self), *(_hashable(getattr(self, n)) for n in self.__schema__.py_names)))

    def __repr__(self) -> str:
        parts = []
        for m in self.__schema__.members:
            value = getattr(self, m.py_name)
            if value is None:
                continue
            parts.append(f"{m.py_name}={REDACTED if m.sensitive else repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class Response(Shape):
    """Base of operation outputs; :attr:`metadata` describes the HTTP exchange."""

    __slots__ = ("_metadata",)

    @property
    def metadata(self) -> ResponseMetadata:
        """Request id, HTTP status, attempts and retry delay of the call that returned this."""
        metadata: ResponseMetadata | None = getattr(self, "_metadata", None)
        return metadata if metadata is not None else ResponseMetadata()

    def _set_metadata(self, metadata: ResponseMetadata) -> None:
        object.__setattr__(self, "_metadata", metadata)


OutputT = TypeVar("OutputT", bound=Response)


class Command(Shape, Generic[OutputT]):
    """An operation's input that knows its operation.

    ``client.send(DescribeKeyCommand(key_id=...))`` returns a ``DescribeKeyResponse``.
    """

    __slots__ = ()
    operation_name: ClassVar[str]
    input_type: ClassVar[type[Shape]]
    output_type: ClassVar[type[Response]]
    errors: ClassVar[tuple[type[ServiceException], ...]]
    paginator: ClassVar[PaginatorInfo | None] = None
    documentation_url: ClassVar[str] = ""


# --------------------------------------------------------------------------------------
# to_dict / from_dict: wire names with Python values (bytes, datetime, enums)


def shape_to_dict(value: Shape) -> dict[str, Any]:
    """Return ``value`` as a dict keyed by wire names, omitting unset members."""
    converted: dict[str, Any] = _to_document(value.__schema__, value)
    return converted


def _to_document(schema: Schema, value: Any) -> Any:
    kind = schema.type
    if kind in STRUCTURED_TYPES and isinstance(value, Shape):
        out: dict[str, Any] = {}
        for m in schema.members:
            v = getattr(value, m.py_name)
            if v is not None:
                out[m.name] = _to_document(m.target, v)
        return out
    if kind == LIST and isinstance(value, list):
        assert schema.member is not None
        return [_to_document(schema.member, v) for v in value]
    if kind == MAP and isinstance(value, dict):
        assert schema.value is not None
        return {k: _to_document(schema.value, v) for k, v in value.items()}
    return value


T = TypeVar("T", bound=Shape)


def shape_from_dict(cls: type[T], data: Mapping[str, Any], *, check: bool = False) -> T:
    """Build ``cls`` from a dict keyed by wire names; see :meth:`Shape.from_dict`.

    Unknown and missing required members are always reported; with ``check``, also wrong
    types and the model's constraints, as ``client.send`` checks them.
    """
    problems: list[ValidationProblem] = []
    checker = _leaf_checker() if check else None
    result = _from_document(cls.__schema__, data, "", problems, cls, checker)
    if problems:
        # A command's problems name its operation, as client.send does; other shapes their own.
        name = getattr(cls, "operation_name", None) or cls.__schema__.name
        raise ParamValidationError(name, problems)
    return result  # type: ignore[no-any-return]


def _problem(path: str, rule: str) -> ValidationProblem:
    from kms_mrk.errors._problem import ValidationProblem  # loaded by the first problem

    return ValidationProblem(path, rule)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_Checker = Callable[[Schema, Any, str, "list[ValidationProblem]"], None]


def _leaf_checker() -> _Checker:
    return _check_here


def _from_document(
    schema: Schema,
    data: Any,
    path: str,
    problems: list[ValidationProblem],
    cls: type[Any] | None = None,
    checker: _Checker | None = None,
) -> Any:
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        target = cls or schema.py_type
        if target is not None and isinstance(data, target):
            return data
        if not isinstance(data, Mapping):
            problems.append(_problem(path, f"expected {schema.name} or a dict, got {_tname(data)}"))
            return None
        kwargs: dict[str, Any] = {}
        for key, item in data.items():
            member = schema.members_by_name.get(key)
            if member is None:
                from difflib import get_close_matches

                hint = get_close_matches(str(key), list(schema.members_by_name), n=1)
                rule = f"unknown member of {schema.name}"
                if hint:
                    rule += f" (did you mean {hint[0]!r}?)"
                problems.append(_problem(_join(path, str(key)), rule))
                continue
            if item is None:
                continue
            kwargs[member.py_name] = _from_document(
                member.target, item, _join(path, key), problems, None, checker
            )
        for m in schema.members:
            if m.required and m.py_name not in kwargs:
                problems.append(_problem(_join(path, m.name), "required member is missing"))
        if checker is not None and kind == UNION and len(kwargs) != 1:
            problems.append(_problem(path, f"exactly one member must be set, got {len(kwargs)}"))
        if problems or target is None:
            return None
        return target(**kwargs)
    if kind == LIST:
        if isinstance(data, (list, tuple)):
            assert schema.member is not None
            if checker is not None:
                checker(schema, data, path, problems)  # the list itself: its size
            return [
                None
                if v is None and checker is not None  # reported (or allowed) just above
                else _from_document(schema.member, v, f"{path}[{i}]", problems, None, checker)
                for i, v in enumerate(data)
            ]
        if checker is not None:
            checker(schema, data, path, problems)
        return data
    if kind == MAP:
        if isinstance(data, Mapping):
            assert schema.value is not None
            if checker is not None:
                checker(schema, dict(data), path, problems)  # the map itself and its keys
            return {
                k: None
                if v is None and checker is not None  # reported (or allowed) just above
                else _from_document(schema.value, v, f"{path}[{k!r}]", problems, None, checker)
                for k, v in data.items()
            }
        if checker is not None:
            checker(schema, data, path, problems)
        return data
    if checker is not None:
        before = len(problems)
        checker(schema, data, path, problems)
        if len(problems) > before:
            return None
    if schema.enum_type is not None and isinstance(data, str):
        return _enum_value(schema.enum_type, data)
    if kind == TIMESTAMP and isinstance(data, (int, float)) and not isinstance(data, bool):
        try:
            return _EPOCH + _dt.timedelta(seconds=data)
        except (OverflowError, ValueError):
            problems.append(
                _problem(
                    path,
                    f"{data!r} is not a time: epoch seconds must be a finite number "
                    "between years 1 and 9999",
                )
            )
            return None
    return data


def _enum_value(enum_type: type[enum.Enum], value: str) -> Any:
    return enum_type._value2member_map_.get(value, value)


def _tname(value: Any) -> str:
    return type(value).__name__


def enum_converter(enum_type: type[enum.Enum]) -> Callable[[str], Any]:
    """Return a function mapping a known value to its enum member, others unchanged."""
    lookup = enum_type._value2member_map_
    return lambda value: lookup.get(value, value)


# --------------------------------------------------------------------------------------
# Messages for habits from the JavaScript SDK and boto3


def _loose(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def init_error(instance: Shape, unknown: Mapping[str, Any], required: tuple[Any, ...]) -> NoReturn:
    """Raise the ``TypeError`` of a generated ``__init__`` called with wrong keywords.

    ``unknown`` holds the keywords that are not members; ``required`` the values given for the
    required members, in model order (:data:`REQUIRED` where missing).
    """
    cls = type(instance)
    raise TypeError(_init_message(cls, cls.__schema__, dict(unknown), required)) from None


def _init_message(
    cls: type[Shape], schema: Schema, unknown: dict[str, Any], required: tuple[Any, ...]
) -> str:
    name = cls.__name__
    by_loose = {_loose(m.py_name): m for m in schema.members}
    renamed: list[tuple[str, Member]] = []
    strangers: list[str] = []
    for key in unknown:
        member = schema.members_by_name.get(key) or by_loose.get(_loose(key))
        if member is not None:
            renamed.append((key, member))
        else:
            strangers.append(key)
    covered = {m.py_name for _, m in renamed}
    required_members = [m for m in schema.members if m.required]
    missing = [
        m.py_name
        for m, value in zip(required_members, required, strict=False)
        if value is REQUIRED and m.py_name not in covered
    ]
    parts: list[str] = []
    if not schema.members:
        parts.append(f"{name}() takes no arguments; got {', '.join(sorted(unknown))}.")
    if renamed:
        pairs = ", ".join(f"{key} -> {member.py_name}" for key, member in renamed)
        keywords = ", ".join(f"{member.py_name}=..." for _, member in renamed)
        wire = ", ".join(f'"{member.name}": ...' for _, member in renamed)
        parts.append(
            f"{name}() takes the members' snake_case names as keywords ({pairs}): write "
            f"{name}({keywords}), or {name}.from_dict({{{wire}}}) to build it from wire "
            f"names, as the JavaScript SDK and boto3 spell them."
        )
    for key in strangers:
        if not schema.members:
            break
        from difflib import get_close_matches

        hint = get_close_matches(key, list(schema.py_names), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        parts.append(f"{name}() got an unexpected keyword argument {key!r}{extra}.")
    if missing:
        noun = "argument" if len(missing) == 1 else "arguments"
        parts.append(f"{name}() is missing the required keyword {noun} {', '.join(missing)}.")
    if strangers and schema.members:
        parts.append(f"Its keywords: {', '.join(schema.py_names)}.")
    return " ".join(parts)


def _subscript_message(value: Shape, key: object, *, method: str | None = None) -> str:
    schema = type(value).__schema__
    name = type(value).__name__
    var = "response" if isinstance(value, Response) else "value"
    call = f".{method}({key!r})" if method else f"[{key!r}]"
    member = None
    if isinstance(key, str):
        member = schema.members_by_name.get(key) or {
            _loose(m.py_name): m for m in schema.members
        }.get(_loose(key))
    if member is not None:
        read = f"read the attribute {var}.{member.py_name}"
    elif schema.members:
        read = f"read its attributes ({', '.join(schema.py_names)})"
    else:
        read = "it has no members"
    return (
        f"{name} is a typed object, not a dict ({var}{call}): {read}, or call "
        f"{var}.to_dict() for a dict keyed by wire names, as boto3 returns."
    )


# --------------------------------------------------------------------------------------
# Validation against the model: what client.send checks before any I/O, and from_dict too.
# (kms_mrk._validation is the client's entry point; the rules live here, in the model layer,
# so that Shape.from_dict can apply them without depending on the client.)

_UTC = _dt.timezone.utc


def validate_value(schema: Schema, value: Any) -> list[ValidationProblem]:
    """Return every rule that ``value`` breaks (an empty list when it is valid)."""
    problems: list[ValidationProblem] = []
    _validate(schema, value, "", problems)
    return problems


def _check_here(schema: Schema, value: Any, path: str, problems: list[ValidationProblem]) -> None:
    """Check ``value`` against ``schema`` without descending into members, items or values.

    What ``Shape.from_dict`` runs at each node as it builds a shape, so that a problem is
    reported once, where it is. Map keys are checked here (they have no node of their own).
    """
    kind = schema.type
    add = problems.append
    if kind == LIST:
        if not isinstance(value, (list, tuple)):
            add(_problem(path, f"expected list, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "number of items", path, add)
        if not schema.sparse:
            for i, item in enumerate(value):
                if item is None:
                    add(_problem(f"{path}[{i}]", "None is not allowed in this list"))
    elif kind == MAP:
        if not isinstance(value, dict):
            add(_problem(path, f"expected dict, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "number of entries", path, add)
        assert schema.key is not None
        for k, v in value.items():
            _validate(schema.key, k, f"{path}[{k!r}] (key)", problems)
            if v is None and not schema.sparse:
                add(_problem(f"{path}[{k!r}]", "None is not allowed as a map value"))
    elif kind not in STRUCTURED_TYPES:
        _validate(schema, value, path, problems)


def _validate(schema: Schema, value: Any, path: str, problems: list[ValidationProblem]) -> None:
    kind = schema.type
    add = problems.append
    if kind in STRUCTURED_TYPES:
        cls = schema.py_type
        if cls is not None and not isinstance(value, cls):
            add(_problem(path, f"expected {schema.name}, got {_tname(value)}"))
            return
        set_count = 0
        for m in schema.members:
            v = getattr(value, m.py_name, None)
            if v is None:
                if m.required:
                    add(_problem(_join(path, m.name), "required member is missing"))
                continue
            set_count += 1
            _validate(m.target, v, _join(path, m.name), problems)
        if kind == UNION and set_count != 1:
            add(_problem(path, f"exactly one member must be set, got {set_count}"))
        return
    if kind == STRING:
        if not isinstance(value, str):
            add(_problem(path, f"expected str, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "length", path, add)
    elif kind == BLOB:
        if isinstance(value, str):
            size = len(value.encode("utf-8"))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            size = len(value)
        else:
            add(_problem(path, f"expected bytes, got {_tname(value)}"))
            return
        _check_length(schema, size, "length in bytes", path, add)
    elif kind in INTEGER_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            add(_problem(path, f"expected int, got {_tname(value)}"))
            return
        _check_range(schema, value, path, add)
    elif kind in FLOAT_TYPES:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            add(_problem(path, f"expected float, got {_tname(value)}"))
            return
        if value == value:  # NaN has no place in a range
            _check_range(schema, value, path, add)
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            add(_problem(path, f"expected bool, got {_tname(value)}"))
    elif kind == TIMESTAMP:
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                add(
                    _problem(
                        path,
                        "expected a timezone-aware datetime, got a naive one "
                        "(give tzinfo, e.g. datetime.timezone.utc)",
                    )
                )
                return
            try:
                value.astimezone(_UTC)
            except OverflowError:
                add(_problem(path, f"{value.isoformat()} is out of range in UTC"))
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            add(_problem(path, f"expected datetime, got {_tname(value)}"))
        else:
            try:
                _EPOCH + _dt.timedelta(seconds=value)
            except (OverflowError, ValueError):
                add(
                    _problem(
                        path,
                        f"{value!r} is not a time: epoch seconds must be a finite number "
                        "between years 1 and 9999",
                    )
                )
    elif kind == LIST:
        if not isinstance(value, (list, tuple)):
            add(_problem(path, f"expected list, got {_tname(value)}"))
            return
        _check_length(schema, len(value), "number of items", path, add)
        member = schema.member
        assert member is not None
        for i, item in enumerate(value):
            if item is None and not schema.sparse:
                add(_problem(f"{path}[{i}]", "None is not allowed in this list"))
                continue
            if item is not None:
                _validate(member, item, f"{path}[{i}]", problems)
    elif kind == MAP:
        if not isinstance(value, dict):
            add(_problem(path, f"expected dict, got {_tname(value)}"))
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
                    add(_problem(item_path, "None is not allowed as a map value"))
                continue
            _validate(value_schema, v, item_path, problems)
    elif kind == DOCUMENT:
        return


def _check_length(schema: Schema, size: int, what: str, path: str, add: Any) -> None:
    if schema.min is not None and size < schema.min:
        add(_problem(path, f"{what} {size} is below the minimum of {int(schema.min)}"))
    if schema.max is not None and size > schema.max:
        add(_problem(path, f"{what} {size} is above the maximum of {int(schema.max)}"))


def _check_range(schema: Schema, value: float, path: str, add: Any) -> None:
    if schema.min is not None and value < schema.min:
        add(_problem(path, f"value {value} is below the minimum of {schema.min:g}"))
    if schema.max is not None and value > schema.max:
        add(_problem(path, f"value {value} is above the maximum of {schema.max:g}"))
