"""Client overrides: what a client made without a transport is wired to, by context variable.

The testing toolkit wires the clients that application code builds for itself
(``KMSClient(region)``) to a mock, a local KMS or moto without patching any class: it sets an
*override* in a :class:`contextvars.ContextVar`, and ``KMSClient``/``AsyncKMSClient`` ask
:func:`current_override` once, in their constructor, when they are given no ``transport``.
An override fills in the constructor arguments (the transport, and the credentials, sleep,
Region and environment the code did not choose) in :meth:`Override.apply`.

Because it is a context variable, an override is seen by the code that set it and by what
that code starts with a copy of its context: asyncio tasks created inside (they copy the
context when created), ``asyncio.to_thread``, ``contextvars.copy_context().run``. A plain
``threading.Thread`` started inside does not inherit it (a new thread starts from an empty
context, unless Python runs with ``-X thread_inherit_context=1``, the default of 3.14's
free-threaded builds), nor does a concurrent test or a task created outside. Overrides nest
(the innermost wins) and :func:`use_override` resets the previous one on exit, error or not.

Without an override, when moto has been imported (``"moto" in sys.modules``: a dict lookup,
so nothing is paid when moto is not in use) and a ``moto.mock_aws()`` is active, the client is
wired to moto's in-process backend (:mod:`kms_mrk.testing._moto`).

The choice is made when the client is created, and kept: a client made before an override
was set is not affected by it (it was wired when it was made), and a client made inside keeps
its wiring after the block ends (what its transport then does is the override's business:
a KmsMock route talks to the mock patching clients at the time of each call).

This module imports nothing but the standard library.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

__all__ = ["ClientArgs", "Override", "current_override", "use_override"]


class ClientArgs:
    """The constructor arguments an override may fill in (``None``: not given by the code).

    ``is_async`` says which client is being made (an override hands an async client the async
    view of its transport).
    """

    __slots__ = (
        "credentials",
        "environ",
        "interceptors",
        "is_async",
        "region",
        "sleep",
        "transport",
    )

    def __init__(
        self,
        *,
        is_async: bool,
        region: str | None,
        credentials: Any,
        sleep: Callable[[float], object] | None,
        environ: Mapping[str, str] | None,
        interceptors: Sequence[Any],
    ) -> None:
        self.is_async = is_async
        self.region = region
        self.credentials = credentials
        self.sleep = sleep
        self.environ = environ
        self.interceptors = interceptors
        self.transport: Any = None


class Override(Protocol):
    """Something that wires new clients (a KmsMock, a KmsLocal, moto)."""

    def apply(self, args: ClientArgs) -> None:
        """Fill in ``args`` (at least ``args.transport``) for a client being made."""


_CURRENT: ContextVar[Override | None] = ContextVar("kms_mrk_client_override", default=None)


def current_override() -> Override | None:
    """The override a client made now without a transport gets, or None (the network)."""
    override = _CURRENT.get()
    if override is not None:
        return override
    if "moto" in sys.modules:
        from kms_mrk.testing._moto import active_override

        return active_override()
    return None


def innermost() -> Override | None:
    """The override set in this context (moto's is never set; it is detected)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use_override(override: Override) -> Iterator[None]:
    """Set ``override`` for the block (this context and what copies it); reset on exit."""
    token = _CURRENT.set(override)
    try:
        yield
    finally:
        try:
            _CURRENT.reset(token)
        except ValueError:
            # Left in another context than the one it was entered in (a generator resumed
            # elsewhere): put back what was there when it was entered.
            previous = token.old_value
            _CURRENT.set(None if previous is token.MISSING else previous)
