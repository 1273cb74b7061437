"""The generated model: completeness, exports, round trips, sensitivity, regeneration."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kms_mrk
import kms_mrk.commands
import kms_mrk.errors
import kms_mrk.models
from codegen.generate import GENERATED_MARK, generate
from codegen.vendor import PAGINATORS_FILE, SERVICE_FILE, SOURCE_FILE
from kms_mrk.errors import (
    KMSServiceException,
    ParamValidationError,
    ResponseMetadata,
    ResponseParseError,
    ServiceException,
    TransportError,
    ValidationProblem,
)
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
    assert source["botocore_version"].startswith("1.")
    assert "documentation" not in SERVICE_FILE.read_text()
    for key, vendored in (("service", SERVICE_FILE), ("paginators", PAGINATORS_FILE)):
        record = source[key]
        assert set(record) == {
            "shipped_path",
            "shipped_sha256",
            "decompressed_sha256",
            "vendored_sha256",
        }
        assert record["vendored_sha256"] == hashlib.sha256(vendored.read_bytes()).hexdigest()
    # botocore ships the service model gzip-compressed: both hashes are recorded, and told apart.
    assert source["service"]["shipped_path"].endswith("service-2.json.gz")
    assert source["service"]["shipped_sha256"] != source["service"]["decompressed_sha256"]
    assert "shipped_sha256" in source["hashes"] and "decompressed_sha256" in source["hashes"]


def test_recorded_hashes_match_the_installed_botocore_when_it_is_the_recorded_version() -> None:
    botocore = pytest.importorskip("botocore")
    source = json.loads(SOURCE_FILE.read_text())
    if botocore.__version__ != source["botocore_version"]:
        pytest.skip(f"installed botocore {botocore.__version__} is not the recorded one")
    site = Path(botocore.__file__).resolve().parent.parent
    for key in ("service", "paginators"):
        record = source[key]
        shipped = (site / record["shipped_path"]).read_bytes()
        assert hashlib.sha256(shipped).hexdigest() == record["shipped_sha256"]
        text = gzip.decompress(shipped) if record["shipped_path"].endswith(".gz") else shipped
        assert hashlib.sha256(text).hexdigest() == record["decompressed_sha256"]


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


def _all_commands() -> list[type[Shape]]:
    return [
        getattr(kms_mrk.commands, name) for name in sorted(kms_mrk.commands.OPERATIONS.values())
    ]


@pytest.mark.parametrize("cls", _all_model_classes() + _all_commands(), ids=lambda c: c.__name__)
@settings(max_examples=10)
@given(data=st.data())
def test_to_dict_from_dict_round_trip(cls: type[Shape], data: st.DataObject) -> None:
    value = data.draw(values(cls.__schema__).map(lambda v: cls(**attrs.asdict(v, recurse=False))))
    assert type(value) is cls
    again = cls.from_dict(value.to_dict())
    assert type(again) is cls
    assert again == value


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


# -- errors: names, modules, pickling, retryable ----------------------------------------------


def test_command_from_dict_errors_name_the_operation() -> None:
    with pytest.raises(ParamValidationError) as info:
        kms_mrk.UpdatePrimaryRegionCommand.from_dict({"KeyId": "mrk-1"})
    assert info.value.operation == "UpdatePrimaryRegion"
    assert str(info.value).startswith("Invalid UpdatePrimaryRegion input, 1 problem:")
    # A shape that is not a command still names itself.
    with pytest.raises(ParamValidationError, match=r"^Invalid Tag input"):
        kms_mrk.Tag.from_dict({"TagKey": "a"})


def _public_exception_classes() -> list[type[BaseException]]:
    out = []
    for name in kms_mrk.errors.__all__:
        obj = getattr(kms_mrk.errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            out.append(obj)
    return out


def test_public_exceptions_present_themselves_as_kms_mrk_errors() -> None:
    classes = _public_exception_classes()
    assert len(classes) > 48 + 14
    for cls in classes:
        assert cls.__module__ == "kms_mrk.errors", cls
        assert getattr(kms_mrk.errors, cls.__qualname__) is cls
    error = ParamValidationError("CreateKey", [ValidationProblem("Tags[0].TagKey", "missing")])
    import traceback

    text = "".join(traceback.format_exception_only(type(error), error))
    assert text.startswith("kms_mrk.errors.ParamValidationError: Invalid CreateKey input")


def _sample(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, ServiceException):
        return cls(
            "the message",
            code="SomeCode" if cls in (ServiceException, KMSServiceException) else None,
            http_status=400,
            request_id="rid-1",
            headers={"x-amzn-requestid": "rid-1"},
        )
    if issubclass(cls, ParamValidationError):
        return cls("CreateKey", [ValidationProblem("Tags[0].TagKey", "required member is missing")])
    if issubclass(cls, TransportError):
        return cls("kms.us-east-1.amazonaws.com", "connection reset")
    if issubclass(cls, ResponseParseError):
        return cls("not JSON", http_status=502, request_id="rid-2", body=b"<html>", operation="X")
    return cls("something went wrong")


@pytest.mark.parametrize("cls", _public_exception_classes(), ids=lambda c: c.__name__)
def test_public_exceptions_pickle_faithfully(cls: type[BaseException]) -> None:
    error = _sample(cls)
    error.metadata = ResponseMetadata(request_id="rid-1", attempts=3)  # type: ignore[attr-defined]
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls
    assert str(again) == str(error)
    assert again.args == error.args
    assert again.metadata == error.metadata  # type: ignore[attr-defined]
    for attr in (
        "operation",
        "problems",
        "host",
        "detail",
        "phase",
        "reason",
        "http_status",
        "request_id",
        "body_excerpt",
        "code",
        "message",
        "headers",
        "fault",
        "retryable",
    ):
        assert getattr(again, attr, None) == getattr(error, attr, None), attr


def test_throttling_is_retryable() -> None:
    assert kms_mrk.ThrottlingException.retryable is True
    assert kms_mrk.ThrottlingException.fault == "client"


def test_the_docs_list_exactly_the_retryable_errors() -> None:
    text = (REPO / "docs" / "commands-and-errors.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `retryable`"))
    documented = set(re.findall(r"\b([A-Z][A-Za-z]+(?:Exception|Failure))\b", row))
    retryable = {cls.__name__ for cls in kms_mrk.errors.ERRORS_BY_CODE.values() if cls.retryable}
    assert documented == retryable
