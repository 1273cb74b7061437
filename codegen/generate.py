"""Write the GENERATED modules of kms_mrk from the vendored KMS model.

Layout of the output (all files start with a GENERATED header naming this generator and the
model's hash; never edit them by hand):

- ``kms_mrk/models/_enums.py``      every enum, as a :class:`~kms_mrk.schema.StrEnum`, with its
                                    schema (those of ``_enums_*`` modules imported lazily)
- ``kms_mrk/models/_enums_*.py``    the enums held by the structures of one ``_shared_*`` module
- ``kms_mrk/models/_scalars.py``    schemas of strings (but enums), numbers, blobs, timestamps
- ``kms_mrk/models/_shared.py``     lists/maps used by several operations; lazy index of the
                                    shared structures
- ``kms_mrk/models/_shared_*.py``   structures used by several operations, one module per set
                                    of operations using them
- ``kms_mrk/models/_op_<name>.py``  one per operation: its request, response and command, and
                                    the structures only it uses
- ``kms_mrk/models/__init__.py``    lazy exports (a model module is imported on first use)
- ``kms_mrk/commands/__init__.py``  lazy exports of the commands, and the operation index
- ``kms_mrk/errors/_generated.py``  the modeled exceptions and the code -> class registry
- ``kms_mrk/_operations.py``        the snake_case method per operation used by KMSClient
- ``kms_mrk/_async_operations.py``  the same as coroutines, used by AsyncKMSClient
- ``kms_mrk/_exports.py``           the name -> module map behind ``import kms_mrk``

Models are split per operation because creating an attrs class costs about half a
millisecond: an application that sends DescribeKey imports the handful of classes it needs,
not all 160.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from codegen.descriptions import ERRORS, OPERATIONS
from codegen.model import CodegenError, enum_members, load_json, py_member_name, snake_case
from codegen.vendor import PAGINATORS_FILE, SERVICE_FILE

API = "https://docs.aws.amazon.com/kms/latest/APIReference"
SCALAR_TYPES = {
    "string",
    "blob",
    "boolean",
    "integer",
    "long",
    "float",
    "double",
    "timestamp",
    "byte",
    "short",
    "bigInteger",
    "bigDecimal",
}
RETRYABLE_ERRORS = {"KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"}
ATTRS_DECORATOR = (
    "@attrs.frozen(kw_only=True, slots=True, init=False, repr=False, eq=False, match_args=False)"
)


class Model:
    """The vendored model plus the derived facts the emitters need."""

    def __init__(self, service: dict[str, Any], paginators: dict[str, Any], digest: str) -> None:
        self.service = service
        self.shapes: dict[str, dict[str, Any]] = service["shapes"]
        self.operations: dict[str, dict[str, Any]] = service["operations"]
        self.paginators: dict[str, dict[str, Any]] = paginators.get("pagination", {})
        self.digest = digest
        self.target_prefix: str = service["metadata"]["targetPrefix"]
        self.errors = sorted(n for n, s in self.shapes.items() if s.get("exception"))
        # Operations with no output get a synthesized, empty <Op>Response.
        self.output_of: dict[str, str] = {}
        self.synthesized: set[str] = set()
        for op, spec in self.operations.items():
            if "output" in spec:
                self.output_of[op] = spec["output"]["shape"]
            else:
                name = f"{op}Response"
                assert name not in self.shapes, name
                self.output_of[op] = name
                self.synthesized.add(name)
        self.responses = set(self.output_of.values())
        self.requests = {spec["input"]["shape"]: op for op, spec in self.operations.items()}
        self.module_of: dict[str, str] = {}
        self.users: dict[str, set[str]] = {}
        self._place()

    # -- placement -----------------------------------------------------------------------
    def kind(self, name: str) -> str:
        if name in self.synthesized:
            return "structure"
        return str(self.shapes[name]["type"])

    def is_enum(self, name: str) -> bool:
        return name in self.shapes and bool(self.shapes[name].get("enum"))

    def children(self, name: str) -> list[str]:
        if name in self.synthesized:
            return []
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            return [m["shape"] for m in shape.get("members", {}).values()]
        if kind == "list":
            return [shape["member"]["shape"]]
        if kind == "map":
            return [shape["key"]["shape"], shape["value"]["shape"]]
        return []

    def _reach(self, root: str) -> set[str]:
        seen: set[str] = set()
        stack = [root]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(self.children(name))
        return seen

    def _place(self) -> None:
        users: dict[str, set[str]] = {}
        for op, spec in self.operations.items():
            for root in (spec["input"]["shape"], self.output_of[op]):
                for name in self._reach(root):
                    users.setdefault(name, set()).add(op)
        for name in list(self.shapes) + sorted(self.synthesized):
            if name in self.synthesized:
                kind = "structure"
            else:
                if self.shapes[name].get("exception"):
                    continue
                kind = self.shapes[name]["type"]
            if kind in SCALAR_TYPES:
                self.module_of[name] = "_scalars"
                continue
            ops = users.get(name, set())
            if len(ops) == 1:
                self.module_of[name] = op_module(next(iter(ops)))
            else:
                self.module_of[name] = "_shared"
        self.users = users
        self._split_shared(users)
        self._place_enums()

    def _split_shared(self, users: dict[str, set[str]]) -> None:
        """Spread the shared structures over modules, one per set of operations using them.

        An operation then imports the shared classes it can meet and no others (DescribeKey
        builds KeyMetadata and what it holds, not Tag or GrantListEntry): each attrs class
        costs a fraction of a millisecond to create. Module ``_shared_<first structure>``
        holds a group's structures and the lists and maps of the same users; lists and maps
        holding no structure stay in ``_shared`` (plain Schema objects, cheap to build), and
        one that holds a structure of a group goes with that group (its users are a subset).
        """
        shared = [n for n, m in self.module_of.items() if m == "_shared"]
        groups: dict[frozenset[str], list[str]] = {}
        for name in shared:
            groups.setdefault(frozenset(users.get(name, ())), []).append(name)
        for names in groups.values():
            structs = sorted(n for n in names if self.kind(n) == "structure")
            if structs:
                module = f"_shared_{snake_case(structs[0])}"
                for name in names:
                    self.module_of[name] = module
        for name in sorted(n for n in shared if self.module_of[n] == "_shared"):
            held = sorted(
                self.module_of[u]
                for u in self.uses(name)
                if self.kind(u) == "structure" and self.module_of.get(u, "").startswith("_shared_")
            )
            if held:
                self.module_of[name] = held[0]

    def _place_enums(self) -> None:
        """Put each enum (its class and schema) where the classes that hold it will find it.

        An enum held by the structures of exactly one ``_shared_*`` module goes to the
        matching ``_enums_*`` module (DescribeKey's KeyMetadata needs 13 of the 32 enums;
        creating an enum class is not free); every other enum stays in ``_enums``, which
        also gives access to all of them. Lists and maps left in ``_shared`` that hold an
        enum go with it, so that ``_shared`` (imported by most operations) pulls no enum.
        """
        groups: dict[str, set[str]] = {}
        for name, module in self.module_of.items():
            if module.startswith("_shared_") and self.kind(name) == "structure":
                for used in self.uses(name):
                    if self.is_enum(used):
                        groups.setdefault(used, set()).add(module)
        for name in self.shapes:
            if self.is_enum(name):
                found = groups.get(name, set())
                self.module_of[name] = (
                    "_enums" + next(iter(found))[len("_shared") :] if len(found) == 1 else "_enums"
                )
        for name in sorted(n for n, m in self.module_of.items() if m == "_shared"):
            held = sorted(self.module_of[u] for u in self.uses(name) if self.is_enum(u))
            if held:
                self.module_of[name] = held[0]

    def enum_modules(self) -> list[str]:
        """``_enums`` and the ``_enums_*`` modules (see :meth:`_place_enums`)."""
        return sorted({m for n, m in self.module_of.items() if self.is_enum(n)} | {"_enums"})

    def users_of(self, name: str) -> set[str]:
        """The operations whose input or output can hold ``name``."""
        return self.users.get(name, set())

    def shared_modules(self) -> list[str]:
        """The ``_shared_*`` modules of shared structures (see :meth:`_split_shared`)."""
        return sorted({m for m in self.module_of.values() if m.startswith("_shared_")})

    # -- python types --------------------------------------------------------------------
    def annotation(self, name: str) -> str:
        if name in self.synthesized:
            return name
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "string":
            return f"{name} | str" if shape.get("enum") else "str"
        if kind == "blob":
            return "bytes"
        if kind == "boolean":
            return "bool"
        if kind in ("integer", "long", "byte", "short", "bigInteger"):
            return "int"
        if kind in ("float", "double", "bigDecimal"):
            return "float"
        if kind == "timestamp":
            return "_dt.datetime"
        if kind == "list":
            return f"list[{self.annotation(shape['member']['shape'])}]"
        if kind == "map":
            key = self.annotation(shape["key"]["shape"])
            return f"dict[{key}, {self.annotation(shape['value']['shape'])}]"
        if kind == "structure":
            return "Any" if shape.get("document") else name
        raise ValueError(f"unsupported type {kind} for {name}")

    def uses(self, name: str) -> Iterable[str]:
        """Every shape named (transitively through lists/maps) by ``name``'s members."""
        for child in self.children(name):
            yield child
            if self.kind(child) in ("list", "map"):
                yield from self.uses(child)


