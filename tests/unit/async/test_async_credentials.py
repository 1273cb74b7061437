"""AsyncCredentialsProvider: the sync chain runs off the loop, cached, refreshed ahead of expiry."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from kms_mrk import Credentials
from kms_mrk.auth import StaticCredentialsProvider
from kms_mrk.auth._async_credentials import AsyncCredentialsProvider
from kms_mrk.errors import ConfigurationError, CredentialsError

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.mono = 0.0

    def __call__(self) -> datetime:
        return self.now


class Provider:
    """A blocking provider: each fetch waits on ``gate`` (a slow IMDS or STS call)."""

    def __init__(self, lifetime: timedelta | None, clock: Clock) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self.threads: set[int] = set()
        self.fail = False

    def get_credentials(self) -> Credentials:
        self.threads.add(threading.get_ident())
        assert self.gate.wait(5)
        self.calls += 1
        if self.fail:
            raise RuntimeError("metadata service unreachable")
        expiration = None if self.lifetime is None else self.clock.now + self.lifetime
        return Credentials(f"AKID{self.calls:012d}", "secret" * 4, expiration=expiration)


def wrap(provider: Provider, clock: Clock) -> AsyncCredentialsProvider:
    return AsyncCredentialsProvider(
        provider,
        refresh_before=timedelta(minutes=10),
        max_age=600,
        clock=clock,
        monotonic=lambda: clock.mono,
    )


@pytest.mark.asyncio
async def test_the_provider_runs_off_the_event_loop_and_the_loop_keeps_running() -> None:
    clock = Clock()
    provider = Provider(timedelta(hours=1), clock)
    provider.gate.clear()
    creds = wrap(provider, clock)
    fetching = [asyncio.create_task(creds.get_credentials()) for _ in range(5)]
    ticks = 0
    while ticks < 20:  # the loop is free while the provider blocks in its thread
        await asyncio.sleep(0)
        ticks += 1
    provider.gate.set()
    results = await asyncio.gather(*fetching)
    assert {r.access_key_id for r in results} == {"AKID000000000001"}
    assert provider.calls == 1  # one fetch served every waiting task
    assert threading.get_ident() not in provider.threads


@pytest.mark.asyncio
async def test_cached_until_the_refresh_window() -> None:
    clock = Clock()
    provider = Provider(timedelta(hours=1), clock)
    creds = wrap(provider, clock)
    first = await creds.get_credentials()
    clock.now += timedelta(minutes=49)
    assert await creds.get_credentials() is first
    assert provider.calls == 1


@pytest.mark.asyncio
async def test_soft_window_answers_from_cache_and_refreshes_in_the_background() -> None:
    clock = Clock()
    provider = Provider(timedelta(hours=1), clock)
    creds = wrap(provider, clock)
    first = await creds.get_credentials()
    clock.now += timedelta(minutes=52)  # 8 minutes left: inside 10, outside 5
    provider.gate.clear()
    assert await creds.get_credentials() is first  # not waiting for the blocked refresh
    provider.gate.set()
    while provider.calls < 2:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0)
    second = await creds.get_credentials()
    assert second.access_key_id == "AKID000000000002"
    await creds.aclose()


@pytest.mark.asyncio
async def test_hard_window_waits_for_the_refresh_and_raises_its_failure() -> None:
    clock = Clock()
    provider = Provider(timedelta(hours=1), clock)
    creds = wrap(provider, clock)
    await creds.get_credentials()
    clock.now += timedelta(minutes=57)  # 3 minutes left
    fresh = await creds.get_credentials()
    assert fresh.access_key_id == "AKID000000000002"
    clock.now += timedelta(hours=2)
    provider.fail = True
    with pytest.raises(CredentialsError, match="RuntimeError"):
        await creds.get_credentials()


@pytest.mark.asyncio
async def test_credentials_without_expiry_are_refreshed_in_the_background_after_max_age() -> None:
    clock = Clock()
    provider = Provider(None, clock)
    creds = wrap(provider, clock)
    first = await creds.get_credentials()
    clock.mono += 601
    assert await creds.get_credentials() is first
    while provider.calls < 2:
        await asyncio.sleep(0.001)
    await creds.aclose()


@pytest.mark.asyncio
async def test_static_credentials_are_returned_directly() -> None:
    static = Credentials("AKIDEXAMPLE", "secret" * 4)
    creds = AsyncCredentialsProvider(StaticCredentialsProvider(static))
    assert await creds.get_credentials() is static


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="get_credentials"):
        AsyncCredentialsProvider(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="refresh_before"):
        AsyncCredentialsProvider(
            StaticCredentialsProvider(Credentials("A" * 16, "s" * 20)), refresh_before=timedelta(0)
        )
