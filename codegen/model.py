"""Reading botocore-format models: naming rules and a run-time schema builder.

The generator (``codegen.generate``) and the protocol compliance tests share these rules, so a
model's members get the same Python names whether code is generated for it or its schemas are
built at run time.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from kms_mrk.schema import Member, Schema, Shape, StrEnum


class CodegenError(Exception):
    """A problem the generator reports as a message (and exit status 2), not a traceback."""


_RESERVED = frozenset(
    {"self", "cls", "to_dict", "from_dict", "metadata", "errors", "paginator", "operation_name"}
)


def snake_case(name: str) -> str:
    """``AWSAccountId`` -> ``aws_account_id``; ``fooEnum1`` -> ``foo_enum1``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z_]", "_", text).lower()
    if not text or text[0].isdigit():
        text = f"m_{text}"
    return text


def py_member_name(name: str) -> str:
    """The Python attribute name of a member (keywords and reserved names get a ``_``)."""
    text = snake_case(name)
    if keyword.iskeyword(text) or text in _RESERVED:
        text += "_"
    return text


def enum_member_name(value: str) -> str:
    """``PendingDeletion`` -> ``PENDING_DELETION``; ``RSA_2048`` stays; ``0`` -> ``VALUE_0``."""
    text = snake_case(value).upper().strip("_")
    text = re.sub(r"_+", "_", text)
    if not text or text[0].isdigit():
        text = f"VALUE_{text}"
    return text


def enum_members(values: list[str]) -> list[tuple[str, str]]:
    """Pairs (member name, value), made unique."""
    seen: dict[str, int] = {}
    out = []
    for value in values:
        name = enum_member_name(value)
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append((name, value))
    return out


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def build_schemas(
    shapes: Mapping[str, Mapping[str, Any]], *, with_classes: bool = True
) -> dict[str, Schema]:
    """Build run-time :class:`Schema` objects for every shape of a botocore-format model.

    With ``with_classes`` each structure gets a frozen attrs class made on the fly (the
    generated code writes the same classes out statically) and each string enum a
    :class:`StrEnum`.
    """
    schemas: dict[str, Schema] = {}
    for name, shape in shapes.items():
        kind = shape["type"]
        if kind == "structure" and shape.get("union"):
            kind = "union"
        enum_type = None
        if with_classes and kind == "string" and shape.get("enum"):
            enum_type = StrEnum(  # type: ignore[call-overload]
                name, enum_members(list(shape["enum"]))
            )
        schemas[name] = Schema(
            name,
            kind,
            min=shape.get("min"),
            max=shape.get("max"),
            pattern=shape.get("pattern"),
            enum=shape.get("enum"),
            enum_type=enum_type,
            sensitive=bool(shape.get("sensitive")),
            sparse=bool(shape.get("sparse")),
            timestamp_format=shape.get("timestampFormat"),
            exception=bool(shape.get("exception")),
            fault=bool(shape.get("fault")),
            error_code=(shape.get("error") or {}).get("code"),
        )
    for name, shape in shapes.items():
        schema = schemas[name]
        if schema.type == "list":
            schema.member = schemas[shape["member"]["shape"]]
        elif schema.type == "map":
            schema.key = schemas[shape["key"]["shape"]]
            schema.value = schemas[shape["value"]["shape"]]
        elif schema.type in ("structure", "union"):
            required = set(shape.get("required", ()))
            schema.set_members(
                Member(
                    member_name,
                    py_member_name(member_name),
                    schemas[member["shape"]],
                    required=member_name in required,
                    sensitive=bool(member.get("sensitive")),
                    timestamp_format=member.get("timestampFormat"),
                )
                for member_name, member in shape.get("members", {}).items()
            )
            if shape.get("document"):
                schema.type = "document"
                schema.document = True
    if with_classes:
        for schema in schemas.values():
            if schema.type in ("structure", "union") and not schema.exception:
                schema.py_type = make_shape_class(schema)
    return schemas


def make_shape_class(schema: Schema) -> type[Shape]:
    """A frozen attrs class for ``schema``, as the generator would write it."""
    these = {
        m.py_name: attrs.field(default=None if not m.required else attrs.NOTHING, kw_only=True)
        for m in sorted(schema.members, key=lambda m: not m.required)
    }
    cls: type[Shape] = attrs.make_class(
        schema.name,
        these,
        bases=(Shape,),
        frozen=True,
        slots=True,
        repr=False,
        eq=False,
    )
    cls.__schema__ = schema
    return cls
