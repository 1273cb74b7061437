"""Fixtures: the command line, run in process against a LocalKMS on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kms_mrk.local import LocalKMS, ManualClock
from tests.cli._cli import Cli


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kms(clock: ManualClock) -> Iterator[LocalKMS]:
    local = LocalKMS(clock=clock, replica_creating_seconds=2.0, updating_seconds=5.0, seed=21)
    yield local
    local.close()


@pytest.fixture
def cli(kms: LocalKMS, clock: ManualClock) -> Cli:
    return Cli(kms, clock)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """--debug configures the kms_mrk logger; put it back after each test."""
    import logging

    logger = logging.getLogger("kms_mrk")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
