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
  package.
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


MODEL_LAYER = ("kms_mrk.models", "kms_mrk.commands", "kms_mrk.errors", "kms_mrk.schema")


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
    allowed = ("kms_mrk.transport", "kms_mrk.errors._base")
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
        if any(p.startswith("_") and p != "__future__" for p in parts[1:]):
            bad.add(name)
    assert not bad, f"{path.name} imports private names {sorted(bad)}"


def test_the_checks_see_imports_inside_functions() -> None:
    names = _imports(PACKAGE / "_client.py")
    assert "kms_mrk._config" in names  # imported lazily inside KMSClient.__init__
