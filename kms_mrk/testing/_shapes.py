"""Schema-driven helpers of the testing toolkit: inputs, responses and errors as stubs give them.

Stubs accept values in every form users write them: typed objects, dicts keyed by wire names
(``{"KeyId": ...}``) or by Python names (``{"key_id": ...}``), in any mix. Everything is brought
to one *canonical* form before it is compared or shown: nested dicts keyed by wire names,
holding only the members that are set, with blobs as ``bytes``, timestamps as aware UTC
datetimes and enum members as plain strings. Requests decoded from the wire are brought to the
same form, so matching never depends on how a stub was written.

Every problem is reported at once, with the member path in wire names, as the client's own
validation does.
"""

from __future__ import annotations

import base64
import datetime as _dt
import difflib
import enum
import json
from collections.abc import Mapping
from typing import Any, Final
from unittest.mock import ANY

import attrs

from kms_mrk._validation import validate
from kms_mrk.errors import ERRORS_BY_CODE, KMSServiceException
from kms_mrk.errors._base import (
    ParamValidationError,
    ServiceException,
    TransportError,
    ValidationProblem,
)
from kms_mrk.errors._common import COMMON_ERRORS
from kms_mrk.schema import (
    BLOB,
    BOOLEAN,
    DOCUMENT,
    FLOAT_TYPES,
    INTEGER_TYPES,
    LIST,
    MAP,
    REDACTED,
    STRING,
    STRUCTURED_TYPES,
    TIMESTAMP,
    Command,
    Member,
    Response,
    Schema,
    Shape,
)
from kms_mrk.testing._errors import InvalidStubError

__all__ = [
    "ABSENT",
    "ErrorAnswer",
    "canon_input",
    "canon_shape",
    "coerce_response",
    "command_type_for",
    "display",
    "error_answer",
    "leaf_count",
    "pretty",
]

_UTC = _dt.timezone.utc


