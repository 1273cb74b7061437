"""Clocks for the local KMS: the system clock, or a manual one that tests move by hand.

Every timed behaviour of the local KMS (a replica's ``Creating`` window, the ``Updating``
window after UpdatePrimaryRegion, deletion waiting periods, rotation dates) reads one clock,
a callable returning seconds since the epoch. Tests pass a :class:`ManualClock` and call
:meth:`ManualClock.advance` instead of sleeping.
"""

from __future__ import annotations

import threading
import time

__all__ = ["ManualClock", "system_clock"]

#: 2024-01-01T00:00:00Z: a fixed, recognisable start for manual clocks.
DEFAULT_START = 1_704_067_200.0


def system_clock() -> float:
    """Seconds since the epoch, from the system clock."""
    return time.time()


class ManualClock:
    """A clock that only moves when told to; thread-safe.

    Pass it as ``LocalKMS(clock=ManualClock())`` and move time with :meth:`advance` (or
    ``kms.advance(...)``). Calling the clock returns the current time, like ``time.time``.
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: float = DEFAULT_START) -> None:
        if isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0:
            raise ValueError(f"ManualClock start must be a non-negative number, got {start!r}")
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current time, in seconds since the epoch."""
        return self._now

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"advance() needs a non-negative number of seconds, got {seconds!r}")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"