def op_module(op: str) -> str:
    return f"_op_{snake_case(op)}"


def load_model() -> Model:
    service_text = SERVICE_FILE.read_bytes()
    digest = hashlib.sha256(service_text).hexdigest()
    return Model(load_json(SERVICE_FILE), load_json(PAGINATORS_FILE), digest)


def header(model: Model, what: str) -> str:
    return (
        f'"""GENERATED by codegen/generate.py from the vendored KMS model '
        f"(sha256 {model.digest[:16]}). DO NOT EDIT.\n\n{what}\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
    )


# ----------------------------------------------------------------------------------------
# enums and scalars


def emit_enums(model: Model, module: str) -> str:
    """An enum module: its StrEnum classes, their schemas and the lists and maps of them.

    ``_enums`` also makes every enum of the model importable from it (the others lazily).
    """
    names = sorted(n for n, m in model.module_of.items() if m == module)
    enums = [n for n in names if model.is_enum(n)]
    index = module == "_enums"
    elsewhere = {
        n: f"kms_mrk.models.{m}"
        for n, m in sorted(model.module_of.items())
        if index and model.is_enum(n) and m != module
    }
    if index:
        what = (
            "Every enum of the KMS model (those of the ``_enums_*`` modules load on first use),\n"
            "with the schemas of the ones defined here. Unknown values stay plain strings."
        )
    else:
        what = (
            f"The enums held by the structures of ``{module.replace('_enums_', '_shared_')}``, "
            "their schemas\nand the lists of them. Unknown values stay plain strings."
        )
    out = [header(model, what)]
    if elsewhere:
        out.append("import importlib\nfrom typing import TYPE_CHECKING, Any\n\n")
    items = model_imports(model, names, module)
    if items:
        out.append(f"from kms_mrk.models import {', '.join(items)}\n")
    out.append("from kms_mrk.schema import Schema, StrEnum\n")
    if elsewhere:
        out.append("\nif TYPE_CHECKING:\n")
        out.extend(f"    from {mod} import {n} as {n}\n" for n, mod in elsewhere.items())
    public = sorted([*enums, *elsewhere])
    out.append("\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in public) + "]\n")
    for name in enums:
        out.append(f"\n\nclass {name}(StrEnum):\n")
        out.append(
            f'    """Values of ``{name}`` (`KMS data types <{API}/API_Types.html>`__)."""\n\n'
        )
        for member, value in enum_members(model.shapes[name]["enum"]):
            out.append(f"    {member} = {value!r}\n")
    out.append("\n\n# Schemas\n")
    for name in enums:
        shape = model.shapes[name]
        extra = scalar_args(shape) + f", enum_type={name}"
        out.append(f"S_{name} = Schema({name!r}, {shape['type']!r}{extra})\n")
    for name in ordered_containers(model, names):
        out.append(emit_container_schema(model, name, module))
    if elsewhere:
        out.append(lazy_getattr_source(f"kms_mrk.models.{module}", elsewhere, "enum"))
    return "".join(out)


