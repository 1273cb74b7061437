"""What a failing test prints: unmatched-call diffs, assertion diffs, and no secret ever."""

from __future__ import annotations

import base64
import re

import pytest

from kms_mrk import (
    CreateCustomKeyStoreCommand,
    DecryptCommand,
    DescribeKeyCommand,
    EncryptCommand,
    GenerateRandomCommand,
    ListKeysCommand,
)
from kms_mrk.testing import InvalidStubError, KmsMock, KmsMockError, UnmatchedRequestError
from tests.testing._helpers import KEY_ID

SECRET = b"correct horse battery staple"
OTHER_SECRET = b"hunter2 hunter2"


def unmatched(mock: KmsMock, call: object) -> str:
    with pytest.raises(UnmatchedRequestError) as raised:
        call()  # type: ignore[operator]
    return str(raised.value)


def assert_no_secret(text: str, *secrets: bytes) -> None:
    for secret in secrets:
        assert secret.decode() not in text
        assert base64.b64encode(secret).decode() not in text


def test_the_message_shows_the_request_and_a_diff_to_the_closest_stub() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "alias/app"}).resolves({})

    text = unmatched(mock, lambda: mock.client.describe_key(key_id="alias/ap"))

    assert text.startswith("No stub answers this DescribeKey request in us-east-1 (attempt 1).")
    assert 'Request input (wire names):\n  {\n    "KeyId": "alias/ap"\n  }' in text
    assert re.search(
        r'Closest stub: on\(DescribeKeyCommand, \{"KeyId": "alias/app"\}\) '
        r"\(defined at .*test_testing_messages\.py:\d+\)",
        text,
    )
    assert '-  "KeyId": "alias/app"' in text
    assert '+  "KeyId": "alias/ap"' in text
    assert "--- expected (stub)" in text
    assert "+++ actual (request)" in text


def test_the_error_carries_what_was_sent() -> None:
    mock = KmsMock()
    with pytest.raises(UnmatchedRequestError) as raised:
        mock.client_for("eu-west-1").describe_key(key_id="k")
    assert raised.value.operation == "DescribeKey"
    assert raised.value.region == "eu-west-1"
    assert raised.value.input == DescribeKeyCommand(key_id="k")
    assert isinstance(raised.value, AssertionError)


def test_a_partial_diff_shows_only_the_members_the_stub_names() -> None:
    mock = KmsMock()
    mock.on(EncryptCommand, {"KeyId": "k1"}).resolves()
    text = unmatched(
        mock, lambda: mock.client.encrypt(key_id="k2", plaintext=b"p", grant_tokens=["t"])
    )
    diff = text.split("Input differs", 1)[1]
    assert "GrantTokens" not in diff
    assert "partial" in diff


def test_a_strict_diff_shows_extra_members() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "k"}, strict=True).resolves()
    text = unmatched(mock, lambda: mock.client.describe_key(key_id="k", grant_tokens=["t"]))
    assert '+  "GrantTokens": [' in text


def test_closest_stubs_are_ranked_and_capped() -> None:
    mock = KmsMock()
    for key in ("far-away-1", "far-away-2", "k-close", "k-closer", "far-away-3"):
        mock.on(DescribeKeyCommand, {"KeyId": key, "GrantTokens": ["t"]}).resolves()
    mock.on(DescribeKeyCommand, {"KeyId": "k", "GrantTokens": ["x"]}).resolves()
    text = unmatched(mock, lambda: mock.client.describe_key(key_id="k", grant_tokens=["t"]))
    assert text.count("Closest stub:") == 1
    assert text.count("Next closest:") == 2
    assert "(3 more DescribeKeyCommand stub(s); see mock.stubs)" in text


def test_a_stub_for_another_region_is_pointed_out() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "k"}, region="eu-west-1").resolves()
    text = unmatched(mock, lambda: mock.client.describe_key(key_id="k"))
    assert "It answers requests in eu-west-1 only; this one went to us-east-1." in text
    assert "Input differs" not in text


def test_a_failing_rule_is_pointed_out() -> None:
    def never(command: object) -> bool:
        return False

    mock = KmsMock()
    mock.on(DescribeKeyCommand, where=never).resolves()
    text = unmatched(mock, lambda: mock.client.describe_key(key_id="k"))
    assert "where=never" in text
    assert "its rule (where=...) returned False" in text


def test_without_a_stub_for_the_command_the_others_are_listed() -> None:
    mock = KmsMock()
    mock.on(ListKeysCommand).resolves()
    mock.on(EncryptCommand).resolves()
    text = unmatched(mock, lambda: mock.client.describe_key(key_id="k"))
    assert (
        "There is no stub for DescribeKeyCommand; stubs exist for EncryptCommand, ListKeysCommand."
        in text
    )
    assert "Add one: mock.on(DescribeKeyCommand, {...}).resolves({...})" in text


