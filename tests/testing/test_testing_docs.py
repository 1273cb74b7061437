"""docs/testing.md's API reference names every public name of the toolkit."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import kms_mrk.testing as toolkit
from kms_mrk.testing import KmsMock, MockTransport, RecordedCall, Stub

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def api_reference() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## API reference")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def public(cls: type) -> list[str]:
    return sorted(name for name in vars(cls) if not name.startswith("_"))


def instance_attributes(cls: type) -> list[str]:
    """Public attributes set in ``__init__`` (``self.name = ...``)."""
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    names = {
        line.split("self.", 1)[1].split(" ", 1)[0].split(":", 1)[0]
        for line in source.splitlines()
        if line.strip().startswith("self.") and "=" in line
    }
    return sorted(n for n in names if not n.startswith("_"))


@pytest.mark.parametrize("name", toolkit.__all__)
def test_every_exported_name_is_in_the_reference(name: str) -> None:
    assert f"`{name}" in api_reference()


def rows(prefix: str) -> str:
    """The reference table's rows that start with ``prefix`` (e.g. ```KmsMock``)."""
    return "\n".join(
        line for line in api_reference().splitlines() if line.startswith(f"| {prefix}")
    )


def named(name: str, text: str) -> bool:
    return re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", text) is not None


@pytest.mark.parametrize(
    "name",
    [*public(KmsMock), *instance_attributes(KmsMock)],
)
def test_every_member_of_kms_mock_is_in_the_reference(name: str) -> None:
    assert named(name, rows("`KmsMock")), f"KmsMock.{name} is missing from the API reference"


@pytest.mark.parametrize("name", public(Stub))
def test_every_member_of_stub_is_in_the_reference(name: str) -> None:
    assert named(name, rows("`Stub")), f"Stub.{name} is missing from the API reference"


@pytest.mark.parametrize("name", [*instance_attributes(MockTransport), "close"])
def test_every_member_of_mock_transport_is_in_the_reference(name: str) -> None:
    assert named(name, rows("`MockTransport")), f"MockTransport.{name} is missing"


@pytest.mark.parametrize("name", [*public(RecordedCall), *RecordedCall.__annotations__])
def test_every_member_of_recorded_call_is_documented(name: str) -> None:
    assert named(f"`{name}`", DOC.read_text(encoding="utf-8"))
