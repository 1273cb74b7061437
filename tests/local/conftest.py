"""Fixtures of the local KMS tests: a LocalKMS on a manual clock and clients for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kms(clock: ManualClock) -> Iterator[LocalKMS]:
    local = LocalKMS(clock=clock, replica_creating_seconds=2.0, updating_seconds=5.0, seed=7)
    yield local
    local.close()


@pytest.fixture
def east(kms: LocalKMS) -> TestClient:
    return make_client(kms, "us-east-1")


@pytest.fixture
def west(east: TestClient) -> TestClient:
    return east.for_region("eu-west-1")