def scalar_args(shape: dict[str, Any]) -> str:
    args = []
    for key in ("min", "max"):
        if key in shape:
            args.append(f"{key}={shape[key]!r}")
    if "pattern" in shape:
        args.append(f"pattern={shape['pattern']!r}")
    if shape.get("sensitive"):
        args.append("sensitive=True")
    if shape.get("timestampFormat"):
        args.append(f"timestamp_format={shape['timestampFormat']!r}")
    return "".join(f", {a}" for a in args)


def emit_scalars(model: Model) -> str:
    out = [header(model, "Schemas of the scalar shapes (strings, numbers, blobs, timestamps).")]
    out.append("from kms_mrk.schema import Schema\n\n")
    for name in sorted(n for n, m in model.module_of.items() if m == "_scalars"):
        shape = model.shapes[name]
        out.append(f"S_{name} = Schema({name!r}, {shape['type']!r}{scalar_args(shape)})\n")
    return "".join(out)


# ----------------------------------------------------------------------------------------
# structures


def schema_ref(model: Model, name: str, here: str) -> str:
    module = model.module_of[name]
    if module == here:
        return f"S_{name}"
    return f"{module_alias(module)}.S_{name}"


def module_alias(module: str) -> str:
    """The name a generated module uses for another model module it imports."""
    return {"_scalars": "_sc", "_shared": "_sh", "_enums": "_en"}.get(module, module)


def model_imports(model: Model, names: Iterable[str], here: str) -> list[str]:
    """``from kms_mrk.models import ...`` items for the schemas ``names`` refer to."""
    wanted = {model.module_of.get(c, "") for n in names for c in model.children(n)}
    items = []
    for there in sorted(wanted - {here, ""}):
        if there.startswith(("_scalars", "_shared", "_enums")):
            alias = module_alias(there)
            items.append(f"{there} as {alias}" if alias != there else there)
    return items


def class_imports(model: Model, names: Iterable[str], here: str) -> list[str]:
    """``from kms_mrk.models.<module> import ...`` lines for the classes named (annotations)."""
    by_module: dict[str, list[str]] = {}
    for n in sorted(set(names)):
        there = model.module_of.get(n, "")
        if there == here:
            continue
        if model.is_enum(n) or (there.startswith("_shared") and model.kind(n) == "structure"):
            by_module.setdefault(there, []).append(n)
    return [
        f"from kms_mrk.models.{there} import {', '.join(held)}\n"
        for there, held in sorted(by_module.items())
    ]


def struct_doc(model: Model, name: str) -> tuple[str, str]:
    if name in model.requests:
        op = model.requests[name]
        return f"Input of {op}: see :class:`{op}Command`.", f"{API}/API_{op}.html"
    ops = [op for op, out in model.output_of.items() if out == name]
    if ops:
        return f"Output of {' and '.join(ops)}.", f"{API}/API_{ops[0]}.html"
    return f"The ``{name}`` data type of the KMS API.", f"{API}/API_{name}.html"


def emit_struct_class(model: Model, name: str, base: str) -> str:
    shape = model.shapes.get(name, {"members": {}})
    members = shape.get("members", {})
    required = set(shape.get("required", ()))
    summary, url = struct_doc(model, name)
    out = [f"\n\n{ATTRS_DECORATOR}\nclass {name}({base}):\n"]
    out.append(f'    """{summary}\n\n    `API reference <{url}>`__\n    """\n')
    ordered = [m for m in members if m in required] + [m for m in members if m not in required]
    params = []
    if ordered:
        out.append("\n")
    for member in ordered:
        py = py_member_name(member)
        ann = model.annotation(members[member]["shape"])
        if member in required:
            out.append(f"    {py}: {ann}\n")
            params.append(f"{py}: {ann}")
        else:
            out.append(f"    {py}: {ann} | None = None\n")
            params.append(f"{py}: {ann} | None = None")
    out.append(emit_struct_init(ordered, params, [m for m in members if m in required]))
    return "".join(out)


