"""AsyncKMSClient: in-process local KMS, KmsMock/KmsLocal, transports, pagination, closing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kms_mrk import (
    AsyncKMSClient,
    Credentials,
    DescribeKeyCommand,
    KMSClient,
    ListKeysCommand,
    NotFoundException,
)
from kms_mrk.errors import ClosedError, ConfigurationError, ParamValidationError
from kms_mrk.local import LocalKMS
from kms_mrk.testing import KmsLocal, KmsMock, MockTransport
from tests.unit.client._scripted import CREDS, AsyncScripted, ok


def client_for(kms: Any, region: str = "us-east-1", **kwargs: Any) -> AsyncKMSClient:
    return AsyncKMSClient(region, credentials=CREDS, environ={}, transport=kms, **kwargs)


@pytest.mark.asyncio
async def test_round_trip_against_the_local_kms_in_process() -> None:
    with LocalKMS() as kms:
        async with client_for(kms) as client:
            key = (await client.create_key(multi_region=True)).key_metadata
            assert key is not None and key.key_id.startswith("mrk-")
            sealed = await client.encrypt(key_id=key.key_id, plaintext=b"secret")
            opened = await client.decrypt(ciphertext_blob=sealed.ciphertext_blob)
            assert opened.plaintext == b"secret"
            assert opened.metadata.attempts == 1 and opened.metadata.request_id
            replica = await client.replicate_key(key_id=key.key_id, replica_region="eu-west-1")
            assert replica.replica_key_metadata is not None
            west = client.for_region("eu-west-1")
            assert type(west) is AsyncKMSClient and west.region == "eu-west-1"
            described = await west.describe_key(key_id=key.key_id)
            assert described.key_metadata is not None
            assert described.key_metadata.arn.split(":")[3] == "eu-west-1"


@pytest.mark.asyncio
async def test_modeled_exceptions_and_validation_errors_are_the_sync_ones() -> None:
    with LocalKMS() as kms:
        client = client_for(kms)
        with pytest.raises(NotFoundException) as info:
            await client.describe_key(key_id="alias/missing")
        assert info.value.metadata is not None and info.value.metadata.attempts == 1
        with pytest.raises(ParamValidationError):
            await client.send(DescribeKeyCommand(key_id=""))
        with pytest.raises(TypeError, match="takes a command"):
            await client.send("DescribeKey")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_paginate_is_an_async_iterator_over_pages_and_items() -> None:
    with LocalKMS() as kms:
        client = client_for(kms)
        created = {(await client.create_key()).key_metadata.key_id for _ in range(5)}  # type: ignore[union-attr]
        pages = [page async for page in client.paginate(ListKeysCommand(limit=2))]
        assert len(pages) == 3
        ids = {entry.key_id async for entry in client.paginate(ListKeysCommand(limit=2)).items()}
        assert ids == created
        capped = [p async for p in client.paginate(ListKeysCommand(limit=2), max_pages=2)]
        assert len(capped) == 2


@pytest.mark.asyncio
async def test_kms_mock_async_client_shares_stubs_and_history() -> None:
    with KmsMock() as mock:
        mock.on(DescribeKeyCommand, {"KeyId": "alias/app"}).resolves(
            {"KeyMetadata": {"KeyId": "k-1", "KeyState": "Enabled"}}
        )
        client = mock.async_client()
        out = await client.describe_key(key_id="alias/app")
        assert out.key_metadata is not None and out.key_metadata.key_id == "k-1"
        mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": "alias/app"})
        assert type(client) is AsyncKMSClient and client.region == mock.region


@pytest.mark.asyncio
async def test_kms_local_async_client_sees_what_the_sync_client_made() -> None:
    with KmsLocal() as local:
        key_id = local.create_multi_region_key(replicas=["eu-west-1"])
        west = local.async_client("eu-west-1")
        described = await west.describe_key(key_id=key_id)
        assert described.key_metadata is not None
        assert described.key_metadata.multi_region is True


@pytest.mark.asyncio
async def test_mock_transport_offers_an_async_view() -> None:
    seen: list[str] = []

    def handler(command: Any, region: str) -> Any:
        seen.append(region)
        return {"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled"}}

    transport = MockTransport(handler)
    view = transport.as_async()
    client = client_for(view, "ap-south-1")
    await client.describe_key(key_id="k")
    assert seen == ["ap-south-1"]
    await client.aclose()
    assert not transport.closed  # the view does not own the mock


@pytest.mark.parametrize("bad", [object(), KMSClient, "http://x"])
def test_transports_that_are_not_async_are_refused_with_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="AsyncTransport"):
        client_for(bad)


def test_a_sync_only_transport_is_refused() -> None:
    class SyncOnly:
        def send(self, request: Any) -> Any:
            return ok()

        def close(self) -> None:
            pass

    with pytest.raises(TypeError, match="as_async"):
        client_for(SyncOnly())


def test_constructor_checks_are_those_of_the_sync_client() -> None:
    for kwargs, field in (
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"user_agent_extra": "a\nb"}, "user_agent_extra"),
        ({"call_timeout": 0}, "call_timeout"),
    ):
        for cls in (KMSClient, AsyncKMSClient):
            with pytest.raises(ConfigurationError, match=field):
                cls("us-east-1", credentials=CREDS, environ={}, **kwargs)


@pytest.mark.asyncio
async def test_the_default_transport_is_made_lazily_and_closed_with_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kms_mrk.transport._async_default as default

    made: list[dict[str, Any]] = []

    class Made(AsyncScripted):
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    transport = Made(ok())

    def factory(**options: Any) -> Made:
        made.append(options)
        return transport

    monkeypatch.setattr(default, "make_default_async_transport", factory)
    client = AsyncKMSClient(
        "us-east-1",
        credentials=CREDS,
        environ={},
        endpoint_url="http://127.0.0.1:9",
        read_timeout=7,
        max_pool_connections=3,
    )
    assert made == []
    await client.describe_key(key_id="k")
    await client.for_region("eu-west-1").describe_key(key_id="k")
    assert made == [
        {"max_pool_connections": 3, "connect_timeout": 60.0, "read_timeout": 7, "verify": True}
    ]
    await client.for_region("eu-west-1").aclose()  # a child closes nothing
    assert not transport.closed
    await client.aclose()
    assert transport.closed
    with pytest.raises(ClosedError, match="AsyncKMSClient has been closed"):
        await client.describe_key(key_id="k")


@pytest.mark.asyncio
async def test_the_placeholder_default_transport_says_what_to_do() -> None:
    import inspect

    from kms_mrk.transport._async_default import make_default_async_transport

    try:
        transport = make_default_async_transport()
    except ConfigurationError as error:
        assert "pass transport=" in str(error)
    else:  # the real transport is merged: it must be an AsyncTransport
        assert inspect.iscoroutinefunction(transport.send)
        await transport.aclose()


@pytest.mark.asyncio
async def test_an_async_credentials_provider_is_used_as_it_is() -> None:
    class Provider:
        calls = 0

        async def get_credentials(self) -> Credentials:
            Provider.calls += 1
            return CREDS

    transport = AsyncScripted(ok())
    client = AsyncKMSClient("us-east-1", credentials=Provider(), environ={}, transport=transport)
    await asyncio.gather(*(client.describe_key(key_id="k") for _ in range(3)))
    assert Provider.calls == 3
    with pytest.raises(ConfigurationError, match="coroutine"):
        KMSClient("us-east-1", credentials=Provider(), environ={})


def test_every_operation_is_a_coroutine_with_the_sync_method_parameters() -> None:
    import inspect

    from kms_mrk._async_operations import AsyncOperationsMixin
    from kms_mrk._operations import OperationsMixin

    names = [n for n in vars(OperationsMixin) if not n.startswith("_") and n != "send"]
    assert len(names) == 56
    for name in names:
        coroutine = getattr(AsyncOperationsMixin, name)
        assert inspect.iscoroutinefunction(coroutine), name
        sync_params = inspect.signature(getattr(OperationsMixin, name)).parameters
        assert inspect.signature(coroutine).parameters.keys() == sync_params.keys()
        assert "_timeout" in sync_params
