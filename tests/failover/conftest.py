"""Fixtures: a LocalKMS on a manual clock (Creating 2 s, Updating 5 s) and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kms_mrk import KMSClient
from kms_mrk.local import LocalKMS, ManualClock
from tests.failover._support import CountingTransport, make_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kms(clock: ManualClock) -> Iterator[LocalKMS]:
    local = LocalKMS(clock=clock, replica_creating_seconds=2.0, updating_seconds=5.0, seed=11)
    yield local
    local.close()


@pytest.fixture
def transport(kms: LocalKMS) -> CountingTransport:
    return CountingTransport(kms)


@pytest.fixture
def client(transport: CountingTransport, clock: ManualClock) -> KMSClient:
    return make_client(transport, clock)