def emit_struct_init(ordered: list[str], params: list[str], required: list[str]) -> str:
    """The ``__init__`` of a structure: typed for checkers, forgiving of habits at run time.

    Type checkers see the exact keyword-only signature. At run time, required members default
    to ``REQUIRED`` and unknown keywords are collected, so that a wrong call (the wire name
    ``KeyId`` of the JavaScript SDK and boto3, a typo, a missing member) gets the message of
    :func:`kms_mrk.schema.init_error` naming the right keyword and ``from_dict``; the happy
    path costs one empty dict and an identity test per required member.
    """
    py_required = [py_member_name(m) for m in required]  # in model order
    out = ["\n    if TYPE_CHECKING:\n"]
    if ordered:
        out.append("\n        def __init__(\n            self,\n            *,\n")
        out.extend(f"            {p},\n" for p in params)
        out.append("        ) -> None: ...\n")
    else:
        out.append("\n        def __init__(self) -> None: ...\n")
    out.append("\n    else:\n\n")
    runtime = [
        f"{py_member_name(m)}=REQUIRED"
        if py_member_name(m) in py_required
        else p.split(":")[0] + "=None"
        for m, p in zip(ordered, params, strict=True)
    ]
    out.append("        def __init__(self, *, " if runtime else "        def __init__(self, ")
    out.append(", ".join([*runtime, "**_unknown"]) + "):\n")
    checks = ["_unknown", *(f"{py} is REQUIRED" for py in py_required)]
    given = ", ".join(py_required) + ("," if len(py_required) == 1 else "")
    out.append(f"            if {' or '.join(checks)}:\n")
    out.append(f"                init_error(self, _unknown, ({given}))\n")
    for member in ordered:
        py = py_member_name(member)
        out.append(f"            _set(self, {py!r}, {py})\n")
    return "".join(out)


def emit_container_schema(model: Model, name: str, here: str) -> str:
    shape = model.shapes[name]
    if shape["type"] == "list":
        ref = schema_ref(model, shape["member"]["shape"], here)
        extra = scalar_args(shape)
        return f"S_{name} = Schema({name!r}, 'list', member={ref}{extra})\n"
    key = schema_ref(model, shape["key"]["shape"], here)
    value = schema_ref(model, shape["value"]["shape"], here)
    extra = scalar_args(shape)
    return f"S_{name} = Schema({name!r}, 'map', key={key}, value={value}{extra})\n"


def member_line(model: Model, struct: str, member: str, spec: dict[str, Any], here: str) -> str:
    required = member in set(model.shapes.get(struct, {}).get("required", ()))
    args = [repr(member), repr(py_member_name(member)), schema_ref(model, spec["shape"], here)]
    if required:
        args.append("required=True")
    if spec.get("sensitive"):
        args.append("sensitive=True")
    if spec.get("timestampFormat"):
        args.append(f"timestamp_format={spec['timestampFormat']!r}")
    return f"        Member({', '.join(args)}),\n"


def ordered_containers(model: Model, names: list[str]) -> list[str]:
    """Lists/maps ordered so that a container is defined after the containers it names."""
    pending = [n for n in names if model.kind(n) in ("list", "map")]
    done: list[str] = []
    placed: set[str] = set()
    while pending:
        progressed = False
        for name in list(pending):
            deps = [c for c in model.children(name) if model.kind(c) in ("list", "map")]
            if all(d in placed or model.module_of.get(d) != model.module_of[name] for d in deps):
                done.append(name)
                placed.add(name)
                pending.remove(name)
                progressed = True
        if not progressed:
            raise ValueError(f"recursive containers: {pending}")
    return done


def emit_module(model: Model, module: str, ops: list[str]) -> str:
    """An operation's module (``ops`` = [op]) or a ``_shared_*`` module of shared structures."""
    names = [n for n, m in model.module_of.items() if m == module]
    structs = [n for n in names if model.kind(n) == "structure"]
    if ops:
        what = f"Request, response and command of {ops[0]}."
    else:
        users = sorted(model.users_of(structs[0]))
        what = f"Structures shared by the operations {', '.join(users)}."
    out = [header(model, what)]
    needs_dt = any(
        model.kind(u) == "timestamp" for s in structs for u in model.uses(s) if u in model.shapes
    )
    needs_any = any(model.shapes.get(u, {}).get("document") for s in structs for u in model.uses(s))
    typing_names = ["TYPE_CHECKING", "ClassVar"] if ops else []
    typing_names = sorted({*typing_names, "TYPE_CHECKING"})  # for the typed __init__
    if needs_any:
        typing_names.append("Any")
    if needs_dt:
        out.append("import datetime as _dt\n")
    if typing_names:
        out.append(f"from typing import {', '.join(sorted(typing_names))}\n")
    out.append("\nimport attrs\n\n")
    referenced = {u for s in structs for u in model.uses(s)} | set(names)
    for op in ops:
        referenced |= {model.operations[op]["input"]["shape"], model.output_of[op]}
    imports = sorted({"_scalars as _sc", *model_imports(model, names, module)})
    out.append(f"from kms_mrk.models import {', '.join(imports)}\n")
    out.extend(class_imports(model, referenced, module))
    schema_names = ["Schema", "Shape", "init_error"]
    if any(model.shapes.get(n, {}).get("required") for n in structs):
        schema_names.append("REQUIRED")
    if any(model.shapes.get(n, {}).get("members") for n in structs):
        schema_names.append("Member")
    if any(n in model.responses for n in structs) or ops:
        schema_names.append("Response")
    if ops:
        schema_names.append("Command")
        if any(op in model.paginators for op in ops):
            schema_names.append("PaginatorInfo")
    out.append(f"from kms_mrk.schema import {', '.join(sorted(schema_names))}\n")
    if ops:
        out.append("from kms_mrk.errors import _generated as _er\n")
        out.append("\nif TYPE_CHECKING:\n    from kms_mrk.errors._base import ServiceException\n")
    public = sorted(structs) + [f"{op}Command" for op in ops]
    out.append("\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in sorted(public)) + "]\n")
    out.append("\n_set = object.__setattr__\n")
    for name in sorted(structs, key=lambda n: (n in model.responses, n)):
        base = "Response" if name in model.responses else "Shape"
        out.append(emit_struct_class(model, name, base))
    # schemas
    out.append("\n\n# Schemas\n")
    for name in sorted(structs):
        out.append(f"S_{name} = Schema({name!r}, 'structure', py_type={name})\n")
    for name in ordered_containers(model, sorted(names)):
        out.append(emit_container_schema(model, name, module))
    for name in sorted(structs):
        members = model.shapes.get(name, {}).get("members", {})
        if members:
            out.append(f"S_{name}.set_members(\n    (\n")
            for member, spec in members.items():
                out.append(member_line(model, name, member, spec, module))
            out.append("    )\n)\n")
    for name in sorted(structs):
        out.append(f"{name}.__schema__ = S_{name}\n")
    for op in ops:
        out.append(emit_command(model, op))
    return "".join(out)


