"""The toolkit's flows and their two drivers: one decision logic for sync and async clients.

Reading a key, waiting and promoting are written once, as generators that yield the steps
they need and receive the results, like the client's call flow:

- :class:`Send`: "send this command with this client" (a per-Region client from
  :class:`~kms_mrk.failover._calls.Caller`), answered with the typed response or by throwing
  the exception into the flow;
- :class:`~kms_mrk.waiters.Sleep`: "pause for s seconds" (the waiters' pacing, the backoff
  after throttling).

:func:`run_sync` runs a flow with a ``KMSClient`` in the calling thread, :func:`run_async` with
an ``AsyncKMSClient`` on the event loop. Everything else (what to read next, when to stop, the
timeout with the last state seen, the preflight checks, what to do after a failed
UpdatePrimaryRegion) lives in the flows, so the sync and async forms cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from kms_mrk.waiters import drive, drive_async

__all__ = ["Flow", "Send", "is_async_client", "run_async", "run_sync"]

T = TypeVar("T")

#: A flow: yields Send and Sleep steps, returns its result.
Flow = Generator[Any, Any, T]


class Send:
    """A step: ``client.send(command)`` (``max_attempts`` for this call when not None)."""

    __slots__ = ("client", "command", "max_attempts")

    def __init__(self, client: Any, command: Any, max_attempts: int | None = None) -> None:
        self.client = client
        self.command = command
        self.max_attempts = max_attempts

    def __repr__(self) -> str:
        return f"Send({self.command.operation_name} in {self.client.region})"


def is_async_client(client: object) -> bool:
    """Whether ``client`` is an ``AsyncKMSClient`` (its ``send`` is a coroutine function)."""
    return inspect.iscoroutinefunction(getattr(client, "send", None))


def _send(step: Send) -> Any:
    if not isinstance(step, Send):
        raise TypeError(f"a failover flow yielded an unknown step {step!r}")
    if step.max_attempts is None:
        return step.client.send(step.command)
    return step.client.send(step.command, max_attempts=step.max_attempts)


async def _send_async(step: Send) -> Any:
    return await _send(step)


def run_sync(flow: Flow[T], sleep: Callable[[float], object]) -> T:
    """Run ``flow`` with blocking sends and ``sleep``."""
    return drive(flow, sleep, _send)


async def run_async(flow: Flow[T], sleep: Callable[[float], object] | None) -> T:
    """Run ``flow`` on the event loop; ``sleep`` defaults to :func:`asyncio.sleep` and may be
    a plain function (tests move a fake clock with it)."""
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    return await drive_async(flow, sleep, _send_async)
