"""patch_clients() by context variable: sync and async clients, nesting, tasks, threads, moto."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from kms_mrk import AsyncKMSClient, DescribeKeyCommand, KMSClient
from kms_mrk._overrides import current_override
from kms_mrk.testing import TEST_CREDENTIALS, KmsLocal, KmsMock, KmsMockError

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def _answering(description: str, region: str = "us-east-1") -> KmsMock:
    mock = KmsMock(region)
    mock.on(DescribeKeyCommand).resolves(
        {"KeyMetadata": {"KeyId": KEY_ID, "Description": description}}
    )
    return mock


def _described(client: KMSClient) -> str | None:
    metadata = client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    return metadata.description


async def _described_async(client: AsyncKMSClient) -> str | None:
    metadata = (await client.describe_key(key_id=KEY_ID)).key_metadata
    assert metadata is not None
    return metadata.description


@pytest.fixture(autouse=True)
def _no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


# -- sync ----------------------------------------------------------------------------------


def test_nested_blocks_the_innermost_wins_and_each_exit_restores_the_outer() -> None:
    outer, inner = _answering("outer"), _answering("inner")
    with outer.patch_clients():
        assert _described(KMSClient()) == "outer"
        with inner.patch_clients():
            assert _described(KMSClient()) == "inner"
        assert _described(KMSClient()) == "outer"
    assert current_override() is None
    assert outer.call_count() == 2 and inner.call_count() == 1


def test_an_error_inside_resets_the_override() -> None:
    mock = _answering("m")
    with pytest.raises(ZeroDivisionError), mock.patch_clients():
        _ = 1 / 0
    assert current_override() is None


def test_a_client_made_before_the_block_keeps_its_own_wiring() -> None:
    before_mock, patching = _answering("made before"), _answering("patching")
    before = before_mock.client
    with patching.patch_clients():
        assert _described(before) == "made before"
    assert patching.call_count() == 0


def test_a_client_made_inside_follows_the_patching_mock_then_its_maker() -> None:
    first, second = _answering("first"), _answering("second")
    with first.patch_clients():
        cached = KMSClient()
    with second.patch_clients():
        assert _described(cached) == "second"  # the mock patching clients now
    assert _described(cached) == "first"  # no patching mock: its maker, still open
    first.close()
    with pytest.raises(KmsMockError, match="outlived its test's mock"):
        cached.describe_key(key_id=KEY_ID)


def test_a_plain_thread_does_not_inherit_the_block_but_a_copied_context_does() -> None:
    mock = _answering("m")
    seen: dict[str, object] = {}

    def make_client(label: str) -> None:
        seen[label] = current_override()

    with mock.patch_clients():
        plain = threading.Thread(target=make_client, args=("plain",))
        plain.start()
        plain.join()
        context = contextvars.copy_context()
        copied = threading.Thread(target=context.run, args=(make_client, "copied"))
        copied.start()
        copied.join()
        # A client made inside, used from a plain thread, keeps its wiring: it talks to its
        # maker (no mock patches clients in that thread).
        inside = KMSClient()
        answers: list[str | None] = []
        worker = threading.Thread(target=lambda: answers.append(_described(inside)))
        worker.start()
        worker.join()
    import sys

    inherits = bool(getattr(sys.flags, "thread_inherit_context", 0))
    assert (seen["plain"] is not None) is inherits
    assert seen["copied"] is not None
    assert answers == ["m"]


def test_kms_local_patch_clients_wires_sync_and_async_clients() -> None:
    local = KmsLocal(region="eu-west-1")
    with local.patch_clients():
        client = KMSClient()
        key = client.create_key(description="local").key_metadata
        assert key is not None and client.region == "eu-west-1"

        async def read() -> str | None:
            async with AsyncKMSClient() as aclient:
                found = (await aclient.describe_key(key_id=key.key_id)).key_metadata
                assert found is not None
                return found.description

        assert asyncio.run(read()) == "local"
    assert current_override() is None
    local.close()


def test_an_explicit_transport_or_credentials_are_kept() -> None:
    mock, other = _answering("patching"), _answering("explicit")
    with mock.patch_clients():
        client = KMSClient("eu-west-1", credentials=TEST_CREDENTIALS, transport=other.transport)
        assert _described(client) == "explicit"
    assert mock.call_count() == 0


# -- async ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_async_client_made_inside_gets_the_mock() -> None:
    mock = _answering("async", region="ap-south-1")
    with mock.patch_clients():
        async with AsyncKMSClient() as client:
            assert client.region == "ap-south-1"
            assert await _described_async(client) == "async"
    assert mock.last_call().region == "ap-south-1"


@pytest.mark.asyncio
async def test_concurrent_tasks_each_see_only_their_own_block() -> None:
    a, b = _answering("a"), _answering("b")
    entered = [asyncio.Event(), asyncio.Event()]

    async def worker(mock: KmsMock, index: int) -> list[str | None]:
        with mock.patch_clients():
            entered[index].set()
            await entered[1 - index].wait()  # both blocks are open at once from here
            results = []
            for _ in range(3):
                client = AsyncKMSClient()
                results.append(await _described_async(client))
                await asyncio.sleep(0)
            return results

    async def outsider() -> object:
        await entered[0].wait()
        await entered[1].wait()
        return current_override()

    results = await asyncio.gather(worker(a, 0), worker(b, 1), outsider())
    assert results[0] == ["a", "a", "a"]
    assert results[1] == ["b", "b", "b"]
    assert results[2] is None  # a task created outside both blocks sees neither
    assert current_override() is None


@pytest.mark.asyncio
async def test_a_task_created_inside_the_block_inherits_it() -> None:
    mock = _answering("inherited")

    async def in_task() -> str | None:
        return await _described_async(AsyncKMSClient())

    with mock.patch_clients():
        task = asyncio.create_task(in_task())
    # The block has ended, but the task copied the context when it was created.
    assert await task == "inherited"
    assert current_override() is None


@pytest.mark.asyncio
async def test_async_retries_sleep_through_the_mock() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(
        {"KeyMetadata": {"KeyId": KEY_ID}}
    )
    with mock.patch_clients():
        client = AsyncKMSClient()
        await client.describe_key(key_id=KEY_ID)
    assert [c.attempt for c in mock.calls()] == [1, 2]
    assert len(mock.slept) == 1


# -- moto ----------------------------------------------------------------------------------


def test_clients_made_inside_mock_aws_reach_moto_and_outside_do_not() -> None:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    with moto.mock_aws():
        b3 = boto3.client("kms", region_name="us-east-1")
        made_by_boto3 = b3.create_key(Description="boto3")["KeyMetadata"]["KeyId"]
        client = KMSClient("us-east-1")  # no transport, no credentials: nothing to do
        described = client.describe_key(key_id=made_by_boto3).key_metadata
        assert described is not None and described.description == "boto3"
        made_by_us = client.create_key(description="kms-mrk").key_metadata
        assert made_by_us is not None
        seen = b3.describe_key(KeyId=made_by_us.key_id)["KeyMetadata"]["Description"]
        assert seen == "kms-mrk"

        async def via_async() -> str | None:
            async with AsyncKMSClient("us-east-1") as aclient:
                found = (await aclient.describe_key(key_id=made_by_us.key_id)).key_metadata
                assert found is not None
                return found.description

        assert asyncio.run(via_async()) == "kms-mrk"
    assert current_override() is None
    outside = KMSClient("us-east-1", credentials=TEST_CREDENTIALS)
    assert type(outside._family._transport).__name__ != "MotoTransport"
    assert outside._family._transport is None  # the default transport, made on first use


def test_a_testing_override_wins_over_moto() -> None:
    moto = pytest.importorskip("moto")
    mock = _answering("mock")
    with moto.mock_aws(), mock.patch_clients():
        assert _described(KMSClient("us-east-1")) == "mock"


@pytest.mark.asyncio
async def test_a_stale_async_client_says_what_it_is_and_where_it_was_made() -> None:
    mock = _answering("m")
    with mock.patch_clients():
        cached = AsyncKMSClient()
    mock.close()
    with pytest.raises(KmsMockError) as caught:
        await cached.describe_key(key_id=KEY_ID)
    message = str(caught.value)
    assert message.startswith("An AsyncKMSClient made at ")
    assert "test_testing_overrides.py:" in message
