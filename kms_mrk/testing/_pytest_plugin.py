"""The kms-mrk pytest plugin (registered through the ``pytest11`` entry point).

Fixtures, fresh for every test:

``kms_mock``
    a :class:`~kms_mrk.testing.KmsMock` (``kms_mock.on(...)``, ``kms_mock.client``). It checks
    nothing at teardown unless asked to: ``@pytest.mark.kms_mock(strict=True)`` (or the ini
    option ``kms_mock_strict = true``) runs :meth:`~kms_mrk.testing.KmsMock.verify` after a
    test that passed (errors raised by fakes and rules, unmatched calls, unused stubs...).
    Other marker arguments go to ``KmsMock`` (``region=...``, ``retry=...``,
    ``service_validation=False``); ``patch_clients=True`` wires every ``KMSClient`` and
    ``AsyncKMSClient`` the code under test creates to the mock for the test's duration (a
    context variable: async tests and the tasks they create see it too). The mock is closed
    after the test: a client that outlives it (an application's cached client) gets a
    ``KmsMockError`` naming the test, unless a later test's mock patches clients, in which
    case it talks to that one.
``kms_moto``
    moto's in-process AWS (``moto.mock_aws()``, started for the test) and a factory of
    ``KMSClient`` objects on it: ``kms_moto(region=None)``. boto3 clients made in the test
    share its state. Needs moto installed (the test is skipped otherwise).
``kms_local``
    a :class:`~kms_mrk.testing.KmsLocal`: an in-process local KMS with zero delays on a
    manual clock, with ``kms_local.client(region)``. ``@pytest.mark.kms_local(...)`` passes
    options (``updating_seconds=5``, ``seed=1``, ``region=...``).

This module imports nothing of kms-mrk until a fixture is used, so a test run that uses none
pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kms_mrk.testing import KmsLocal, KmsMock

# Set on a test item whose body raised (failed, skipped, xfailed): strict checks then stand down.
_RAISED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "kms_mock_strict",
        type="bool",
        default=False,
        help="kms-mrk: verify every kms_mock fixture at teardown (unused stubs, unmatched calls)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kms_mock(strict=False, patch_clients=False, **options): configure the kms_mock "
        "fixture; strict=True verifies the mock after the test (kms-mrk)",
    )
    config.addinivalue_line(
        "markers",
        "kms_local(**options): options of the kms_local fixture's KmsLocal, e.g. "
        "updating_seconds=5 (kms-mrk)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    # Returns None so that pytest's own implementation still makes the report.
    if call.when == "call" and call.excinfo is not None:
        item.stash[_RAISED] = True


def _marker_options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    if marker is None:
        return {}
    if marker.args:
        example = "strict=True" if name == "kms_mock" else "updating_seconds=5"
        raise pytest.UsageError(
            f"@pytest.mark.{name} takes keyword arguments only, e.g. "
            f"@pytest.mark.{name}({example}); got {marker.args!r}"
        )
    return dict(marker.kwargs)


@pytest.fixture
def kms_mock(request: pytest.FixtureRequest) -> Iterator[KmsMock]:
    """A fresh KmsMock: stub KMS answers; every call runs the real client pipeline."""
    from kms_mrk.testing import KmsMock

    options = _marker_options(request, "kms_mock")
    strict = bool(options.pop("strict", request.config.getini("kms_mock_strict")))
    patch_clients = bool(options.pop("patch_clients", False))
    mock = KmsMock(**options)
    mock._label = f"the kms_mock fixture of {request.node.nodeid}"
    try:
        if patch_clients:
            with mock.patch_clients():
                yield mock
        else:
            yield mock
    finally:
        mock.close()
    if strict and not request.node.stash.get(_RAISED, False):
        mock.verify()


@pytest.fixture
def kms_local(request: pytest.FixtureRequest) -> Iterator[KmsLocal]:
    """A fresh in-process local KMS (zero delays, manual clock) and clients for any Region."""
    from kms_mrk.testing import KmsLocal

    local = KmsLocal(**_marker_options(request, "kms_local"))
    try:
        yield local
    finally:
        local.close()


@pytest.fixture
def kms_moto() -> Iterator[Any]:
    """moto's mock_aws() for the test, and ``kms_moto(region=None)`` making clients on it."""
    moto = pytest.importorskip("moto")
    from kms_mrk.testing import moto_client

    with moto.mock_aws():
        yield moto_client
