"""The import directions of ARCHITECTURE.md, checked on the source (imports inside functions
count too: a lazy import is still a dependency).

- models, commands and errors import only the standard library, attrs and kms_mrk.schema
  (plus the error root and each other);
- protocol imports those (and the transport's types); its service side (_service.py) may also
  use the bounded JSON loader and the SigV4 verifier, since checking a signature is part of
  answering as KMS does;
- transport imports nothing of ours but its own types and the error root;
- local/ and testing/ never import the client's internals (_client, _pipeline);
- failover/ and cli/ use the public API only: no private kms_mrk module outside their own
  package (but ``kms_mrk._json``, the shared bounded reader of untrusted JSON files);
- kms_mrk.waiters is the generic poll engine: nothing of failover/;
- no import cycles between modules (module-level imports).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kms_mrk"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                module = ".".join(base) + (f".{node.module}" if node.module else "")
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _files(*parts: str) -> list[Path]:
    root = PACKAGE.joinpath(*parts)
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n == "kms_mrk" or n.startswith("kms_mrk.")}


def _third_party(names: set[str]) -> set[str]:
    return {
        n.split(".")[0]
        for n in names
        if n and n.split(".")[0] not in STDLIB and not n.startswith("kms_mrk")
    }


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# The generated service facts (kms_mrk._service: target prefix, signing name, Region
# pattern...) are model data like the shapes: every layer may read them.
MODEL_LAYER = (
    "kms_mrk.models",
    "kms_mrk.commands",
    "kms_mrk.errors",
    "kms_mrk.schema",
    "kms_mrk._service",
)


@pytest.mark.parametrize(
    "path",
    _files("models") + _files("commands") + _files("errors") + _files("schema"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_model_layer_imports_only_stdlib_attrs_and_schema(path: Path) -> None:
    names = _imports(path)
    assert _third_party(names) <= {"attrs", "typing_extensions"}, path
    extra = {n for n in _ours(names) if not _allowed(n, (*MODEL_LAYER, "kms_mrk._version"))}
    assert not extra, f"{path.name} imports {sorted(extra)}"


@pytest.mark.parametrize("path", _files("protocol"), ids=lambda p: p.name)
def test_protocol_imports_the_model_layer_and_transport_types(path: Path) -> None:
    names = _imports(path)
    assert not _third_party(names) - {"attrs"}
    allowed: tuple[str, ...] = (*MODEL_LAYER, "kms_mrk.protocol", "kms_mrk.transport._types")
    if path.name == "_service.py":
        allowed = (*allowed, "kms_mrk._json", "kms_mrk.auth._sigv4")
    extra = {n for n in _ours(names) if not _allowed(n, allowed)}
    assert not extra, f"{path.name} imports {sorted(extra)}"


@pytest.mark.parametrize("path", _files("transport"), ids=lambda p: p.name)
def test_transport_imports_only_its_own_types_and_the_error_root(path: Path) -> None:
    allowed = ("kms_mrk.transport", "kms_mrk.errors._base", "kms_mrk._service", "kms_mrk._url")
    extra = {n for n in _ours(_imports(path)) if not _allowed(n, allowed)}
    assert not extra, f"{path.name} imports {sorted(extra)}"


@pytest.mark.parametrize("path", _files("local") + _files("testing"), ids=lambda p: p.name)
def test_local_and_testing_never_reach_into_the_client(path: Path) -> None:
    forbidden = ("kms_mrk._client", "kms_mrk._pipeline")
    bad = {n for n in _ours(_imports(path)) if _allowed(n, forbidden)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _files("failover") + _files("cli"), ids=lambda p: p.name)
def test_failover_and_cli_use_the_public_api_only(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0]
    bad = set()
    for name in _ours(_imports(path)):
        parts = name.split(".")
        if parts[1:2] == [own]:
            continue  # its own package's private modules
        if name == "kms_mrk._json" or name.startswith("kms_mrk._json."):
            continue  # the shared bounded JSON reader for untrusted files
        if name == "kms_mrk._service" or name.startswith("kms_mrk._service."):
            continue  # the generated service facts (Region pattern...)
        if any(p.startswith("_") and p != "__future__" for p in parts[1:]):
            bad.add(name)
    assert not bad, f"{path.name} imports private names {sorted(bad)}"


def test_the_checks_see_imports_inside_functions() -> None:
    names = _imports(PACKAGE / "_family.py")
    assert "kms_mrk._config" in names  # imported lazily inside resolve_options


# --------------------------------------------------------------------------- waiters


def test_the_waiters_module_is_the_generic_engine_only() -> None:
    """kms_mrk.waiters knows nothing of keys or Regions: no failover import, even lazily,
    nothing of ours beyond the error root."""
    names = _ours(_imports(PACKAGE / "waiters.py"))
    assert not {n for n in names if _allowed(n, ("kms_mrk.failover",))}, names
    assert not {n for n in names if not _allowed(n, ("kms_mrk.errors._base",))}, names


def test_the_multi_region_waiters_live_in_the_failover_package() -> None:
    import kms_mrk
    import kms_mrk.failover

    waiters = ("wait_for_primary_region", "wait_for_replica_created", "wait_for_pending_deletion")
    for name in waiters:
        assert kms_mrk._HAND_WRITTEN[name] == "kms_mrk.failover"
        assert getattr(kms_mrk, name).__module__ == "kms_mrk.failover._waiters"
        assert getattr(kms_mrk.failover, name) is getattr(kms_mrk, name)


# --------------------------------------------------------------------------- import cycles


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of ours that ``path`` imports when it is imported: statements at module
    level (also inside a top-level ``try``/``with``/``if``), not under ``if TYPE_CHECKING``,
    not inside functions or classes. ``from package import name`` counts as importing the
    submodule ``package.name`` when there is one, else the package."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    if path.name != "__init__.py" and path.parent == PACKAGE:
        package = "kms_mrk"
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join(base) + (f".{node.module}" if node.module else "")
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    found.add(sub if sub in modules else module)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {n for n in found if n in modules}


def _import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    modules = set(paths)
    return {name: _top_level_imports(path, modules) - {name} for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_module_level_imports_only() -> None:
    graph = _import_graph()
    assert "kms_mrk.cli._types" in graph["kms_mrk.cli._commands"]
    assert "kms_mrk.failover._waiters" not in graph["kms_mrk"]  # TYPE_CHECKING only
    assert "kms_mrk.cli._commands" not in graph["kms_mrk.cli._app"]  # function-local


def test_no_import_cycles_between_modules() -> None:
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles (module level): " + "; ".join(" <-> ".join(c) for c in cycles)
