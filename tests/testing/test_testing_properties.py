"""Properties of stubs over every KMS operation, with generated inputs and outputs.

* an input written as a command, as wire names or as Python names is one stub;
* a strict stub of the input matches the request the client sends for it, and the history
  holds the command as it was sent;
* any part of an input matches it partially;
* any valid output survives the trip stub -> real codec -> client parser unchanged;
* the mock's service-side verdict on a request (answered, or refused with a
  ValidationException) agrees with the enum and pattern rules ``on(...)`` applies.

The generated values satisfy the client's rules (lengths, ranges) but not always the service's
(enum values, patterns), so the round trips run with ``service_validation=False`` and
``allow_unknown_enums=True``; the last property covers the service's rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk import ValidationException, commands
from kms_mrk.schema import LIST, MAP, STRUCTURED_TYPES, Command, Response, Schema
from kms_mrk.testing import KmsMock
from kms_mrk.testing._diff import matches
from kms_mrk.testing._service_checks import service_rule, string_leaves
from kms_mrk.testing._shapes import canon_input, canon_shape
from tests._strategies import values

COMMANDS: list[type[Command[Any]]] = [getattr(commands, n) for n in commands.__all__]


def snake(schema: Schema, data: Any) -> Any:
    """A wire-named ``to_dict()`` value rewritten with Python names."""
    if schema.type in STRUCTURED_TYPES and isinstance(data, dict):
        return {
            schema.members_by_name[k].py_name: snake(schema.members_by_name[k].target, v)
            for k, v in data.items()
        }
    if schema.type == LIST and isinstance(data, list):
        assert schema.member is not None
        return [snake(schema.member, v) for v in data]
    if schema.type == MAP and isinstance(data, dict):
        assert schema.value is not None
        return {k: snake(schema.value, v) for k, v in data.items()}
    return data


@st.composite
def command_inputs(draw: st.DrawFn) -> Command[Any]:
    command_type = draw(st.sampled_from(COMMANDS))
    request = draw(values(command_type.__schema__, floats_special=False))
    schema = command_type.__schema__
    command: Command[Any] = command_type(**{n: getattr(request, n) for n in schema.py_names})
    return command


@settings(max_examples=60)
@given(command=command_inputs())
def test_every_form_of_an_input_is_the_same_expectation(command: Command[Any]) -> None:
    command_type = type(command)
    wire = command.to_dict()
    by_wire = canon_input(command_type, wire, what="test")
    by_python = canon_input(command_type, snake(command_type.__schema__, wire), what="test")
    by_object = canon_input(command_type, command, what="test")
    assert by_wire == by_python == by_object == canon_shape(command)


@settings(max_examples=60)
@given(command=command_inputs())
def test_a_strict_stub_of_an_input_matches_what_the_client_sends(command: Command[Any]) -> None:
    mock = KmsMock(service_validation=False)
    mock.on(type(command), command.to_dict(), strict=True).resolves()

    mock.client.send(command)

    [call] = mock.calls()
    assert call.input == command
    assert type(call.input) is type(command)
    assert call.operation == command.operation_name


@settings(max_examples=60)
@given(command=command_inputs(), data=st.data())
def test_any_part_of_an_input_matches_it_partially(
    command: Command[Any], data: st.DataObject
) -> None:
    actual = canon_shape(command)
    keys = data.draw(
        st.lists(st.sampled_from(sorted(actual)), unique=True) if actual else st.just([])
    )
    part = {k: actual[k] for k in keys}
    assert matches(part, actual, partial=True)
    assert matches(actual, actual, partial=False)
    if keys and len(keys) < len(actual):
        assert not matches(part, actual, partial=False)


@st.composite
def outputs(draw: st.DrawFn) -> tuple[type[Command[Any]], Response]:
    command_type = draw(st.sampled_from(COMMANDS))
    output = draw(values(command_type.output_type.__schema__, floats_special=False))
    return command_type, output


@settings(max_examples=60)
@given(case=outputs(), data=st.data())
def test_any_valid_output_reaches_the_caller_unchanged(
    case: tuple[type[Command[Any]], Response], data: st.DataObject
) -> None:
    command_type, output = case
    output = _exact_timestamps(output)
    request = data.draw(values(command_type.__schema__, floats_special=False))
    command = command_type(**{n: getattr(request, n) for n in command_type.__schema__.py_names})
    mock = KmsMock(service_validation=False)
    mock.on(command_type).resolves(output, allow_unknown_enums=True)

    assert mock.client.send(command) == output


@settings(max_examples=80)
@given(command=command_inputs())
def test_the_service_side_verdict_agrees_with_the_stub_side_rules(command: Command[Any]) -> None:
    schema = type(command).__schema__
    broken = [
        path
        for leaf, text, path, _kms_path, _sensitive in string_leaves(schema, command)
        if service_rule(leaf, text) is not None
    ]
    mock = KmsMock()
    mock.on(type(command)).resolves()
    try:
        mock.client.send(command)
    except ValidationException as exc:
        assert broken, f"refused though every enum and pattern holds: {exc}"
        assert mock.calls() == []
        assert len(mock.rejected_requests) == 1
    else:
        assert broken == []
        assert mock.call_count() == 1


def _exact_timestamps(value: Any) -> Any:
    """The same output with timestamps at whole milliseconds (epoch floats keep those)."""
    from kms_mrk.schema import Shape

    if isinstance(value, Shape):
        changed = {
            name: _exact_timestamps(getattr(value, name)) for name in value.__schema__.py_names
        }
        return type(value)(**changed)
    if isinstance(value, list):
        return [_exact_timestamps(v) for v in value]
    if isinstance(value, dict):
        return {k: _exact_timestamps(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value