class _Absent:
    """A member that is not set (distinct from any value, ``None`` included)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()

_PY_MEMBERS: dict[int, tuple[Schema, dict[str, Member]]] = {}


def _py_members(schema: Schema) -> dict[str, Member]:
    hit = _PY_MEMBERS.get(id(schema))
    if hit is None or hit[0] is not schema or len(hit[1]) != len(schema.members):
        hit = (schema, {m.py_name: m for m in schema.members})
        _PY_MEMBERS[id(schema)] = hit
    return hit[1]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _tname(value: object) -> str:
    return type(value).__name__


def _member_for(schema: Schema, key: object) -> Member | None:
    if not isinstance(key, str):
        return None
    return schema.members_by_name.get(key) or _py_members(schema).get(key)


def _unknown_member(schema: Schema, key: object, path: str) -> ValidationProblem:
    names = [*schema.members_by_name, *_py_members(schema)]
    hint = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    if not hint:
        lowered = {n.lower().replace("_", ""): n for n in names}
        found = lowered.get(str(key).lower().replace("_", ""))
        hint = [found] if found else []
    rule = f"unknown member of {schema.name}"
    if hint:
        rule += f" (did you mean {hint[0]!r}?)"
    return ValidationProblem(_join(path, str(key)), rule)


# --------------------------------------------------------------------------------------
# canonical form


def canon_shape(value: Shape) -> dict[str, Any]:
    """The canonical form of a typed value (always valid: it came from a typed object)."""
    problems: list[ValidationProblem] = []
    result: dict[str, Any] = _canon(value.__schema__, value, "", problems, check=False)
    return result


def canon_input(
    command_type: type[Command[Any]],
    value: Shape | Mapping[str, Any],
    *,
    what: str,
    service_rules: bool = False,
) -> dict[str, Any]:
    """The canonical form of an expected input (possibly partial); raises InvalidStubError.

    ``what`` names the caller in the error message (``"on(DescribeKeyCommand, ...)"``).
    With ``service_rules``, enum members and the model's patterns are checked too, as the
    service checks them: an expectation that no request KMS accepts could meet is refused.
    """
    schema = command_type.__schema__
    if isinstance(value, Shape):
        if not isinstance(value, command_type.input_type):
            raise InvalidStubError(
                f"{what}: the input must be a {command_type.__name__}, a "
                f"{command_type.input_type.__name__} or a dict; got {_tname(value)}"
            )
    elif not isinstance(value, Mapping):
        raise InvalidStubError(
            f"{what}: the input must be a {command_type.__name__}, a dict of members (wire "
            f"names like 'KeyId' or Python names like 'key_id') or a predicate; "
            f"got {_tname(value)}"
        )
    problems: list[ValidationProblem] = []
    result = _canon(schema, value, "", problems, check=True, rules=service_rules)
    if problems:
        message = _problems_message(f"{what}: invalid input", problems)
        if service_rules:
            plain: list[ValidationProblem] = []
            _canon(schema, value, "", plain, check=True)
            if len(plain) < len(problems):
                message += (
                    "\n(KMS refuses values outside the model's enums and patterns. To expect "
                    "values newer than the model, use KmsMock(service_validation=False).)"
                )
        raise InvalidStubError(message)
    return result  # type: ignore[no-any-return]


def _canon(
    schema: Schema,
    value: Any,
    path: str,
    problems: list[ValidationProblem],
    *,
    check: bool,
    rules: bool = False,
) -> Any:
    if value is ANY:
        return ANY
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        out: dict[str, Any] = {}
        if isinstance(value, Shape):
            expected_type = schema.py_type
            if expected_type is not None and not isinstance(value, expected_type):
                problems.append(
                    ValidationProblem(
                        path, f"expected {schema.name} or a dict, got {_tname(value)}"
                    )
                )
                return out
            for m in schema.members:
                item = getattr(value, m.py_name, None)
                if item is not None:
                    out[m.name] = _canon(
                        m.target, item, _join(path, m.name), problems, check=check, rules=rules
                    )
            return out
        if not isinstance(value, Mapping):
            problems.append(
                ValidationProblem(path, f"expected {schema.name} or a dict, got {_tname(value)}")
            )
            return out
        for key, item in value.items():
            member = _member_for(schema, key)
            if member is None:
                problems.append(_unknown_member(schema, key, path))
                continue
            if item is None:
                continue
            if member.name in out:
                problems.append(
                    ValidationProblem(
                        _join(path, member.name),
                        f"given twice (as {member.name!r} and {member.py_name!r})",
                    )
                )
                continue
            out[member.name] = _canon(
                member.target, item, _join(path, member.name), problems, check=check, rules=rules
            )
        return out
    if kind == LIST:
        if not isinstance(value, (list, tuple)):
            problems.append(ValidationProblem(path, f"expected list, got {_tname(value)}"))
            return value
        assert schema.member is not None
        item_schema = schema.member
        return [
            _canon(item_schema, v, f"{path}[{i}]", problems, check=check, rules=rules)
            for i, v in enumerate(value)
        ]
    if kind == MAP:
        if not isinstance(value, Mapping):
            problems.append(ValidationProblem(path, f"expected dict, got {_tname(value)}"))
            return value
        assert schema.value is not None
        value_schema = schema.value
        return {
            k: _canon(value_schema, v, f"{path}[{k!r}]", problems, check=check, rules=rules)
            for k, v in value.items()
        }
    converted = _scalar(schema, value, path, problems)
    if check and converted is not ABSENT and kind != DOCUMENT:
        for problem in validate(schema, converted):
            problems.append(ValidationProblem(path + problem.path, problem.rule))
        if rules and kind == STRING:
            from kms_mrk.testing._service_checks import service_rule

            broken = service_rule(schema, converted)
            if broken is not None:
                problems.append(ValidationProblem(path, broken))
    return None if converted is ABSENT else converted


def _scalar(schema: Schema, value: Any, path: str, problems: list[ValidationProblem]) -> Any:
    kind = schema.type
    if kind == STRING:
        if isinstance(value, enum.Enum) and isinstance(value.value, str):
            return value.value
        if isinstance(value, str):
            return str.__str__(value)
        problems.append(ValidationProblem(path, f"expected str, got {_tname(value)}"))
    elif kind == BLOB:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        problems.append(ValidationProblem(path, f"expected bytes, got {_tname(value)}"))
    elif kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        problems.append(ValidationProblem(path, f"expected bool, got {_tname(value)}"))
    elif kind in INTEGER_TYPES:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        problems.append(ValidationProblem(path, f"expected int, got {_tname(value)}"))
    elif kind in FLOAT_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        problems.append(ValidationProblem(path, f"expected float, got {_tname(value)}"))
    elif kind == TIMESTAMP:
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                problems.append(
                    ValidationProblem(path, "expected a timezone-aware datetime, got a naive one")
                )
                return ABSENT
            return value.astimezone(_UTC)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _epoch(value, path, problems)
        problems.append(ValidationProblem(path, f"expected datetime, got {_tname(value)}"))
    else:  # documents
        return value
    return ABSENT


def _epoch(value: float, path: str, problems: list[ValidationProblem]) -> Any:
    """Seconds since the epoch as an aware UTC datetime; a problem when it is not one."""
    try:
        return _dt.datetime.fromtimestamp(value, _UTC)
    except (ValueError, OverflowError, OSError):
        problems.append(
            ValidationProblem(
                path,
                f"{value!r} is not a timestamp: give an aware datetime, or a finite number of "
                f"seconds since 1970 within the years 1 to 9999",
            )
        )
        return ABSENT


def leaf_count(value: Any) -> int:
    """How many constraints a canonical (expected) value holds: its leaves."""
    if isinstance(value, dict):
        return sum(leaf_count(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(leaf_count(v) for v in value) or 1
    return 1


# --------------------------------------------------------------------------------------
# display: canonical -> JSON-ready, sensitive members redacted


def display(schema: Schema, value: Any, other: Any = ABSENT) -> Any:
    """``value`` (canonical) as JSON-ready data with sensitive members redacted.

    ``other`` is the value it is compared with, if any: a redacted member that differs from
    its counterpart shows as ``"*** (differs)"`` so that a diff still points at it.
    """
    if value is ANY or other is ANY:
        return "<ANY>"
    if schema.sensitive:
        return _redacted(value, other)
    kind = schema.type
    if kind in STRUCTURED_TYPES and isinstance(value, dict):
        out: dict[str, Any] = {}
        counterpart = other if isinstance(other, dict) else {}
        for m in schema.members:
            if m.name not in value:
                continue
            item, theirs = value[m.name], counterpart.get(m.name, ABSENT)
            if m.sensitive:
                out[m.name] = _redacted(item, theirs)
            else:
                out[m.name] = display(m.target, item, theirs)
        return out
    if kind == LIST and isinstance(value, list):
        assert schema.member is not None
        others = other if isinstance(other, list) else []
        return [
            display(schema.member, v, others[i] if i < len(others) else ABSENT)
            for i, v in enumerate(value)
        ]
    if kind == MAP and isinstance(value, dict):
        assert schema.value is not None
        counterpart = other if isinstance(other, dict) else {}
        return {k: display(schema.value, v, counterpart.get(k, ABSENT)) for k, v in value.items()}
    if isinstance(value, bytes):
        return "<base64> " + base64.b64encode(value).decode("ascii")
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


def _redacted(value: Any, other: Any) -> str:
    if value is ANY:
        return "<ANY>"
    if other is ABSENT or other is ANY or other == value:
        return REDACTED
    return f"{REDACTED} (differs)"


def pretty(data: Any) -> str:
    """JSON with two-space indents, member order kept, non-ASCII text kept readable."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=repr)