def emit_shared_index(model: Model) -> str:
    """``_shared``: lists and maps holding no structure, and the shared structures, lazily.

    The structures live in the ``_shared_*`` modules (see :meth:`Model._split_shared`);
    ``from kms_mrk.models._shared import KeyMetadata`` keeps working and loads only the
    module that defines the name.
    """
    names = sorted(n for n, m in model.module_of.items() if m == "_shared")
    structs = {
        n: f"kms_mrk.models.{m}"
        for n, m in sorted(model.module_of.items())
        if m.startswith("_shared_") and model.kind(n) == "structure"
    }
    out = [
        header(
            model,
            "Lists and maps used by several operations; the shared structures, loaded on first\n"
            "use from the ``_shared_*`` module of the operations that use them.",
        )
    ]
    out.append("import importlib\nfrom typing import TYPE_CHECKING, Any\n\n")
    items = model_imports(model, names, "_shared")
    if items:
        out.append(f"from kms_mrk.models import {', '.join(items)}\n")
    out.append("from kms_mrk.schema import Schema\n")
    out.append("\nif TYPE_CHECKING:\n")
    out.extend(f"    from {mod} import {n} as {n}\n" for n, mod in structs.items())
    out.append("\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in structs) + "]\n")
    out.append("\n# Schemas\n")
    for name in ordered_containers(model, names):
        out.append(emit_container_schema(model, name, "_shared"))
    out.append(lazy_getattr_source("kms_mrk.models._shared", structs, "structure"))
    return "".join(out)


def lazy_getattr_source(package: str, names: dict[str, str], what: str) -> str:
    """``_MODULES`` and a module ``__getattr__`` loading each of ``names`` from its module."""
    return (
        f"\n# {what} -> the module that defines it\n_MODULES: dict[str, str] = {{\n"
        + "".join(f"    {n!r}: {mod!r},\n" for n, mod in names.items())
        + "}\n\n\n"
        "def __getattr__(name: str) -> Any:\n"
        "    module = _MODULES.get(name)\n"
        "    if module is None:\n"
        f"        message = f\"module '{package}' has no attribute {{name!r}}\"\n"
        "        raise AttributeError(message)\n"
        "    value = getattr(importlib.import_module(module), name)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__() -> list[str]:\n"
        "    return sorted(set(globals()) | set(__all__))\n"
    )


def emit_command(model: Model, op: str) -> str:
    spec = model.operations[op]
    request = spec["input"]["shape"]
    response = model.output_of[op]
    errors = [e["shape"] for e in spec.get("errors", [])]
    url = f"{API}/API_{op}.html"
    summary = OPERATIONS[op]
    out = [f"\n\nclass {op}Command({request}, Command[{response}]):\n"]
    out.append(
        f'    """{summary}\n\n'
        f"    Sends ``{op}``; returns :class:`{response}`. `API reference <{url}>`__\n"
        '    """\n\n'
    )
    out.append("    __slots__ = ()\n")
    out.append(f"    operation_name: ClassVar[str] = {op!r}\n")
    out.append(f"    input_type: ClassVar[type[Shape]] = {request}\n")
    out.append(f"    output_type: ClassVar[type[Response]] = {response}\n")
    out.append(f"    documentation_url: ClassVar[str] = {url!r}\n")
    pager = model.paginators.get(op)
    if pager:
        args = [
            f"input_token={pager['input_token']!r}",
            f"output_token={pager['output_token']!r}",
            f"result_key={pager['result_key']!r}",
        ]
        if pager.get("limit_key"):
            args.append(f"limit_key={pager['limit_key']!r}")
        if pager.get("more_results"):
            args.append(f"more_results={pager['more_results']!r}")
        out.append(
            "    paginator: ClassVar[PaginatorInfo | None] = PaginatorInfo(\n"
            + "".join(f"        {a},\n" for a in args)
            + "    )\n"
        )
    refs = "".join(f"        _er.{e},\n" for e in errors)
    out.append(f"    errors: ClassVar[tuple[type[ServiceException], ...]] = (\n{refs}    )\n")
    return "".join(out)


