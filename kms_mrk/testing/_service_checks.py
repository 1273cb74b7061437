"""The checks KMS makes on a request's members, and the enum check of stubbed responses.

The client validates what keeps a request well formed (required members, lengths, ranges) and,
like botocore, lets enum members and the model's regular expressions through: services add
enum values, and a client must not refuse them. A double of the *service* must refuse them, as
KMS does, or a stub would accept ``CreateKey(KeySpec="RSA_2049")`` that KMS answers with a
``ValidationException``.

The local KMS already checks requests as KMS does, in KMS's wording
(:mod:`kms_mrk.local._validate`: required members, lengths, ranges, enum membership), so this
module reuses it and adds the model's regular expressions, which the generated schemas carry
(``Schema.pattern``; :data:`PATTERNS` lists them by shape name). The same rules, worded for
Python callers with wire paths, check the inputs given to ``on(...)`` and the enum members of
stubbed responses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from kms_mrk.local._validate import member_path, required_missing, validation_error
from kms_mrk.local._validate import problems as local_problems
from kms_mrk.models import _scalars
from kms_mrk.schema import LIST, MAP, STRING, STRUCTURED_TYPES, Schema

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

_COMPILED: dict[str, re.Pattern[str]] = {}


def _pattern(schema: Schema) -> tuple[str, re.Pattern[str]] | None:
    text = schema.pattern
    if text is None or schema.type != STRING:
        return None
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = _COMPILED[text] = re.compile(text, re.ASCII)
    return text, compiled


def enum_values(schema: Schema) -> tuple[str, ...] | None:
    """The values an enum-typed string member may take; ``None`` when it is no enum."""
    values: tuple[str, ...] | None = schema.enum
    if values is None and schema.enum_type is not None:
        values = tuple(str(v) for v in schema.enum_type._value2member_map_)
    return values


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


# --------------------------------------------------------------------------------------
# the service side: KMS's own wording


def request_problems(schema: Schema, request: Any) -> list[str]:
    """Every constraint a decoded request breaks, worded as KMS words them.

    Required members, lengths, ranges and enum membership come from the local KMS's
    validator; the model's patterns are checked here.
    """
    found = local_problems(schema, request)
    for leaf, text, _wire, kms_path, sensitive in string_leaves(schema, request):
        pattern = _pattern(leaf)
        if pattern is not None and pattern[1].fullmatch(text) is None:
            shown = "Value" if sensitive else f"Value '{text}'"
            found.append(
                f"{shown} at '{kms_path}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {pattern[0]}"
            )
    return found


def validation_message(found: list[str]) -> str:
    """The message of the ValidationException KMS answers for ``found`` problems."""
    return str(validation_error(found).message)


def missing_required_message(schema: Schema, body: bytes) -> str | None:
    """KMS's message for required members absent from a JSON body; ``None`` if none are."""
    import json

    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
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