# --------------------------------------------------------------------------------------
# responses


def command_type_for(value: object, *, what: str) -> type[Command[Any]]:
    """Check that ``value`` is a command class (``DescribeKeyCommand``) and return it."""
    if isinstance(value, type) and issubclass(value, Command) and value is not Command:
        return value
    if isinstance(value, Command):
        return type(value)
    hint = ""
    if isinstance(value, type) and issubclass(value, Shape):
        hint = f" ({value.__name__} is a model shape; stubs take the operation's Command class)"
    raise InvalidStubError(
        f"{what}: expected a command class such as DescribeKeyCommand; got {value!r}{hint}"
    )


def coerce_response(
    command_type: type[Command[Any]],
    value: Any,
    *,
    what: str,
    allow_unknown_enums: bool = False,
) -> Response:
    """``value`` as the operation's typed output, checked against the model.

    Accepts the output object itself, a dict keyed by wire or Python names, or ``None`` (an
    empty output). Enum members must hold one of the model's values unless
    ``allow_unknown_enums`` (for tests of how code copes with values KMS adds later). Raises
    :class:`InvalidStubError` listing every problem.
    """
    output_type = command_type.output_type
    schema = output_type.__schema__
    operation = command_type.operation_name
    problems: list[ValidationProblem] = []
    typed: Response | None = None
    if value is None:
        value = {}
    if isinstance(value, Shape):
        if type(value) is not output_type:
            raise InvalidStubError(
                f"{what}: {operation} answers a {output_type.__name__} (or a dict of its "
                f"members); got a {_tname(value)}"
            )
        typed = value
    elif isinstance(value, Mapping):
        wire = _wire_keys(schema, value, "", problems)
        if not problems:
            try:
                typed = output_type.from_dict(wire)
            except ParamValidationError as exc:
                problems.extend(exc.problems)
    else:
        raise InvalidStubError(
            f"{what}: a {operation} response is a {output_type.__name__} or a dict of its "
            f"members; got {_tname(value)}"
        )
    enum_problems: list[ValidationProblem] = []
    if typed is not None and not problems:
        problems.extend(validate(schema, typed))
        if not allow_unknown_enums:
            enum_problems = _enum_problems(schema, typed)
            problems.extend(enum_problems)
    if problems:
        message = _problems_message(
            f"{what}: this is not a valid {operation} response ({output_type.__name__})",
            problems,
        )
        if enum_problems:
            message += (
                "\n(KMS answers only the model's enum values. To test how the code copes with "
                "a value KMS may add later, pass allow_unknown_enums=True.)"
            )
        raise InvalidStubError(message)
    assert typed is not None
    return typed