def test_an_empty_input_is_shown_as_such() -> None:
    mock = KmsMock()
    text = unmatched(mock, lambda: mock.client.send(GenerateRandomCommand()))
    assert "Request input (wire names):\n  {}" in text
    assert "No stub is defined." in text


# -- secrets -----------------------------------------------------------------------------------


def test_plaintext_never_appears_in_an_unmatched_diff() -> None:
    mock = KmsMock()
    mock.on(EncryptCommand, {"KeyId": "k", "Plaintext": SECRET}).resolves()

    text = unmatched(mock, lambda: mock.client.encrypt(key_id="k", plaintext=OTHER_SECRET))

    assert_no_secret(text, SECRET, OTHER_SECRET)
    assert '-  "Plaintext": "***"' in text
    assert '+  "Plaintext": "*** (differs)"' in text


def test_an_equal_secret_shows_no_difference() -> None:
    mock = KmsMock()
    mock.on(EncryptCommand, {"KeyId": "k", "Plaintext": SECRET}).resolves()
    text = unmatched(mock, lambda: mock.client.encrypt(key_id="other", plaintext=SECRET))
    assert_no_secret(text, SECRET)
    assert '   "Plaintext": "***"' in text
    assert "(differs)" not in text


def test_secrets_in_nested_members_are_redacted() -> None:
    password = "kspassword-123456"
    mock = KmsMock()
    mock.on(CreateCustomKeyStoreCommand, {"CustomKeyStoreName": "a"}).resolves()
    text = unmatched(
        mock,
        lambda: mock.client.create_custom_key_store(
            custom_key_store_name="b", key_store_password=password
        ),
    )
    assert password not in text
    assert '"KeyStorePassword": "***"' in text


def test_stub_reprs_and_recorded_calls_redact_secrets() -> None:
    mock = KmsMock()
    stub = mock.on(EncryptCommand, {"Plaintext": SECRET}).resolves({"KeyId": "k"})
    mock.on(DecryptCommand).resolves({"Plaintext": SECRET})
    mock.client.encrypt(key_id="k", plaintext=SECRET)
    mock.client.decrypt(ciphertext_blob=b"c")

    shown = repr(stub) + stub.describe() + repr(mock.calls()) + repr(mock.stubs)
    assert_no_secret(shown, SECRET)
    assert '{"Plaintext": "***"}' in repr(stub)


def test_invalid_stub_messages_do_not_quote_secrets() -> None:
    mock = KmsMock()
    with pytest.raises(InvalidStubError) as raised:
        mock.on(DecryptCommand).resolves({"Plaintext": SECRET, "KeyIdd": "k"})
    assert_no_secret(str(raised.value), SECRET)


def test_assertion_diffs_redact_secrets() -> None:
    mock = KmsMock()
    mock.on(EncryptCommand).resolves()
    mock.client.encrypt(key_id="k", plaintext=SECRET)
    with pytest.raises(KmsMockError) as raised:
        mock.assert_called_with(EncryptCommand, {"Plaintext": OTHER_SECRET})
    text = str(raised.value)
    assert_no_secret(text, SECRET, OTHER_SECRET)
    assert "*** (differs)" in text


# -- assertion messages ------------------------------------------------------------------------


def test_assert_called_with_shows_the_closest_call() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves()
    mock.client.describe_key(key_id="alias/a")
    mock.client.describe_key(key_id=KEY_ID)
    with pytest.raises(KmsMockError) as raised:
        mock.assert_called_with(DescribeKeyCommand, {"KeyId": "alias/b"})
    text = str(raised.value)
    assert "assert_called_with: no DescribeKey request matched (partial)" in text
    assert "2 DescribeKey request(s) received; the closest (attempt 1 in us-east-1)" in text
    assert '+  "KeyId": "alias/a"' in text
    assert "--- expected (assert_called_with)\n" in text
    assert "+++ actual (closest request)\n" in text
    assert "stub" not in text  # no stub is involved in an assertion on the history
    with pytest.raises(KmsMockError) as once:
        mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": "alias/b"})
    assert "expected exactly one" in str(once.value).lower()
    mock.reset_history()
    mock.client.describe_key(key_id="alias/a")
    with pytest.raises(KmsMockError) as once:
        mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": "alias/b"})
    assert "--- expected (assert_called_once_with)\n" in str(once.value)


def test_an_unmatched_request_diff_is_headed_by_the_stub() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "alias/b"}).resolves()
    with pytest.raises(UnmatchedRequestError) as raised:
        mock.client.describe_key(key_id="alias/a")
    assert "--- expected (stub)\n" in str(raised.value)
    assert "+++ actual (request)\n" in str(raised.value)


def test_assert_called_with_when_nothing_was_called() -> None:
    mock = KmsMock()
    mock.on(ListKeysCommand).resolves()
    mock.client.list_keys()
    with pytest.raises(
        KmsMockError, match=r"No DescribeKey request was received \(received: ListKeys\)"
    ):
        mock.assert_called_with(DescribeKeyCommand, {"KeyId": "k"})
