"""The generated model: completeness, exports, round trips, sensitivity, regeneration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kms_mrk
import kms_mrk.commands
import kms_mrk.models
from codegen.generate import GENERATED_MARK, generate
from codegen.vendor import SERVICE_FILE, SOURCE_FILE
from kms_mrk.errors import KMSServiceException, ParamValidationError
from kms_mrk.schema import Command, Response, Schema, Shape, StrEnum
from tests._strategies import values

REPO = Path(__file__).resolve().parents[3]
MODEL = json.loads(SERVICE_FILE.read_text())
ERROR_NAMES = sorted(n for n, s in MODEL["shapes"].items() if s.get("exception"))


def _all_model_classes() -> list[type[Shape]]:
    out = []
    for name in kms_mrk.models.__all__:
        obj = getattr(kms_mrk.models, name)
        if isinstance(obj, type) and issubclass(obj, Shape) and not issubclass(obj, Command):
            out.append(obj)
    return out


def test_model_is_vendored_from_a_recorded_botocore() -> None:
    source = json.loads(SOURCE_FILE.read_text())
    assert source["operations"] == 56
    assert len(source["service"]["sha256"]) == 64
    assert source["botocore_version"].startswith("1.")
    assert "documentation" not in SERVICE_FILE.read_text()


def test_every_operation_has_a_command_exported_from_the_package_root() -> None:
    assert len(MODEL["operations"]) == 56
    for op, spec in MODEL["operations"].items():
        cls = getattr(kms_mrk, f"{op}Command")
        assert issubclass(cls, Command)
        assert cls.operation_name == op
        assert cls.input_type.__name__ == spec["input"]["shape"]
        assert issubclass(cls.output_type, Response)
        assert {e.__name__ for e in cls.errors} == {e["shape"] for e in spec.get("errors", [])}
        assert cls.documentation_url.endswith(f"API_{op}.html")
        assert cls.__doc__ and "docs.aws.amazon.com/kms/latest/APIReference" in cls.__doc__


def test_all_48_modeled_exceptions_are_exported() -> None:
    assert len(ERROR_NAMES) == 48
    for name in ERROR_NAMES:
        cls = getattr(kms_mrk, name)
        assert issubclass(cls, KMSServiceException)
        assert cls.code == name
        assert cls.fault in ("client", "server")
    assert kms_mrk.KMSInternalException.fault == "server"
    assert kms_mrk.DependencyTimeoutException.fault == "server"
    assert kms_mrk.KMSInternalException.retryable is True
    assert kms_mrk.NotFoundException.fault == "client"
    assert kms_mrk.NotFoundException.retryable is False
    assert kms_mrk.LimitExceededException.retryable is False


def test_package_root_exports_everything_it_lists() -> None:
    for name in kms_mrk.__all__:
        assert getattr(kms_mrk, name) is not None, name
    with pytest.raises(AttributeError):
        _ = kms_mrk.NoSuchThing  # type: ignore[attr-defined]


def test_paginated_operations_carry_paginator_info() -> None:
    paged = {
        op for op in MODEL["operations"] if getattr(kms_mrk, f"{op}Command").paginator is not None
    }
    assert {"ListKeys", "ListAliases", "ListGrants", "ListResourceTags"} <= paged
    info = kms_mrk.ListKeysCommand.paginator
    assert info is not None
    assert (info.input_token, info.output_token, info.result_key) == (
        "Marker",
        "NextMarker",
        "Keys",
    )
    assert kms_mrk.DescribeKeyCommand.paginator is None


def test_structures_are_frozen_slotted_attrs_classes_with_keyword_fields() -> None:
    classes = _all_model_classes()
    assert len(classes) > 100
    for cls in classes:
        assert attrs.has(cls), cls
        assert not hasattr(cls, "__dict__") or "__slots__" in cls.__dict__
    metadata = kms_mrk.KeyMetadata(key_id="k")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        metadata.key_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        kms_mrk.KeyMetadata("positional")  # type: ignore[misc]
    assert attrs.evolve(metadata, description="d").description == "d"


def test_keyword_and_wire_name_construction_agree() -> None:
    by_keyword = kms_mrk.UpdatePrimaryRegionCommand(key_id="mrk-1", primary_region="eu-central-1")
    by_wire = kms_mrk.UpdatePrimaryRegionCommand.from_dict(
        {"KeyId": "mrk-1", "PrimaryRegion": "eu-central-1"}
    )
    assert by_keyword == by_wire
    assert by_keyword.to_dict() == {"KeyId": "mrk-1", "PrimaryRegion": "eu-central-1"}


def test_from_dict_reports_every_problem_with_hints() -> None:
    with pytest.raises(ParamValidationError) as info:
        kms_mrk.CreateKeyCommand.from_dict(
            {"KeyUsag": "ENCRYPT_DECRYPT", "Tags": [{"TagKey": "a"}, {"TagValue": "b"}]}
        )
    text = str(info.value)
    assert "KeyUsag: unknown member of CreateKeyRequest (did you mean 'KeyUsage'?)" in text
    assert "Tags[0].TagValue: required member is missing" in text
    assert "Tags[1].TagKey: required member is missing" in text
    assert len(info.value.problems) == 3


def test_enums_keep_unknown_values_as_strings() -> None:
    metadata = kms_mrk.KeyMetadata.from_dict({"KeyId": "k", "KeyState": "Hibernating"})
    assert metadata.key_state == "Hibernating"
    assert not isinstance(metadata.key_state, StrEnum)
    known = kms_mrk.KeyMetadata.from_dict({"KeyId": "k", "KeyState": "Enabled"})
    assert known.key_state is kms_mrk.KeyState.ENABLED
    assert str(kms_mrk.KeyState.PENDING_REPLICA_DELETION) == "PendingReplicaDeletion"
    assert f"{kms_mrk.KeyState.UPDATING}" == "Updating"
    assert kms_mrk.KeyState.UPDATING == "Updating"


@pytest.mark.parametrize("cls", _all_model_classes(), ids=lambda c: c.__name__)
@settings(max_examples=10)
@given(data=st.data())
def test_to_dict_from_dict_round_trip(cls: type[Shape], data: st.DataObject) -> None:
    value = data.draw(values(cls.__schema__))
    assert cls.from_dict(value.to_dict()) == value


def _sensitive_members() -> list[tuple[type[Shape], str, str]]:
    out = []
    for cls in _all_model_classes():
        for member in cls.__schema__.members:
            if member.sensitive:
                out.append((cls, member.name, member.py_name))
    return out


def test_sensitive_members_are_the_models() -> None:
    found = {(cls.__name__, wire) for cls, wire, _ in _sensitive_members()}
    expected = set()
    sensitive_shapes = {n for n, s in MODEL["shapes"].items() if s.get("sensitive")}
    for name, shape in MODEL["shapes"].items():
        for member, spec in shape.get("members", {}).items():
            if spec["shape"] in sensitive_shapes or spec.get("sensitive"):
                expected.add((name, member))
    assert found == expected
    assert ("DecryptResponse", "Plaintext") in found
    assert ("GenerateDataKeyPairResponse", "PrivateKeyPlaintext") in found


@pytest.mark.parametrize(
    ("cls", "wire", "py_name"), _sensitive_members(), ids=lambda x: getattr(x, "__name__", x)
)
def test_sensitive_member_never_shows_in_repr_or_str(
    cls: type[Shape], wire: str, py_name: str
) -> None:
    secret = "S3cr3t-Value-Do-Not-Print"
    schema = cls.__schema__
    kwargs: dict[str, Any] = {}
    for member in schema.members:
        if member.py_name == py_name:
            kwargs[member.py_name] = _filler(member.target, secret)
        elif member.required:
            kwargs[member.py_name] = _filler(member.target, "x")
    value = cls(**kwargs)
    for text in (repr(value), str(value), f"{value}", repr([value])):
        assert secret not in text
        assert secret.encode().hex() not in text
        assert f"{py_name}=***" in text


def _filler(schema: Schema, secret: str) -> Any:
    if schema.type == "blob":
        return secret.encode()
    if schema.type == "string":
        return secret
    if schema.type == "structure":
        assert schema.py_type is not None
        return schema.py_type(
            **{m.py_name: _filler(m.target, secret) for m in schema.members if m.required}
        )
    raise AssertionError(schema.type)


def test_regenerating_into_a_temporary_folder_matches_the_committed_files(
    tmp_path: Path,
) -> None:
    files = generate(tmp_path)
    assert len(files) > 60
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    stale = []
    for path in files:
        committed = REPO / path.relative_to(tmp_path)
        if not committed.exists() or committed.read_text() != path.read_text():
            stale.append(str(committed.relative_to(REPO)))
    assert not stale, f"regenerate with `python -m codegen`: {stale}"


def test_generated_files_are_marked_and_hand_written_ones_are_not() -> None:
    generated = set(generate(REPO))
    for path in (REPO / "kms_mrk").rglob("*.py"):
        marked = GENERATED_MARK in path.read_text().split("\n", 2)[0]
        assert marked == (path in generated), path
