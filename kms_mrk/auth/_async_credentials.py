"""Credentials for async code: any provider, resolved off the event loop, cached, refreshed early.

:class:`AsyncCredentialsProvider` wraps a :class:`~kms_mrk.auth.CredentialsProvider`. Its
``get_credentials`` is a coroutine that answers from a cache whenever it can, so a call on the
event loop never waits for botocore's chain (files, the instance metadata service, an SSO or
STS exchange: all blocking I/O). When it must ask the wrapped provider, the provider runs in a
worker thread (``asyncio.to_thread``), one refresh at a time, and every waiting task gets its
result.

- Credentials with more than ``refresh_before`` left are returned from the cache.
- In the last ``refresh_before`` before they expire, the cached (still valid) credentials are
  returned and one background refresh is started; a failed background refresh is logged and
  tried again on a later call.
- In the last ``refresh_before / 2`` (or once expired, or before the first fetch) callers
  wait for the refresh; its failure is raised as :class:`~kms_mrk.errors.CredentialsError`.
- Credentials without an expiration are refreshed in the background every ``max_age``
  (a provider may rotate them), and never waited for.

A :class:`~kms_mrk.auth.StaticCredentialsProvider` never blocks, so it is called directly.
``aclose()`` cancels a background refresh in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from kms_mrk.auth._credentials import Credentials, StaticCredentialsProvider
from kms_mrk.errors._base import ConfigurationError, CredentialsError

if TYPE_CHECKING:
    from kms_mrk.auth._credentials import CredentialsProvider

__all__ = ["AsyncCredentialsProvider"]

log = logging.getLogger("kms_mrk.auth")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AsyncCredentialsProvider:
    """Async access to a credentials provider, without blocking the event loop."""

    def __init__(
        self,
        provider: CredentialsProvider,
        *,
        refresh_before: timedelta = timedelta(minutes=15),
        max_age: float = 900.0,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(getattr(provider, "get_credentials", None)):
            raise ConfigurationError(
                "AsyncCredentialsProvider: provider must have get_credentials()"
            )
        if not isinstance(refresh_before, timedelta) or refresh_before <= timedelta(0):
            raise ConfigurationError(
                "AsyncCredentialsProvider: refresh_before must be a timedelta > 0"
            )
        if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
            raise ConfigurationError("AsyncCredentialsProvider: max_age must be seconds > 0")
        self._provider = provider
        self._direct = isinstance(provider, StaticCredentialsProvider)
        self._soft = refresh_before
        self._hard = refresh_before / 2
        self._max_age = float(max_age)
        self._clock = clock
        self._monotonic = monotonic
        self._current: Credentials | None = None
        self._fetched_at = 0.0
        self._refresh: asyncio.Task[Credentials] | None = None

    @property
    def provider(self) -> CredentialsProvider:
        """The wrapped (sync) provider."""
        return self._provider

    def __repr__(self) -> str:
        return f"AsyncCredentialsProvider({self._provider!r})"

    async def get_credentials(self) -> Credentials:
        """Current credentials; waits only when none are usable (see the module docstring)."""
        if self._direct:
            return self._provider.get_credentials()
        current = self._current
        if current is not None:
            expiration = current.expiration
            if expiration is None:
                if self._monotonic() - self._fetched_at >= self._max_age:
                    self._start_refresh()
                return current
            left = expiration - self._clock()
            if left >= self._soft:
                return current
            if left >= self._hard:
                self._start_refresh()
                return current
        return await asyncio.shield(self._start_refresh())

    def _start_refresh(self) -> asyncio.Task[Credentials]:
        task = self._refresh
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._refresh = loop.create_task(self._fetch())
            task.add_done_callback(_log_background_failure)
        return task

    async def _fetch(self) -> Credentials:
        try:
            fresh = await asyncio.to_thread(self._provider.get_credentials)
        except CredentialsError:
            raise
        except Exception as exc:
            raise CredentialsError(f"Fetching credentials failed: {type(exc).__name__}") from exc
        if not isinstance(fresh, Credentials):
            raise CredentialsError(
                f"The credentials provider returned {type(fresh).__name__}, not Credentials"
            )
        self._current = fresh
        self._fetched_at = self._monotonic()
        return fresh

    async def aclose(self) -> None:
        """Cancel a refresh in flight (its worker thread finishes on its own)."""
        task, self._refresh = self._refresh, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.wait([task])


def _log_background_failure(task: asyncio.Task[Credentials]) -> None:
    # Retrieve the exception so that asyncio never reports it as unretrieved; a caller that
    # awaited the task has seen it already.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("Refreshing credentials failed; will try again on a later call: %s", error)
