"""Client-side validation: every rule, every problem at once, wire-name paths."""

from __future__ import annotations

import datetime as dt

import pytest

import kms_mrk
from kms_mrk._validation import check, validate
from kms_mrk.errors import ParamValidationError


def _problems(command: kms_mrk.Shape) -> dict[str, str]:
    return {p.path: p.rule for p in validate(command.__schema__, command)}


def test_valid_command_has_no_problems() -> None:
    command = kms_mrk.UpdatePrimaryRegionCommand(key_id="mrk-1", primary_region="eu-central-1")
    assert validate(command.__schema__, command) == []
    check(command)


def test_required_members_types_lengths_and_ranges_reported_together() -> None:
    command = kms_mrk.CreateKeyCommand(
        description="x" * 8193,
        tags=[
            kms_mrk.Tag(tag_key="a", tag_value="b"),
            kms_mrk.Tag(tag_key="", tag_value="b"),
            kms_mrk.Tag(tag_key=None, tag_value="c"),  # type: ignore[arg-type]
        ],
        multi_region="yes",  # type: ignore[arg-type]
    )
    problems = _problems(command)
    assert problems["Description"] == "length 8193 is above the maximum of 8192"
    assert problems["Tags[1].TagKey"] == "length 0 is below the minimum of 1"
    assert problems["Tags[2].TagKey"] == "required member is missing"
    assert problems["MultiRegion"] == "expected bool, got str"
    with pytest.raises(ParamValidationError) as info:
        check(command, "CreateKey")
    assert len(info.value.problems) == 4
    assert str(info.value).startswith("Invalid CreateKey input, 4 problems:")


def test_numeric_ranges_and_list_sizes() -> None:
    problems = _problems(kms_mrk.GenerateRandomCommand(number_of_bytes=0))
    assert problems == {"NumberOfBytes": "value 0 is below the minimum of 1"}
    problems = _problems(kms_mrk.ListKeysCommand(limit=1001))
    assert problems == {"Limit": "value 1001 is above the maximum of 1000"}
    tokens = [f"t{i}" for i in range(11)]
    problems = _problems(kms_mrk.DescribeKeyCommand(key_id="k", grant_tokens=tokens))
    assert problems == {"GrantTokens": "number of items 11 is above the maximum of 10"}
    problems = _problems(kms_mrk.GenerateRandomCommand(number_of_bytes=True))
    assert problems == {"NumberOfBytes": "expected int, got bool"}


def test_blob_length_counts_bytes_and_accepts_text() -> None:
    assert _problems(kms_mrk.EncryptCommand(key_id="k", plaintext=b"")) == {
        "Plaintext": "length in bytes 0 is below the minimum of 1"
    }
    assert _problems(kms_mrk.EncryptCommand(key_id="k", plaintext="é" * 2049)) == {  # type: ignore[arg-type]
        "Plaintext": "length in bytes 4098 is above the maximum of 4096"
    }
    assert _problems(kms_mrk.EncryptCommand(key_id="k", plaintext=12)) == {  # type: ignore[arg-type]
        "Plaintext": "expected bytes, got int"
    }


def test_nested_structure_type_and_map_values() -> None:
    command = kms_mrk.CreateKeyCommand(tags=[{"TagKey": "a", "TagValue": "b"}])  # type: ignore[list-item]
    assert _problems(command) == {"Tags[0]": "expected Tag, got dict"}
    encrypt = kms_mrk.EncryptCommand(
        key_id="k",
        plaintext=b"x",
        encryption_context={"a": 1},  # type: ignore[dict-item]
    )
    assert _problems(encrypt) == {"EncryptionContext['a']": "expected str, got int"}


def test_timestamps_must_be_aware() -> None:
    naive = kms_mrk.ImportKeyMaterialCommand(
        key_id="k",
        import_token=b"t",
        encrypted_key_material=b"m",
        valid_to=dt.datetime(2030, 1, 1),
    )
    assert "timezone-aware" in _problems(naive)["ValidTo"]
    aware = kms_mrk.ImportKeyMaterialCommand(
        key_id="k",
        import_token=b"t",
        encrypted_key_material=b"m",
        valid_to=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
    )
    assert _problems(aware) == {}


def test_enums_accept_values_the_model_does_not_know() -> None:
    command = kms_mrk.CreateKeyCommand(key_spec="ML_KEM_2048_FUTURE")
    assert _problems(command) == {}


def test_patterns_are_not_enforced_client_side() -> None:
    command = kms_mrk.UpdatePrimaryRegionCommand(key_id="k", primary_region="Not A Region")
    assert _problems(command) == {}


def _import(valid_to: object) -> kms_mrk.ImportKeyMaterialCommand:
    return kms_mrk.ImportKeyMaterialCommand(
        key_id="k",
        import_token=b"t",
        encrypted_key_material=b"m",
        valid_to=valid_to,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "valid_to",
    [float("nan"), float("inf"), float("-inf"), 1e20, -1e20, 253402300800, -62135596801, 10**30],
)
def test_timestamps_must_be_finite_and_in_range(valid_to: float) -> None:
    problems = _problems(_import(valid_to))
    assert list(problems) == ["ValidTo"]
    assert "epoch seconds must be a finite number between years 1 and 9999" in problems["ValidTo"]


@pytest.mark.parametrize("valid_to", [0, 1.5, 253402300799, -62135596800, 1893456000.25])
def test_epoch_seconds_in_range_are_accepted(valid_to: float) -> None:
    assert _problems(_import(valid_to)) == {}


def test_aware_datetimes_that_leave_the_range_in_utc_are_rejected() -> None:
    plus_five = dt.timezone(dt.timedelta(hours=5))
    problems = _problems(_import(dt.datetime(1, 1, 1, tzinfo=plus_five)))
    assert problems == {"ValidTo": "0001-01-01T00:00:00+05:00 is out of range in UTC"}
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    assert "ValidTo" in _problems(_import(dt.datetime(9999, 12, 31, 23, tzinfo=minus_five)))


class _CountingTransport:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, request: kms_mrk.HttpRequest) -> kms_mrk.HttpResponse:
        self.sent += 1
        return kms_mrk.HttpResponse(200, {}, b"{}")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("valid_to", [float("nan"), float("inf"), 1e20])
def test_client_rejects_bad_timestamps_before_any_io(valid_to: float) -> None:
    transport = _CountingTransport()
    client = kms_mrk.KMSClient(
        "us-east-1",
        credentials=kms_mrk.Credentials("AKIDEXAMPLE", "not-a-real-secret"),
        transport=transport,
        environ={},
        sleep=lambda _s: None,
    )
    with client, pytest.raises(ParamValidationError) as info:
        client.send(_import(valid_to))
    assert transport.sent == 0
    assert [p.path for p in info.value.problems] == ["ValidTo"]
    assert str(info.value).startswith("Invalid ImportKeyMaterial input, 1 problem:")


@pytest.mark.parametrize("valid_to", [float("nan"), float("inf"), 1e20])
def test_from_dict_rejects_bad_epoch_seconds_naming_the_member(valid_to: float) -> None:
    with pytest.raises(ParamValidationError) as info:
        kms_mrk.ImportKeyMaterialCommand.from_dict(
            {"KeyId": "k", "ImportToken": b"t", "EncryptedKeyMaterial": b"m", "ValidTo": valid_to}
        )
    assert [p.path for p in info.value.problems] == ["ValidTo"]
