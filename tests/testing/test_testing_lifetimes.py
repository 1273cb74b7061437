"""Clients that outlive their test's mock: no answer meant for one test reaches another.

A closed mock refuses every request with a KmsMockError naming the client. A client made under
``patch_clients()`` (say, one an application caches with ``functools.lru_cache``) talks to the
mock patching clients at the time of each call, else to the mock that made it while it is open.
"""

from __future__ import annotations

import functools

import pytest

from kms_mrk import DescribeKeyCommand, KMSClient, ListAliasesCommand
from kms_mrk.testing import TEST_CREDENTIALS, KmsMock, KmsMockError, MockTransport
from tests.testing._helpers import KEY_ID

pytest_plugins = ["pytester"]


def answer(key_id: str) -> dict[str, dict[str, str]]:
    return {"KeyMetadata": {"KeyId": key_id}}


def key_id_of(client: KMSClient) -> str:
    metadata = client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    return metadata.key_id


# -- a closed mock -----------------------------------------------------------------------------


def test_a_closed_mock_refuses_its_own_clients() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(answer("first"))
    client = mock.client_for("eu-west-1")
    assert key_id_of(client) == "first"

    mock.close()

    assert mock.closed
    with pytest.raises(KmsMockError) as raised:
        key_id_of(client)
    message = str(raised.value)
    assert "is closed (its test is over), but a client it made sent it DescribeKey" in message
    assert "sent it DescribeKey in eu-west-1." in message
    assert "The client outlived its test's mock" in message
    assert "test_testing_lifetimes.py" in message  # where the mock was made
    assert mock.call_count() == 1  # the history is kept, and the refused call is not in it
    mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": KEY_ID})


def test_a_client_kept_from_a_context_manager_mock_is_refused() -> None:
    with KmsMock() as mock:
        mock.on(DescribeKeyCommand).resolves(answer("inside"))
        client = mock.new_client()
        assert key_id_of(client) == "inside"
    with pytest.raises(KmsMockError, match="outlived its test's mock"):
        key_id_of(client)


def test_a_closed_bare_transport_refuses_requests() -> None:
    transport = MockTransport(lambda command, region: None)
    client = KMSClient("eu-west-1", credentials=TEST_CREDENTIALS, transport=transport)
    assert client.describe_key(key_id=KEY_ID).key_metadata is None
    transport.close()
    with pytest.raises(KmsMockError, match="is closed, but a client sent it DescribeKey in eu-"):
        client.describe_key(key_id=KEY_ID)


# -- patched clients are routed ----------------------------------------------------------------


def test_a_patched_client_keeps_talking_to_its_open_mock_after_the_block() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(answer("open"))
    with mock.patch_clients():
        client = KMSClient("us-east-1")
    assert key_id_of(client) == "open"
    assert mock.call_count() == 1


def test_a_cached_client_talks_to_the_mock_patching_clients_now() -> None:
    @functools.cache
    def cached() -> KMSClient:
        return KMSClient("us-east-1")

    first = KmsMock()
    first.on(DescribeKeyCommand).resolves(answer("first"))
    with first.patch_clients():
        assert key_id_of(cached()) == "first"
    first.close()

    second = KmsMock()
    second.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(answer("second"))
    with second.patch_clients():
        assert key_id_of(cached()) == "second"

    assert first.call_count() == 1
    assert [c.attempt for c in second.calls()] == [1, 2]  # the retry is tracked by `second`
    assert len(second.slept) == 1
    assert first.slept == []


def test_the_innermost_patching_mock_answers() -> None:
    outer, inner = KmsMock(), KmsMock()
    outer.on(DescribeKeyCommand).resolves(answer("outer"))
    inner.on(DescribeKeyCommand).resolves(answer("inner"))
    with outer.patch_clients():
        client = KMSClient("us-east-1")
        assert key_id_of(client) == "outer"
        with inner.patch_clients():
            assert key_id_of(client) == "inner"
            assert key_id_of(KMSClient("us-east-1")) == "inner"
        assert key_id_of(client) == "outer"
    assert outer.call_count() == 2
    assert inner.call_count() == 2


def test_a_stale_patched_client_says_where_it_was_made() -> None:
    mock = KmsMock()
    mock.on(ListAliasesCommand).resolves({})
    with mock.patch_clients():
        client = KMSClient("ap-south-1")  # made here: the message points at this line
        client.list_aliases()
    mock.close()

    with pytest.raises(KmsMockError) as raised:
        client.list_aliases()
    message = str(raised.value)
    assert message.startswith("A KMSClient made at ")
    assert "test_testing_lifetimes.py:" in message
    assert "sent ListAliases in ap-south-1, but that mock is closed and no mock is patching" in (
        message
    )
    assert "functools.lru_cache" in message
    stale_for_region = client.for_region("eu-west-1")
    with pytest.raises(KmsMockError, match="sent ListAliases in eu-west-1"):
        stale_for_region.list_aliases()


def test_clients_with_their_own_transport_are_left_alone() -> None:
    other = KmsMock()
    other.on(DescribeKeyCommand).resolves(answer("other"))
    mock = KmsMock()
    with mock.patch_clients():
        client = KMSClient("us-east-1", credentials=TEST_CREDENTIALS, transport=other.transport)
    mock.close()
    assert key_id_of(client) == "other"


# -- the same through the fixtures --------------------------------------------------------------


def test_a_cached_client_never_sees_an_earlier_tests_answers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
import functools
import pytest
from kms_mrk import KMSClient, DescribeKeyCommand
from kms_mrk.testing import KmsMockError


@functools.lru_cache(maxsize=None)
def kms():
    return KMSClient("us-east-1")


def app_key_id():
    return kms().describe_key(key_id="alias/app").key_metadata.key_id


@pytest.mark.kms_mock(patch_clients=True)
def test_one(kms_mock):
    kms_mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "first"}})
    assert app_key_id() == "first"


@pytest.mark.kms_mock(patch_clients=True)
def test_two(kms_mock):
    kms_mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "second"}})
    assert app_key_id() == "second"
    assert kms_mock.call_count() == 1


def test_three_without_a_mock():
    with pytest.raises(KmsMockError) as raised:
        app_key_id()
    message = str(raised.value)
    assert "A KMSClient made at test_inner.py:9 under patch_clients() of the kms_mock " in message
    assert "fixture of test_inner.py::test_one sent DescribeKey in us-east-1" in message
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