def _enum_problems(schema: Schema, typed: Shape) -> list[ValidationProblem]:
    from kms_mrk.testing._service_checks import service_rule, string_leaves

    found: list[ValidationProblem] = []
    for leaf, text, path, _kms_path, sensitive in string_leaves(schema, typed):
        broken = service_rule(leaf, text, patterns=False, sensitive=sensitive)
        if broken is not None:
            found.append(ValidationProblem(path, broken))
    return found


def _wire_keys(schema: Schema, value: Any, path: str, problems: list[ValidationProblem]) -> Any:
    """``value`` with structure keys turned into wire names (map keys are left alone)."""
    kind = schema.type
    if kind in STRUCTURED_TYPES and isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = _member_for(schema, key)
            if member is None:
                problems.append(_unknown_member(schema, key, path))
                continue
            out[member.name] = _wire_keys(member.target, item, _join(path, member.name), problems)
        return out
    if kind == LIST and isinstance(value, (list, tuple)):
        assert schema.member is not None
        item_schema = schema.member
        return [_wire_keys(item_schema, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if kind == MAP and isinstance(value, Mapping):
        assert schema.value is not None
        value_schema = schema.value
        return {
            k: _wire_keys(value_schema, v, f"{path}[{k!r}]", problems) for k, v in value.items()
        }
    if kind == STRING and isinstance(value, enum.Enum):
        return value.value
    if kind == TIMESTAMP and isinstance(value, (int, float)) and not isinstance(value, bool):
        converted = _epoch(value, path, problems)
        return None if converted is ABSENT else converted
    return value


def _problems_message(head: str, problems: list[ValidationProblem]) -> str:
    noun = "problem" if len(problems) == 1 else "problems"
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{head}, {len(problems)} {noun}:\n{lines}"


# --------------------------------------------------------------------------------------
# errors


@attrs.frozen(slots=True)
class ErrorAnswer:
    """An error response to send: code, message, HTTP status and modeled members (wire)."""

    error_type: type[ServiceException]
    code: str
    message: str | None
    status: int
    members: Mapping[str, Any] = attrs.field(factory=dict)

    def exception(self, request_id: str | None = None) -> ServiceException:
        """The exception the client raises for this answer (for the call history)."""
        return self.error_type(
            self.message, code=self.code, http_status=self.status, request_id=request_id
        )


def default_status(code: str, fault: str) -> int:
    """The HTTP status the service answers with: the service side's table
    (:func:`kms_mrk.protocol._service.status_for`), or by ``fault`` for unmodeled codes."""
    from kms_mrk.protocol._service import status_for

    if code in ERRORS_BY_CODE:
        return status_for(code)
    return 500 if fault == "server" else 400


def error_answer(
    command_type: type[Command[Any]],
    error: object,
    message: str | None = None,
    *,
    status: int | None = None,
    what: str,
    allow_unmodeled: bool = False,
) -> ErrorAnswer:
    """Check what ``rejects(...)`` was given and turn it into an :class:`ErrorAnswer`."""
    if message is not None and not isinstance(message, str):
        raise InvalidStubError(f"{what}: the message must be a str; got {_tname(message)}")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise InvalidStubError(f"{what}: status must be an HTTP error status (400-599)")
    members: dict[str, Any] = {}
    if isinstance(error, str):
        found = ERRORS_BY_CODE.get(error)
        if found is None:
            hint = difflib.get_close_matches(error, list(ERRORS_BY_CODE), n=1, cutoff=0.6)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise InvalidStubError(
                f"{what}: {error!r} is not an error code KMS answers with{extra}. For a code "
                f"the model does not know, reject with "
                f"KMSServiceException('message', code={error!r})."
            )
        cls: type[ServiceException] = found
        code, fault = found.code, found.fault
    elif isinstance(error, type) and issubclass(error, ServiceException):
        cls, code, fault = error, error.code, error.fault
        _check_error_class(cls, what)
    elif isinstance(error, ServiceException):
        cls, code, fault = type(error), error.code, error.fault
        _check_error_instance(error, what)
        if message is None:
            message = error.message
        if status is None:
            status = error.http_status
        for wire, attr in error._members:
            item = getattr(error, attr, None)
            if item is not None:
                members[wire] = item
    else:
        raise InvalidStubError(
            f"{what}: reject with an exception class (NotFoundException), an instance "
            f"(NotFoundException('message')) or an error code ('ThrottlingException'); "
            f"got {error!r}"
        )
    if not allow_unmodeled:
        _check_modeled(command_type, cls, code, what)
    return ErrorAnswer(
        error_type=ERRORS_BY_CODE.get(code, KMSServiceException),
        code=code,
        message=message,
        status=status if status is not None else default_status(code, fault),
        members=members,
    )


def _check_error_class(cls: type[ServiceException], what: str) -> None:
    """A class stands for its code: it must be one KMS answers with, and the class for it."""
    known = ERRORS_BY_CODE.get(cls.code)
    if known is not None and issubclass(cls, known):
        return
    if cls in (ServiceException, KMSServiceException):
        raise InvalidStubError(
            f"{what}: {cls.__name__} is the base of the errors KMS answers, not one of them "
            f"(KMS never sends the code {cls.code!r}). Reject with a specific error "
            f"(NotFoundException) or, for a code the model does not know, with "
            f"KMSServiceException('message', code='NewCodeException')."
        )
    raise InvalidStubError(
        f"{what}: {cls.__name__} carries the code {cls.code!r}, which is not an error KMS "
        f"answers with. Reject with a modeled error class, or with "
        f"KMSServiceException('message', code={cls.code!r}) for a code the model does not know."
    )


def _check_error_instance(error: ServiceException, what: str) -> None:
    """An instance sends its ``code``: a modeled one matching its class, or any code given
    explicitly to a plain :class:`KMSServiceException` (a code newer than the model)."""
    cls, code = type(error), error.code
    if cls is KMSServiceException and code != KMSServiceException.code:
        return
    known = ERRORS_BY_CODE.get(code)
    if known is not None and isinstance(error, known):
        return
    name = cls.__name__
    if cls in (ServiceException, KMSServiceException):
        raise InvalidStubError(
            f"{what}: {name}(...) with the code {code!r} is not an error KMS answers with. "
            f"Reject with a specific error (NotFoundException('message')) or, for a code the "
            f"model does not know, with KMSServiceException('message', code='NewCodeException')."
        )
    if known is not None:
        raise InvalidStubError(
            f"{what}: this {name} carries the code {code!r}, so the client would receive a "
            f"{known.__name__}. Reject with {known.__name__}(...) instead, or leave code= out."
        )
    raise InvalidStubError(
        f"{what}: this {name} carries the code {code!r}, which is not an error KMS answers "
        f"with, so the client would not receive a {name}. Leave code= out, or reject with "
        f"KMSServiceException('message', code={code!r}) for a code the model does not know."
    )


def is_transport_error(error: object) -> bool:
    """Whether ``error`` is a transport failure (class or instance)."""
    if isinstance(error, type):
        return issubclass(error, TransportError)
    return isinstance(error, TransportError)


def _check_modeled(
    command_type: type[Command[Any]], cls: type[ServiceException], code: str, what: str
) -> None:
    """A modeled KMS error may only answer the operations whose model lists it."""
    from kms_mrk.errors._generated import MODELED_ERRORS

    if code not in MODELED_ERRORS or code in COMMON_ERRORS:
        return
    allowed = {e.code for e in command_type.errors}
    if code in allowed:
        return
    listed = ", ".join(sorted(allowed)) or "none"
    raise InvalidStubError(
        f"{what}: {command_type.operation_name} never answers {code}; its model lists "
        f"{listed} (and any operation may answer the common errors such as "
        f"ThrottlingException or AccessDeniedException). Pass allow_unmodeled=True to stub "
        f"it anyway."
    )
