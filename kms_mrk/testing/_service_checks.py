"""The checks KMS makes on a request's members, and the enum check of stubbed responses.

The client validates what keeps a request well formed (required members, lengths, ranges) and,
like botocore, lets enum members and the model's regular expressions through: services add
enum values, and a client must not refuse them. A double of the *service* must refuse them, as
KMS does, or a stub would accept ``CreateKey(KeySpec="RSA_2049")`` that KMS answers with a
``ValidationException``.

The service side of the protocol (:mod:`kms_mrk.protocol._service_validate`, shared with the
local KMS) checks requests as KMS does, in KMS's wording: required members, lengths, ranges,
enum membership and the model's regular expressions, which the generated schemas carry
(``Schema.pattern``; :data:`PATTERNS` lists them by shape name). This module re-exports those
checks and words the same rules for Python callers, with wire paths, to check the inputs
given to ``on(...)`` and the enum members of stubbed responses.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final

from kms_mrk.models import _scalars
from kms_mrk.protocol._service_validate import (
    _pattern,
    pattern_problems,
    required_missing,
    string_leaves,
    validation_error,
)
from kms_mrk.protocol._service_validate import problems as local_problems
from kms_mrk.schema import Schema

__all__ = [
    "PATTERNS",
    "enum_values",
    "missing_required_message",
    "request_problems",
    "service_rule",
    "string_leaves",
    "validation_message",
]

#: The model's regular expressions by string shape name, as the generated schemas carry them
#: (from the vendored model). KMS matches the whole value (Java's ``matches``), ASCII classes.
PATTERNS: Final[Mapping[str, str]] = {
    schema.name: schema.pattern
    for schema in vars(_scalars).values()
    if isinstance(schema, Schema) and schema.pattern is not None
}


def enum_values(schema: Schema) -> tuple[str, ...] | None:
    """The values an enum-typed string member may take; ``None`` when it is no enum."""
    values: tuple[str, ...] | None = schema.enum
    if values is None and schema.enum_type is not None:
        values = tuple(str(v) for v in schema.enum_type._value2member_map_)
    return values


# --------------------------------------------------------------------------------------
# the service side: KMS's own wording


def request_problems(schema: Schema, request: Any) -> list[str]:
    """Every constraint a decoded request breaks, worded as KMS words them."""
    return local_problems(schema, request) + pattern_problems(schema, request)


def validation_message(found: list[str]) -> str:
    """The message of the ValidationException KMS answers for ``found`` problems."""
    return str(validation_error(found).message)


def missing_required_message(schema: Schema, body: bytes) -> str | None:
    """KMS's message for required members absent from a JSON body; ``None`` if none are."""
    from kms_mrk._json import JsonLimitError, loads_bounded

    try:
        data = loads_bounded(body, what="The request body") if body.strip() else {}
    except JsonLimitError:
        return None
    missing = required_missing(schema, data)
    return validation_message(missing) if missing else None


# --------------------------------------------------------------------------------------
# the stub side: rules worded for the test author


def service_rule(
    schema: Schema, value: str, *, patterns: bool = True, sensitive: bool = False
) -> str | None:
    """The rule a string member breaks for the service (enum or pattern); ``None`` if none.

    A ``sensitive`` value is never quoted, nor hinted at.
    """
    allowed = enum_values(schema)
    if allowed is not None and value not in allowed:
        if sensitive or schema.sensitive:
            return f"is not a {schema.name} value"
        rule = f"{value!r} is not a {schema.name} value"
        hint = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        if not hint:
            folded = {v.casefold(): v for v in allowed}
            found = folded.get(value.casefold())
            hint = [found] if found else []
        if hint:
            rule += f" (did you mean {hint[0]!r}?)"
        elif len(allowed) <= 12:
            rule += f"; KMS accepts {', '.join(allowed)}"
        return rule
    if patterns:
        pattern = _pattern(schema)
        if pattern is not None and pattern[1].fullmatch(value) is None:
            return f"does not match the pattern {pattern[0]} of {schema.name}"
    return None
