"""KmsMock stubs: matching, answers, sequences, fakes, rules, Regions, and stub-time checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import pytest

from kms_mrk import (
    AccessDeniedException,
    DecryptCommand,
    DescribeKeyCommand,
    DescribeKeyRequest,
    DescribeKeyResponse,
    DisabledException,
    EncryptCommand,
    EncryptResponse,
    ImportKeyMaterialCommand,
    KeyMetadata,
    KeyState,
    KMSInternalException,
    KMSServiceException,
    ListAliasesCommand,
    NotFoundException,
    ParamValidationError,
    ServiceException,
    ThrottlingException,
    UpdatePrimaryRegionCommand,
)
from kms_mrk.schema import Command
from kms_mrk.testing import InvalidStubError, KmsMock, UnmatchedRequestError, service_error
from tests.testing._helpers import KEY_ARN, KEY_ID

METADATA = {"KeyMetadata": {"KeyId": KEY_ID, "Arn": KEY_ARN, "KeyState": "Enabled"}}


@pytest.fixture
def mock() -> KmsMock:
    return KmsMock()


# -- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected",
    [
        {"KeyId": "alias/app"},
        {"key_id": "alias/app"},
        DescribeKeyCommand(key_id="alias/app"),
        DescribeKeyRequest(key_id="alias/app"),
    ],
    ids=["wire", "python", "command", "request"],
)
def test_input_in_every_form_matches(mock: KmsMock, expected: Any) -> None:
    mock.on(DescribeKeyCommand, expected).resolves(METADATA)
    assert mock.client.describe_key(key_id="alias/app").key_metadata is not None
    with pytest.raises(UnmatchedRequestError):
        mock.client.describe_key(key_id="alias/other")


def test_a_command_instance_stands_for_class_and_input(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand(key_id="alias/app")).resolves(METADATA)
    assert mock.client.describe_key(key_id="alias/app").key_metadata is not None
    with pytest.raises(InvalidStubError, match="give the input once"):
        mock.on(DescribeKeyCommand(key_id="a"), {"KeyId": "b"})


def test_matching_is_partial_by_default(mock: KmsMock) -> None:
    mock.on(EncryptCommand, {"KeyId": "k"}).resolves({"KeyId": "k", "CiphertextBlob": b"c"})
    output = mock.client.encrypt(key_id="k", plaintext=b"p", encryption_context={"a": "b"})
    assert output.ciphertext_blob == b"c"


def test_partial_matching_applies_to_nested_maps(mock: KmsMock) -> None:
    mock.on(EncryptCommand, {"EncryptionContext": {"tenant": "t1"}}).resolves({"KeyId": "k"})
    mock.client.encrypt(key_id="k", plaintext=b"p", encryption_context={"tenant": "t1", "x": "y"})
    with pytest.raises(UnmatchedRequestError):
        mock.client.encrypt(key_id="k", plaintext=b"p", encryption_context={"tenant": "t2"})


def test_strict_matching_wants_the_whole_input(mock: KmsMock) -> None:
    mock.on(EncryptCommand, {"KeyId": "k", "Plaintext": b"p"}, strict=True).resolves()
    mock.client.encrypt(key_id="k", plaintext=b"p")
    with pytest.raises(UnmatchedRequestError, match="strict"):
        mock.client.encrypt(key_id="k", plaintext=b"p", encryption_context={"a": "b"})


def test_lists_match_item_by_item(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand, {"GrantTokens": ["t1", "t2"]}).resolves(METADATA)
    mock.client.describe_key(key_id="k", grant_tokens=["t1", "t2"])
    with pytest.raises(UnmatchedRequestError):
        mock.client.describe_key(key_id="k", grant_tokens=["t1"])


def test_any_matches_every_value_that_is_set(mock: KmsMock) -> None:
    mock.on(EncryptCommand, {"KeyId": "k", "EncryptionContext": ANY}).resolves()
    mock.client.encrypt(key_id="k", plaintext=b"p", encryption_context={"a": "b"})
    with pytest.raises(UnmatchedRequestError, match="<ANY>"):
        mock.client.encrypt(key_id="k", plaintext=b"p")


def test_blobs_and_enums_are_compared_by_value(mock: KmsMock) -> None:
    mock.on(
        EncryptCommand, {"Plaintext": "text", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    ).resolves()
    mock.client.encrypt(key_id="k", plaintext=b"text", encryption_algorithm="SYMMETRIC_DEFAULT")


def test_no_input_matches_every_call(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves(METADATA)
    mock.client.describe_key(key_id="a")
    mock.client.describe_key(key_id="b", grant_tokens=["t"])
    assert mock.call_count(DescribeKeyCommand) == 2


def test_a_rule_matches_by_predicate(mock: KmsMock) -> None:
    def is_alias(command: DescribeKeyCommand) -> bool:  # typed: on() is generic
        return command.key_id.startswith("alias/")

    mock.on(DescribeKeyCommand, is_alias).rejects(NotFoundException, "no such alias")
    mock.on(DescribeKeyCommand).resolves(METADATA)

    with pytest.raises(NotFoundException, match="no such alias"):
        mock.client.describe_key(key_id="alias/x")
    assert mock.client.describe_key(key_id=KEY_ID).key_metadata is not None


def test_a_rule_and_an_input_combine(mock: KmsMock) -> None:
    mock.on(
        EncryptCommand, {"KeyId": "k"}, where=lambda c: len(getattr(c, "plaintext", b"")) < 4
    ).resolves()
    mock.client.encrypt(key_id="k", plaintext=b"abc")
    with pytest.raises(UnmatchedRequestError, match="rule"):
        mock.client.encrypt(key_id="k", plaintext=b"abcdef")


def test_stubs_may_be_limited_to_a_region(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand, region="eu-west-1").rejects(KMSInternalException, "down")
    mock.on(DescribeKeyCommand).resolves(METADATA)

    assert mock.client.describe_key(key_id=KEY_ID).key_metadata is not None
    with pytest.raises(KMSInternalException, match="down"):
        mock.client_for("eu-west-1").describe_key(key_id=KEY_ID)
    assert mock.calls()[0].region == "us-east-1"
    assert {c.region for c in mock.calls()[1:]} == {"eu-west-1"}


@pytest.mark.parametrize("specific_first", [True, False])
def test_the_most_specific_stub_answers_in_either_order(specific_first: bool) -> None:
    mock = KmsMock()
    stubs: list[Callable[[], object]] = [
        lambda: mock.on(DescribeKeyCommand, {"KeyId": "gone"}).rejects(NotFoundException),
        lambda: mock.on(DescribeKeyCommand).resolves(METADATA),
    ]
    for define in stubs if specific_first else reversed(stubs):
        define()
    assert mock.client.describe_key(key_id="other").key_metadata is not None
    with pytest.raises(NotFoundException):
        mock.client.describe_key(key_id="gone")


def test_among_equally_specific_stubs_the_last_defined_answers(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand, {"KeyId": "k"}).resolves({"KeyMetadata": {"KeyId": "first"}})
    mock.on(DescribeKeyCommand, {"GrantTokens": ["t"]}).resolves(
        {"KeyMetadata": {"KeyId": "second"}}
    )
    output = mock.client.describe_key(key_id="k", grant_tokens=["t"])
    assert output.key_metadata == KeyMetadata(key_id="second")


def test_the_same_criteria_give_the_same_stub(mock: KmsMock) -> None:
    first = mock.on(DescribeKeyCommand, {"KeyId": "k"})
    assert mock.on(DescribeKeyCommand, {"key_id": "k"}) is first
    assert mock.on(DescribeKeyCommand, {"KeyId": "k"}, strict=True) is not first
    assert mock.on(DescribeKeyCommand, {"KeyId": "k"}, region="eu-west-1") is not first
    assert mock.on(DescribeKeyCommand, {"KeyId": ANY}) is not mock.on(DescribeKeyCommand)
    assert mock.on(DescribeKeyCommand, {}) is mock.on(DescribeKeyCommand)
    assert len(mock.stubs) == 5


def test_defining_a_behaviour_again_replaces_it(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "old"}})
    mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "new"}})
    assert mock.client.describe_key(key_id="k").key_metadata == KeyMetadata(key_id="new")


# -- answers -----------------------------------------------------------------------------------


def test_resolves_with_a_typed_output(mock: KmsMock) -> None:
    created = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    typed = DescribeKeyResponse(
        key_metadata=KeyMetadata(key_id=KEY_ID, creation_date=created, key_state=KeyState.ENABLED)
    )
    mock.on(DescribeKeyCommand).resolves(typed)
    assert mock.client.describe_key(key_id=KEY_ID) == typed


def test_resolves_with_python_names_and_enum_members(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves(
        {"key_metadata": {"key_id": KEY_ID, "key_state": KeyState.DISABLED}}
    )
    metadata = mock.client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    assert metadata.key_state is KeyState.DISABLED


def test_rejects_with_a_class_and_a_message(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(NotFoundException, "Key does not exist")
    with pytest.raises(NotFoundException) as raised:
        mock.client.describe_key(key_id=KEY_ID)
    assert raised.value.message == "Key does not exist"
    assert raised.value.code == "NotFoundException"
    assert raised.value.fault == "client"


def test_rejects_with_a_code(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects("AccessDeniedException", "no")
    with pytest.raises(AccessDeniedException, match="no"):
        mock.client.describe_key(key_id=KEY_ID)


def test_rejects_with_an_instance(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(KMSInternalException())
    with pytest.raises(KMSInternalException) as raised:
        mock.client.describe_key(key_id=KEY_ID)
    assert raised.value.http_status == 500
    assert raised.value.metadata.attempts == 3  # retried: a server fault


def test_rejects_with_a_code_the_model_does_not_know(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(KMSServiceException("odd", code="BrandNewException"))
    with pytest.raises(KMSServiceException) as raised:
        mock.client.describe_key(key_id=KEY_ID)
    assert type(raised.value) is KMSServiceException
    assert raised.value.code == "BrandNewException"


def test_a_base_class_with_a_known_code_answers_as_that_error(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(KMSServiceException("gone", code="NotFoundException"))
    with pytest.raises(NotFoundException, match="gone"):
        mock.client.describe_key(key_id=KEY_ID)


def test_a_subclass_of_a_modeled_error_sends_its_code(mock: KmsMock) -> None:
    class AppNotFound(NotFoundException):  # type: ignore[misc]
        pass

    mock.on(DescribeKeyCommand, {"KeyId": "class"}).rejects(AppNotFound, "gone")
    mock.on(DescribeKeyCommand, {"KeyId": "instance"}).rejects(AppNotFound("gone"))
    for key_id in ("class", "instance"):
        with pytest.raises(NotFoundException) as raised:
            mock.client.describe_key(key_id=key_id)
        assert raised.value.code == "NotFoundException"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            KMSServiceException,
            r"KMSServiceException is the base of the errors KMS answers, not one of them "
            r"\(KMS never sends the code 'KMSServiceException'\)",
        ),
        (ServiceException, r"ServiceException is the base of the errors KMS answers"),
        (
            KMSServiceException("no code"),
            r"KMSServiceException\(...\) with the code 'KMSServiceException' is not an error "
            r"KMS answers with",
        ),
        (
            ServiceException("m", code="BrandNewException"),
            r"ServiceException\(...\) with the code 'BrandNewException' is not an error KMS",
        ),
        (
            NotFoundException("m", code="Other"),
            r"this NotFoundException carries the code 'Other', which is not an error KMS "
            r"answers with, so the client would not receive a NotFoundException",
        ),
        (
            NotFoundException("m", code="KMSInternalException"),
            r"this NotFoundException carries the code 'KMSInternalException', so the client "
            r"would receive a KMSInternalException",
        ),
    ],
    ids=["base-class", "root-class", "base-no-code", "root-with-code", "wrong-code", "other-code"],
)
def test_error_codes_are_checked_in_every_form(mock: KmsMock, error: Any, message: str) -> None:
    with pytest.raises(InvalidStubError, match=message):
        mock.on(DescribeKeyCommand).rejects(error, "what")
    with pytest.raises(InvalidStubError, match=message):
        service_error(DescribeKeyCommand, error)


def test_rejects_with_a_status_of_your_choice(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(ThrottlingException, "slow down", status=429)
    with pytest.raises(ThrottlingException) as raised:
        mock.client.describe_key(key_id=KEY_ID)
    assert raised.value.http_status == 429


def test_once_answers_are_used_in_order_then_the_persistent_one(mock: KmsMock) -> None:
    stub = (
        mock.on(DescribeKeyCommand)
        .resolves_once({"KeyMetadata": {"KeyId": "one"}})
        .rejects_once(NotFoundException, "two")
        .resolves({"KeyMetadata": {"KeyId": "always"}})
    )
    client = mock.client
    assert client.describe_key(key_id="k").key_metadata == KeyMetadata(key_id="one")
    with pytest.raises(NotFoundException, match="two"):
        client.describe_key(key_id="k")
    for _ in range(2):
        assert client.describe_key(key_id="k").key_metadata == KeyMetadata(key_id="always")
    assert stub.call_count == 4
    assert stub.pending_once == 0


def test_used_up_once_answers_fall_back_to_a_less_specific_stub(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "general"}})
    mock.on(DescribeKeyCommand, {"KeyId": "k"}).resolves_once({"KeyMetadata": {"KeyId": "once"}})
    assert mock.client.describe_key(key_id="k").key_metadata == KeyMetadata(key_id="once")
    assert mock.client.describe_key(key_id="k").key_metadata == KeyMetadata(key_id="general")


def test_used_up_once_answers_with_nothing_behind_them_fail_the_test(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves_once(METADATA)
    mock.client.describe_key(key_id="k")
    with pytest.raises(UnmatchedRequestError, match="one-shot answer\\(s\\) are used up"):
        mock.client.describe_key(key_id="k")


def test_a_stub_without_behaviour_fails_the_test(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand)
    with pytest.raises(UnmatchedRequestError, match="no behaviour left"):
        mock.client.describe_key(key_id="k")


def test_a_fake_gets_the_typed_input_and_the_region(mock: KmsMock) -> None:
    seen: list[tuple[Command[Any], str]] = []

    def fake(command: EncryptCommand, region: str) -> dict[str, Any]:
        seen.append((command, region))
        return {"KeyId": command.key_id, "CiphertextBlob": command.plaintext[::-1]}

    mock.on(EncryptCommand).calls_fake(fake)
    output = mock.client_for("eu-west-1").encrypt(key_id="k", plaintext=b"abc")

    assert output == EncryptResponse(key_id="k", ciphertext_blob=b"cba")
    assert seen == [(EncryptCommand(key_id="k", plaintext=b"abc"), "eu-west-1")]


def test_a_fake_may_raise_a_modeled_exception(mock: KmsMock) -> None:
    def fake(command: Command[Any], region: str) -> None:
        raise DisabledException(f"disabled in {region}")

    mock.on(EncryptCommand).calls_fake_once(fake).resolves()
    with pytest.raises(DisabledException, match="disabled in us-east-1"):
        mock.client.encrypt(key_id="k", plaintext=b"p")
    mock.client.encrypt(key_id="k", plaintext=b"p")


def test_a_fake_returning_a_bad_output_fails_the_test_at_once(mock: KmsMock) -> None:
    mock.on(EncryptCommand).calls_fake(lambda command, region: {"CipherBlob": b"x"})
    with pytest.raises(InvalidStubError, match="did you mean 'CiphertextBlob'"):
        mock.client.encrypt(key_id="k", plaintext=b"p")
    assert mock.call_count(EncryptCommand) == 1  # not retried


def test_reset_forgets_stubs_and_history(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves(METADATA)
    mock.client.describe_key(key_id="k")
    mock.reset()
    assert mock.stubs == ()
    assert mock.calls() == []
    with pytest.raises(UnmatchedRequestError, match="No stub is defined"):
        mock.client.describe_key(key_id="k")


def test_reset_history_keeps_the_stubs(mock: KmsMock) -> None:
    stub = mock.on(DescribeKeyCommand).resolves(METADATA)
    mock.client.describe_key(key_id="k")
    mock.reset_history()
    assert mock.calls() == []
    assert stub.calls == []
    assert mock.client.describe_key(key_id="k").key_metadata is not None


# -- what a stub may not say -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"KeyMetdata": {}}, r"KeyMetdata: unknown member .*did you mean 'KeyMetadata'"),
        ({"key_metdata": {}}, r"did you mean 'key_metadata'"),
        ({"KeyMetadata": {"KeyId": 7}}, r"KeyMetadata\.KeyId: expected str, got int"),
        ({"KeyMetadata": {"KeyId": ""}}, r"KeyMetadata\.KeyId: length 0 is below the minimum"),
        ({"KeyMetadata": {"Enabled": True}}, r"KeyMetadata\.KeyId: required member is missing"),
        ({"KeyMetadata": "k"}, r"KeyMetadata: expected KeyMetadata or a dict, got str"),
        (EncryptResponse(), r"DescribeKey answers a DescribeKeyResponse .* got a EncryptResponse"),
        (["KeyMetadata"], r"DescribeKey response is a DescribeKeyResponse or a dict"),
    ],
)
def test_responses_are_checked_against_the_output_model(
    mock: KmsMock, response: Any, message: str
) -> None:
    with pytest.raises(InvalidStubError, match=message):
        mock.on(DescribeKeyCommand).resolves(response)


@pytest.mark.parametrize(
    "when", [float("nan"), float("inf"), 1e20, -1e20], ids=["nan", "inf", "huge", "negative"]
)
def test_impossible_timestamps_are_stub_errors_with_their_path(mock: KmsMock, when: float) -> None:
    response = {"KeyMetadata": {"KeyId": KEY_ID, "CreationDate": when}}
    with pytest.raises(InvalidStubError) as raised:
        mock.on(DescribeKeyCommand).resolves(response)
    assert f"KeyMetadata.CreationDate: {when!r} is not a timestamp" in str(raised.value)
    with pytest.raises(InvalidStubError, match=r"ValidTo: .* is not a timestamp"):
        mock.on(ImportKeyMaterialCommand, {"ValidTo": when})


def test_epoch_seconds_are_timestamps(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": KEY_ID, "CreationDate": 0}})
    metadata = mock.client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    assert metadata.creation_date == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def test_every_response_problem_is_listed_at_once(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError) as raised:
        mock.on(DescribeKeyCommand).resolves_once(
            {"KeyMetadata": {"KeyId": 7, "Enabled": "yes", "KeyState": 3}}
        )
    text = str(raised.value)
    assert "3 problems" in text
    assert "on(DescribeKeyCommand).resolves_once(...)" in text
    for path in ("KeyMetadata.KeyId", "KeyMetadata.Enabled", "KeyMetadata.KeyState"):
        assert path in text


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        ({"KeyID": "k"}, r"KeyID: unknown member of DescribeKeyRequest \(did you mean 'KeyId'"),
        ({"KeyId": 3}, r"KeyId: expected str, got int"),
        ({"KeyId": ""}, r"KeyId: length 0 is below the minimum of 1"),
        ({"KeyId": "a", "key_id": "b"}, r"KeyId: given twice"),
        ({"GrantTokens": "t"}, r"GrantTokens: expected list, got str"),
        (EncryptCommand(key_id="k", plaintext=b"p"), r"must be a DescribeKeyCommand"),
        ({"GrantTokens": [KeyMetadata(key_id="k")]}, r"GrantTokens\[0\]: expected str"),
        (42, r"the input must be a DescribeKeyCommand, a dict"),
    ],
)
def test_expected_inputs_are_checked_against_the_input_model(
    mock: KmsMock, expected: Any, message: str
) -> None:
    with pytest.raises(InvalidStubError, match=message):
        mock.on(DescribeKeyCommand, expected)


def test_on_needs_a_command_class(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="model shape"):
        mock.on(KeyMetadata)  # type: ignore[type-var]
    with pytest.raises(InvalidStubError, match="command class"):
        mock.on("DescribeKey")  # type: ignore[arg-type]
    with pytest.raises(InvalidStubError, match="not a Region name"):
        mock.on(DescribeKeyCommand, region="Mars 1")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            "NotFoundExeption",
            r"not an error code KMS answers with \(did you mean 'NotFoundException'",
        ),
        (DisabledException, r"DescribeKey never answers DisabledException; its model lists "),
        (ValueError, r"reject with an exception class"),
        (ValueError("x"), r"reject with an exception class"),
    ],
)
def test_rejections_are_checked(mock: KmsMock, error: Any, message: str) -> None:
    with pytest.raises(InvalidStubError, match=message):
        mock.on(DescribeKeyCommand).rejects(error)


def test_unmodeled_errors_may_be_allowed(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).rejects(DisabledException, "odd", allow_unmodeled=True)
    with pytest.raises(DisabledException):
        mock.client.describe_key(key_id="k")


def test_common_errors_answer_any_operation(mock: KmsMock) -> None:
    for code in ("ThrottlingException", "AccessDeniedException", "ValidationException"):
        mock.on(UpdatePrimaryRegionCommand).rejects(code)


def test_bad_statuses_and_messages_are_refused(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="400-599"):
        mock.on(DescribeKeyCommand).rejects(NotFoundException, status=200)
    with pytest.raises(InvalidStubError, match="message must be a str"):
        mock.on(DescribeKeyCommand).rejects(NotFoundException, 42)  # type: ignore[arg-type]
    with pytest.raises(InvalidStubError, match="expected a function"):
        mock.on(DescribeKeyCommand).calls_fake("nope")  # type: ignore[arg-type]


def test_client_side_validation_runs_before_any_stub(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand).resolves(METADATA)
    with pytest.raises(ParamValidationError, match="KeyId"):
        mock.client.describe_key(key_id="")
    assert mock.calls() == []


def test_a_paginated_call_walks_the_stubbed_pages(mock: KmsMock) -> None:
    mock.on(ListAliasesCommand, {"Marker": None}, strict=True).resolves(
        {"Aliases": [{"AliasName": "alias/a"}], "NextMarker": "m2", "Truncated": True}
    )
    mock.on(ListAliasesCommand, {"Marker": "m2"}).resolves(
        {"Aliases": [{"AliasName": "alias/b"}], "Truncated": False}
    )
    names = [a.alias_name for a in mock.client.paginate(ListAliasesCommand()).items()]
    assert names == ["alias/a", "alias/b"]


def test_decrypt_with_sensitive_output_round_trips(mock: KmsMock) -> None:
    mock.on(DecryptCommand, {"CiphertextBlob": b"ct"}).resolves({"Plaintext": b"secret"})
    assert mock.client.decrypt(ciphertext_blob=b"ct").plaintext == b"secret"
