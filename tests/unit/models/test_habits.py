"""Habits from the JavaScript SDK and boto3 get errors that say what to write instead.

- ``UpdatePrimaryRegionCommand(KeyId=..., PrimaryRegion=...)`` (wire names, as the JavaScript
  SDK's input objects spell them) names ``key_id`` and ``from_dict``;
- ``response["KeyMetadata"]`` (a boto3 dict) names ``response.key_metadata`` and ``to_dict()``;
- ``from_dict`` reports every problem at once, types and constraints included, as ``send``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kms_mrk
from kms_mrk import (
    CreateKeyCommand,
    DescribeKeyResponse,
    KeyMetadata,
    ParamValidationError,
    Tag,
    UpdatePrimaryRegionCommand,
    UpdatePrimaryRegionResponse,
)
from kms_mrk.schema import REQUIRED

REPO = Path(__file__).resolve().parents[3]


# -- constructors ---------------------------------------------------------------------------


def test_wire_names_as_keywords_name_the_python_keywords_and_from_dict() -> None:
    with pytest.raises(TypeError) as info:
        UpdatePrimaryRegionCommand(KeyId="mrk-1", PrimaryRegion="eu-west-1")  # type: ignore[call-arg]
    text = str(info.value)
    assert "KeyId -> key_id, PrimaryRegion -> primary_region" in text
    assert "UpdatePrimaryRegionCommand(key_id=..., primary_region=...)" in text
    assert 'UpdatePrimaryRegionCommand.from_dict({"KeyId": ..., "PrimaryRegion": ...})' in text
    assert "missing" not in text  # the wire names stand for the required members


def test_lower_camel_case_is_recognised_too() -> None:
    with pytest.raises(TypeError, match=r"keyId -> key_id"):
        UpdatePrimaryRegionCommand(keyId="mrk-1", primary_region="eu-west-1")  # type: ignore[call-arg]


def test_a_typo_gets_a_suggestion_and_the_keyword_list() -> None:
    with pytest.raises(TypeError) as info:
        UpdatePrimaryRegionCommand(key_idd="mrk-1", primary_region="eu-west-1")  # type: ignore[call-arg]
    text = str(info.value)
    assert "unexpected keyword argument 'key_idd' (did you mean 'key_id'?)" in text
    assert "missing the required keyword argument key_id" in text
    assert "Its keywords: key_id, primary_region." in text


def test_missing_required_members_are_named() -> None:
    with pytest.raises(TypeError, match=r"missing the required keyword argument primary_region\."):
        UpdatePrimaryRegionCommand(key_id="mrk-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"arguments key_id, primary_region\."):
        UpdatePrimaryRegionCommand()  # type: ignore[call-arg]


def test_shapes_without_members_and_nested_shapes() -> None:
    with pytest.raises(TypeError, match=r"UpdatePrimaryRegionResponse\(\) takes no arguments"):
        UpdatePrimaryRegionResponse(Foo=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"TagKey -> tag_key, TagValue -> tag_value"):
        Tag(TagKey="a", TagValue="b")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        KeyMetadata("positional")  # type: ignore[misc]


def test_the_happy_path_is_unchanged() -> None:
    command = UpdatePrimaryRegionCommand(key_id="mrk-1", primary_region="eu-west-1")
    assert command.key_id == "mrk-1"
    assert command.primary_region == "eu-west-1"
    assert KeyMetadata(key_id="k").description is None
    assert UpdatePrimaryRegionResponse() == UpdatePrimaryRegionResponse()
    assert repr(REQUIRED) == "<required>"


@pytest.mark.parametrize(
    "name", [n for n in kms_mrk.__all__ if n.endswith("Command") and n != "Command"]
)
def test_every_command_explains_wire_names(name: str) -> None:
    cls = getattr(kms_mrk, name)
    members = cls.__schema__.members
    if not members:
        pytest.skip(f"{name} has no input members")
    member = members[0]
    with pytest.raises(TypeError) as info:
        cls(**{member.name: "x"})
    assert f"{member.name} -> {member.py_name}" in str(info.value)
    assert f"{name}.from_dict(" in str(info.value)


# -- subscripting ---------------------------------------------------------------------------


def test_indexing_a_response_names_the_attribute_and_to_dict() -> None:
    response = DescribeKeyResponse(key_metadata=KeyMetadata(key_id="k"))
    with pytest.raises(TypeError) as info:
        response["KeyMetadata"]  # type: ignore[index]
    text = str(info.value)
    assert "response.key_metadata" in text
    assert "response.to_dict()" in text
    assert response.to_dict()["KeyMetadata"] == {"KeyId": "k"}


def test_get_and_unknown_keys() -> None:
    response = DescribeKeyResponse()
    with pytest.raises(TypeError, match=r"response\.key_metadata"):
        response.get("KeyMetadata")  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"read its attributes \(aws_account_id, key_id,"):
        KeyMetadata(key_id="k")["Nope"]  # type: ignore[index]
    with pytest.raises(TypeError, match=r"value\.key_id"):
        KeyMetadata(key_id="k")["key_id"]  # type: ignore[index]


def test_type_checkers_still_refuse_the_habits(tmp_path: Path) -> None:
    sample = tmp_path / "habits.py"
    sample.write_text(
        "from kms_mrk import DescribeKeyResponse, UpdatePrimaryRegionCommand\n"
        'UpdatePrimaryRegionCommand(KeyId="k", PrimaryRegion="eu-west-1")\n'
        'DescribeKeyResponse()["KeyMetadata"]\n'
        'UpdatePrimaryRegionCommand(key_id="k", primary_region="eu-west-1")\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(REPO / ".mypy_cache"),
            sample,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert 'Unexpected keyword argument "KeyId"' in out, out
    assert "habits.py:3: error" in out and "not indexable" in out, out
    assert "habits.py:4" not in out, out


# -- from_dict ------------------------------------------------------------------------------


def test_from_dict_reports_types_and_constraints_with_the_rest() -> None:
    with pytest.raises(ParamValidationError) as info:
        UpdatePrimaryRegionCommand.from_dict({"KeyId": "", "PrimaryRegion": 5})
    assert [str(p) for p in info.value.problems] == [
        "KeyId: length 0 is below the minimum of 1",
        "PrimaryRegion: expected str, got int",
    ]
    assert info.value.operation == "UpdatePrimaryRegion"


def test_from_dict_reports_every_kind_of_problem_at_once() -> None:
    with pytest.raises(ParamValidationError) as info:
        CreateKeyCommand.from_dict(
            {
                "KeyUsag": "ENCRYPT_DECRYPT",
                "Tags": [{"TagKey": ""}, None],
                "MultiRegion": "yes",
                "Description": "x" * 9000,
            }
        )
    problems = {p.path: p.rule for p in info.value.problems}
    assert problems == {
        "KeyUsag": "unknown member of CreateKeyRequest (did you mean 'KeyUsage'?)",
        "Tags[1]": "None is not allowed in this list",
        "Tags[0].TagKey": "length 0 is below the minimum of 1",
        "Tags[0].TagValue": "required member is missing",
        "MultiRegion": "expected bool, got str",
        "Description": "length 9000 is above the maximum of 8192",
    }


def test_from_dict_agrees_with_send_on_what_is_valid() -> None:
    # The same problems as the client's validation, which send() runs before any I/O.
    from kms_mrk._validation import validate

    built = CreateKeyCommand(key_usage="ENCRYPT_DECRYPT", tags=[Tag(tag_key="", tag_value="v")])
    with pytest.raises(ParamValidationError) as info:
        CreateKeyCommand.from_dict(built.to_dict())
    assert info.value.problems == tuple(validate(CreateKeyCommand.__schema__, built))


@given(
    key_id=st.one_of(st.text(max_size=2100), st.integers(), st.none(), st.binary(max_size=4)),
    region=st.one_of(st.text(max_size=40), st.integers(), st.floats()),
)
def test_from_dict_accepts_exactly_what_validation_accepts(key_id: Any, region: Any) -> None:
    from kms_mrk._validation import validate

    data = {"KeyId": key_id, "PrimaryRegion": region}
    try:
        command = UpdatePrimaryRegionCommand.from_dict(data)
    except ParamValidationError as error:
        assert error.problems
        return
    assert validate(UpdatePrimaryRegionCommand.__schema__, command) == []
    assert isinstance(command.key_id, str) and 1 <= len(command.key_id) <= 2048