# ----------------------------------------------------------------------------------------
# errors


def emit_errors(model: Model) -> str:
    out = [header(model, "The modeled KMS exceptions and the error code -> class registry.")]
    out.append("from typing import ClassVar\n\n")
    out.append("from kms_mrk.errors._base import Fault, KMSServiceException\n\n")
    out.append('__all__ = [\n    "MODELED_ERRORS",\n')
    out.extend(f'    "{n}",\n' for n in model.errors)
    out.append("]\n")
    first_op: dict[str, str] = {}
    for op, spec in sorted(model.operations.items()):
        for err in spec.get("errors", []):
            first_op.setdefault(err["shape"], op)
    for name in model.errors:
        shape = model.shapes[name]
        fault = "server" if shape.get("fault") else "client"
        retryable = name in RETRYABLE_ERRORS
        op = first_op.get(name, "DescribeKey")
        url = f"{API}/API_{op}.html#API_{op}_Errors"
        extra = [m for m in shape.get("members", {}) if m not in ("message", "Message")]
        assert not extra, f"{name} has members beyond message: {extra}"
        out.append(f"\n\nclass {name}(KMSServiceException):\n")
        out.append(f'    """{ERRORS[name]}\n\n    `Listed under <{url}>`__\n    """\n\n')
        out.append(f"    code: ClassVar[str] = {name!r}  # type: ignore[misc]\n")
        out.append(f"    fault: ClassVar[Fault] = {fault!r}  # type: ignore[misc]\n")
        out.append(f"    retryable: ClassVar[bool] = {retryable!r}  # type: ignore[misc]\n")
    out.append("\n\nMODELED_ERRORS: dict[str, type[KMSServiceException]] = {\n")
    out.extend(f"    {n!r}: {n},\n" for n in model.errors)
    out.append("}\n")
    return "".join(out)


# ----------------------------------------------------------------------------------------
# indexes


def public_model_names(model: Model) -> dict[str, str]:
    """Public name -> module (relative to kms_mrk.models)."""
    names: dict[str, str] = {}
    for name in model.shapes:
        if model.is_enum(name):
            names[name] = model.module_of[name]
    for name, module in model.module_of.items():
        if module != "_scalars" and model.kind(name) == "structure":
            names[name] = module
    for op in model.operations:
        names[f"{op}Command"] = op_module(op)
    return dict(sorted(names.items()))


def lazy_module_source(package: str, names: dict[str, str], doc: str, extra: str = "") -> str:
    """A lazily importing ``__init__``; ``names`` maps each name to its full module path."""
    out = [f"    from {mod} import {n} as {n}\n" for n, mod in names.items()]
    return (
        "import importlib\n"
        "from typing import TYPE_CHECKING, Any\n\n"
        "if TYPE_CHECKING:\n"
        + "".join(out)
        + "\n__all__ = [\n"
        + "".join(f'    "{n}",\n' for n in names)
        + "]\n\n"
        + f"# {doc}\n"
        + "_MODULES: dict[str, str] = {\n"
        + "".join(f"    {n!r}: {mod!r},\n" for n, mod in names.items())
        + "}\n"
        + extra
        + "\n\ndef __getattr__(name: str) -> Any:\n"
        "    module = _MODULES.get(name)\n"
        "    if module is None:\n"
        f"        raise AttributeError(f\"module '{package}' has no attribute {{name!r}}\")\n"
        "    value = getattr(importlib.import_module(module), name)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__() -> list[str]:\n"
        "    return sorted(set(globals()) | set(__all__))\n"
    )


def emit_models_init(model: Model) -> str:
    names = {n: f"kms_mrk.models.{m}" for n, m in public_model_names(model).items()}
    return header(model, "Every model class, enum and command; each module loads on first use.") + (
        lazy_module_source("kms_mrk.models", names, "name -> the module that defines it")
    )


def emit_commands_init(model: Model) -> str:
    names = {f"{op}Command": f"kms_mrk.models.{op_module(op)}" for op in sorted(model.operations)}
    extra = (
        "\n# operation name -> command class name\n"
        "OPERATIONS: dict[str, str] = {\n"
        + "".join(f"    {op!r}: {op + 'Command'!r},\n" for op in sorted(model.operations))
        + "}\n"
    )
    return header(model, "Every command, one per KMS operation; loaded on first use.") + (
        lazy_module_source("kms_mrk.commands", names, "name -> the module that defines it", extra)
    )


def emit_exports(model: Model) -> str:
    models = {n: f"kms_mrk.models.{m}" for n, m in public_model_names(model).items()}
    errors = {n: "kms_mrk.errors" for n in model.errors}
    merged = {**models, **errors}
    return header(model, "Name -> module map behind the lazy exports of ``kms_mrk``.") + (
        "GENERATED_EXPORTS: dict[str, str] = {\n"
        + "".join(f"    {n!r}: {m!r},\n" for n, m in sorted(merged.items()))
        + "}\n"
    )


def emit_operations(model: Model) -> str:
    """The mixin giving KMSClient one typed snake_case method per operation."""
    return emit_operation_mixin(model, is_async=False)


# The per-call deadline argument of the generated methods. KMS members become snake_case
# names without a leading underscore, so this one can never clash with a member.
TIMEOUT_ARG = "_timeout"


def emit_async_operations(model: Model) -> str:
    """The mixin giving AsyncKMSClient one typed snake_case coroutine per operation."""
    return emit_operation_mixin(model, is_async=True)


