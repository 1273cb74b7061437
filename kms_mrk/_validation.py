"""Client-side validation of a command against its model, before any I/O.

Checked: required members, Python types, string and blob lengths, numeric ranges, list and
map sizes, that a union has exactly one member set, and that a timestamp is an aware datetime
or finite epoch seconds that a datetime can hold (years 1 to 9999 in UTC). Like botocore,
patterns are not checked (a model's regular expressions are advisory and sometimes stricter
than the service), and enum members accept any string (services add values).

Every problem is collected, then reported at once in one :class:`ParamValidationError`
whose paths use wire names (``Tags[2].TagKey``). The rules themselves live in
:mod:`kms_mrk.schema` (the model layer), which ``Shape.from_dict`` applies too.
"""

from __future__ import annotations

from kms_mrk.errors._base import ParamValidationError
from kms_mrk.schema import Shape
from kms_mrk.schema import validate_value as validate

__all__ = ["check", "validate"]


def check(value: Shape, operation: str | None = None) -> None:
    """Raise :class:`ParamValidationError` if ``value`` breaks its schema's rules."""
    problems = validate(value.__schema__, value)
    if problems:
        raise ParamValidationError(operation or value.__schema__.name, problems)