def emit_operation_mixin(model: Model, *, is_async: bool) -> str:
    """One typed method per operation (coroutines when ``is_async``), calling ``send``."""
    client = "AsyncKMSClient" if is_async else "KMSClient"
    kind = "coroutine" if is_async else "method"
    out = [header(model, f"One {kind} per KMS operation, mixed into {client}.")]
    dt_needed = False
    any_needed = False
    body = []
    imports: set[str] = set()
    define = "async def" if is_async else "def"
    call = "await self.send" if is_async else "self.send"
    for op in sorted(model.operations):
        spec = model.operations[op]
        request = spec["input"]["shape"]
        response = model.output_of[op]
        members = model.shapes[request].get("members", {})
        required = set(model.shapes[request].get("required", ()))
        ordered = [m for m in members if m in required] + [m for m in members if m not in required]
        params = []
        for member in ordered:
            py = py_member_name(member)
            if py == TIMEOUT_ARG:
                raise CodegenError(f"{op}: member {member} clashes with {TIMEOUT_ARG}")
            ann = model.annotation(members[member]["shape"])
            target = members[member]["shape"]
            nested = model.uses(target) if model.kind(target) in ("list", "map") else []
            for used in [target, *nested]:
                if used in model.shapes:
                    if model.is_enum(used) or (
                        model.kind(used) == "structure" and not model.shapes[used].get("document")
                    ):
                        imports.add(used)
                    if model.kind(used) == "timestamp":
                        dt_needed = True
                    if model.shapes[used].get("document"):
                        any_needed = True
            params.append(f"{py}: {ann}" if member in required else f"{py}: {ann} | None = None")
        params.append(f"{TIMEOUT_ARG}: float | None = None")
        imports.add(response)
        method = snake_case(op)
        args = ", ".join(f"{py_member_name(m)}={py_member_name(m)}" for m in ordered)
        sig = "".join(f"        {p},\n" for p in params)
        body.append(
            f"\n    {define} {method}(\n        self,\n        *,\n{sig}    ) -> {response}:\n"
            f'        """{OPERATIONS[op]} (`{op} <{API}/API_{op}.html>`__)."""\n'
            f"        from kms_mrk.models.{op_module(op)} import {op}Command\n\n"
            f"        return {call}({op}Command({args}), timeout={TIMEOUT_ARG})\n"
        )
    if dt_needed:
        out.append("import datetime as _dt\n")
    typing_names = ["TYPE_CHECKING"] + (["Any"] if any_needed else [])
    out.append(f"from typing import {', '.join(typing_names)}\n\n")
    out.append("if TYPE_CHECKING:\n")
    out.append("    from kms_mrk.models import (\n")
    out.extend(f"        {n},\n" for n in sorted(imports))
    out.append("    )\n")
    out.append("    from kms_mrk.schema import Command, OutputT\n\n")
    name = "AsyncOperationsMixin" if is_async else "OperationsMixin"
    out.append(f'__all__ = ["{name}"]\n\n\n')
    out.append(f"class {name}:\n")
    out.append(
        f'    """Typed convenience {kind}s; each builds the command and calls ``send``.\n\n'
        f"    ``{TIMEOUT_ARG}`` is the call's deadline in seconds (``send(command, timeout=)``);\n"
        "    its leading underscore keeps it apart from every KMS member name.\n"
        '    """\n\n'
    )
    out.append("    __slots__ = ()\n\n")
    out.append(
        f"    {define} send(\n"
        "        self,\n"
        "        command: Command[OutputT],\n"
        "        *,\n"
        "        timeout: float | None = None,\n"
        "        max_attempts: int | None = None,\n"
        "    ) -> OutputT:\n"
    )
    out.append("        raise NotImplementedError\n")
    out.extend(body)
    return "".join(out)


def check_descriptions(model: Model) -> None:
    """Fail with one message listing every operation and error without a summary."""
    missing_ops = sorted(set(model.operations) - set(OPERATIONS))
    missing_errors = sorted(set(model.errors) - set(ERRORS))
    if not missing_ops and not missing_errors:
        return
    lines = [
        "codegen/descriptions.py has no one-line summary for what the model gained. Add one, "
        "in our own words, for each of:"
    ]
    if missing_ops:
        lines.append(f"  OPERATIONS: {', '.join(missing_ops)}")
    if missing_errors:
        lines.append(f"  ERRORS: {', '.join(missing_errors)}")
    raise CodegenError("\n".join(lines))


def generate(root: Path, model: Model | None = None) -> dict[Path, str]:
    """Return every generated file (path relative to ``root``) and its text.

    Raises :class:`~codegen.model.CodegenError` when ``codegen/descriptions.py`` lacks a
    summary for an operation or error of the model.
    """
    if model is None:
        model = load_model()
    check_descriptions(model)
    files: dict[Path, str] = {}
    pkg = root / "kms_mrk"
    for module in model.enum_modules():
        files[pkg / "models" / f"{module}.py"] = emit_enums(model, module)
    files[pkg / "models" / "_scalars.py"] = emit_scalars(model)
    files[pkg / "models" / "_shared.py"] = emit_shared_index(model)
    for module in model.shared_modules():
        files[pkg / "models" / f"{module}.py"] = emit_module(model, module, [])
    for op in sorted(model.operations):
        files[pkg / "models" / f"{op_module(op)}.py"] = emit_module(model, op_module(op), [op])
    files[pkg / "models" / "__init__.py"] = emit_models_init(model)
    files[pkg / "commands" / "__init__.py"] = emit_commands_init(model)
    files[pkg / "errors" / "_generated.py"] = emit_errors(model)
    files[pkg / "_exports.py"] = emit_exports(model)
    files[pkg / "_operations.py"] = emit_operations(model)
    files[pkg / "_service.py"] = emit_service_facts(model)
    files[pkg / "_async_operations.py"] = emit_async_operations(model)
    return files


# ----------------------------------------------------------------------------------------
# service facts: one module for what several layers need to know about KMS


def emit_service_facts(model: Model) -> str:
    """``kms_mrk/_service.py``: the service's names, protocol and rules, from one place.

    From the model's metadata: target prefix, signing name, endpoint prefix, service id, API
    version, protocol; from its shapes: the Region pattern (``RegionType``) and the operation
    names; from ``codegen/facts.py``: the operations a retry must not resend.
    """
    from codegen.facts import NON_IDEMPOTENT_OPERATIONS

    meta = model.service["metadata"]
    unknown = sorted(set(NON_IDEMPOTENT_OPERATIONS) - set(model.operations))
    if unknown:
        raise CodegenError(
            f"codegen/facts.py names operations the model does not have: {', '.join(unknown)}"
        )
    protocol = meta["protocol"]
    if protocol != "json":
        raise CodegenError(
            f"the KMS model's protocol is {_quoted(protocol)}; kms-mrk speaks json 1.1"
        )
    region = model.shapes["RegionType"]
    signing = meta.get("signingName", meta["endpointPrefix"])
    names = [
        "API_VERSION",
        "CONTENT_TYPE",
        "ENDPOINT_PREFIX",
        "JSON_VERSION",
        "NON_IDEMPOTENT_OPERATIONS",
        "OPERATIONS",
        "PROTOCOL",
        "REGION_MAX_LENGTH",
        "REGION_PATTERN",
        "REGION_RE",
        "SERVICE_ID",
        "SIGNING_NAME",
        "TARGET_PREFIX",
    ]
    what = (
        "Facts about the KMS service, for every layer that needs them (client, protocol,\n"
        "signer, retries, local KMS, testing toolkit): import them from here, never copy them.\n"
        "From the model's metadata and shapes, and codegen/facts.py for what the model does\n"
        "not state (which operations a retry must not resend)."
    )
    out = [
        header(model, what),
        "import re\nfrom typing import TYPE_CHECKING, Any, Final\n\n__all__ = [\n",
    ]
    out.extend(f'    "{n}",\n' for n in sorted(names))
    out.append("]\n\n")
    out.append("#: ``X-Amz-Target: TrentService.<Operation>``\n")
    out.append(f"TARGET_PREFIX: Final = {_quoted(meta['targetPrefix'])}\n")
    out.append("#: the service name in SigV4 credential scopes\n")
    out.append(f"SIGNING_NAME: Final = {_quoted(signing)}\n")
    out.append("#: the first label of the service's hostnames (kms.<region>.amazonaws.com)\n")
    out.append(f"ENDPOINT_PREFIX: Final = {_quoted(meta['endpointPrefix'])}\n")
    out.append("#: the service id (AWS_ENDPOINT_URL_<ID>, [services] sections of the config)\n")
    out.append(f"SERVICE_ID: Final = {_quoted(meta['serviceId'])}\n")
    out.append(f"API_VERSION: Final = {_quoted(meta['apiVersion'])}\n")
    out.append(f"PROTOCOL: Final = {_quoted(protocol)}\n")
    out.append(f"JSON_VERSION: Final = {_quoted(meta['jsonVersion'])}\n")
    out.append(
        f"CONTENT_TYPE: Final = {_quoted('application/x-amz-json-' + meta['jsonVersion'])}\n\n"
    )
    out.append("#: the model's RegionType pattern; match with REGION_RE.fullmatch (\\d is ASCII\n")
    out.append("#: there, and fullmatch refuses the trailing newline that $ lets through)\n")
    out.append(f"REGION_PATTERN: Final = {_quoted(region['pattern'])}\n")
    out.append("#: (compiled on first use: a client's calls never need it)\n")
    out.append("if TYPE_CHECKING:\n    REGION_RE: re.Pattern[str]\n")
    out.append(f"REGION_MAX_LENGTH: Final = {int(region['max'])}\n\n")
    out.append("#: every operation of the model\n")
    out.append("OPERATIONS: Final[frozenset[str]] = frozenset(\n    {\n")
    out.extend(f"        {_quoted(op)},\n" for op in sorted(model.operations))
    out.append("    }\n)\n\n")
    out.append("#: operations not resent when the first request may have reached KMS\n")
    out.append(
        "#: (codegen/facts.py gives the reason for each; docs/retries.md how retries use them)\n"
    )
    out.append("NON_IDEMPOTENT_OPERATIONS: Final[frozenset[str]] = frozenset(\n    {\n")
    out.extend(f"        {_quoted(op)},\n" for op in sorted(NON_IDEMPOTENT_OPERATIONS))
    out.append("    }\n)\n")
    out.append(
        "\n\ndef __getattr__(name: str) -> Any:\n"
        '    if name == "REGION_RE":\n'
        '        pattern = globals()["REGION_RE"] = re.compile(REGION_PATTERN, re.ASCII)\n'
        "        return pattern\n"
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n'
    )
    return "".join(out)


def _quoted(text: str) -> str:
    """``text`` as a double-quoted Python literal (the layout ruff format keeps)."""
    return json.dumps(text)


GENERATED_MARK = "GENERATED by codegen/generate.py"
