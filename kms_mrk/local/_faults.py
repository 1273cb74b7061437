"""Fault injection: seeded errors and added latency, per operation, for testing retries.

A :class:`FaultInjector` holds :class:`FaultRule` objects. For each request, every rule whose
``operation`` matches (``None`` matches all) fires with probability ``rate`` (drawn from a
random generator seeded with ``seed``, so a run can be replayed) until it has fired ``times``
times. A firing rule adds ``latency_seconds`` (slept through the injector's ``sleep``, which
tests replace) and, if it names an ``error``, the request is answered with that error before
the local KMS looks at it. Rules are tried in order; the first firing error wins.

On the command line a rule is written ``op=Encrypt,error=ThrottlingException,rate=0.3``
(keys: op, error, rate, latency, status, times, message); see :meth:`FaultRule.parse`.

Rules are checked when they are made: the operation must be a KMS operation name (as in
``kms_mrk.commands.OPERATIONS``, case and all) and the error a code the client knows
(``kms_mrk.errors.ERRORS_BY_CODE``: KMS's modeled errors and the common AWS ones such as
``ThrottlingException``), so that a misspelt rule fails at once with a
``ConfigurationError`` naming the field, instead of never firing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

import attrs

from kms_mrk.commands import OPERATIONS
from kms_mrk.errors import ERRORS_BY_CODE, ConfigurationError, KMSServiceException
from kms_mrk.protocol._service import status_for

__all__ = ["FaultInjector", "FaultRule", "default_status"]

_DEFAULT_MESSAGES: Final[dict[str, str]] = {
    "ThrottlingException": "Rate exceeded",
    "KMSInternalException": "An internal error occurred (injected by the kms-mrk local KMS)",
}


def default_status(error: str) -> int:
    """The HTTP status KMS answers ``error`` with (the service side's one table)."""
    return status_for(error)


#: the error codes a rule may inject
INJECTABLE_ERRORS: Final = frozenset(ERRORS_BY_CODE)


def _closest(value: str, choices: Iterable[str]) -> str:
    """ " (did you mean X?)" for the nearest choice, or ""."""
    import difflib

    options = list(choices)
    for choice in options:
        if choice.lower() == value.lower():
            return f" (did you mean {choice}?)"
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_operation(_inst: object, _attr: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value not in OPERATIONS:
        hint = _closest(value, OPERATIONS) if isinstance(value, str) else ""
        raise ConfigurationError(
            f"FaultRule.operation must be a KMS operation name such as Encrypt (or None for "
            f"every operation), got {value!r}{hint}"
        )


def _check_error(_inst: object, _attr: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value not in INJECTABLE_ERRORS:
        hint = _closest(value, INJECTABLE_ERRORS) if isinstance(value, str) else ""
        raise ConfigurationError(
            f"FaultRule.error must be an error code such as ThrottlingException or "
            f"KMSInternalException (or None for latency only), got {value!r}{hint}"
        )


def _check_rate(_inst: object, _attr: object, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigurationError(f"FaultRule.rate must be a number from 0 to 1, got {value!r}")


def _check_latency(_inst: object, _attr: object, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"FaultRule.latency_seconds must be a number >= 0, got {value!r}")


def _check_status(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigurationError(f"FaultRule.status must be an HTTP status code, got {value!r}")
    if value is not None and not 400 <= value <= 599:
        raise ConfigurationError(f"FaultRule.status must be from 400 to 599, got {value!r}")


def _check_times(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigurationError(
            f"FaultRule.times must be a positive integer or None, got {value!r}"
        )


def _check_message(_inst: object, _attr: object, value: str | None) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"FaultRule.message must be a string or None, got {value!r}")


@attrs.frozen(slots=True, kw_only=True)
class FaultRule:
    """One fault: which operation, which error (or none: latency only), how often.

    ``status`` defaults to the status KMS uses for ``error`` (400, or 500/503 for server
    faults); ``times`` caps how often the rule fires (None: no cap).
    """

    operation: str | None = attrs.field(default=None, validator=_check_operation)
    error: str | None = attrs.field(default="ThrottlingException", validator=_check_error)
    rate: float = attrs.field(default=1.0, validator=_check_rate)
    latency_seconds: float = attrs.field(default=0.0, validator=_check_latency)
    status: int | None = attrs.field(default=None, validator=_check_status)
    times: int | None = attrs.field(default=None, validator=_check_times)
    message: str | None = attrs.field(default=None, validator=_check_message)

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """Build a rule from ``key=value`` pairs separated by commas.

        Keys: ``op`` (operation, ``*`` for all), ``error`` (``none`` for latency only),
        ``rate``, ``latency`` (seconds), ``status``, ``times``, ``message``. Example:
        ``op=Encrypt,error=ThrottlingException,rate=0.25``.
        """
        values: dict[str, str] = {}
        for part in spec.split(","):
            name, eq, value = part.partition("=")
            name = name.strip().lower()
            if not eq or not name:
                raise ConfigurationError(
                    f"fault rule {spec!r}: write key=value pairs separated by commas "
                    "(op, error, rate, latency, status, times, message)"
                )
            values[name] = value.strip()
        unknown = set(values) - {"op", "error", "rate", "latency", "status", "times", "message"}
        if unknown:
            raise ConfigurationError(f"fault rule {spec!r}: unknown keys {sorted(unknown)}")
        try:
            op = values.get("op")
            error = values.get("error", "ThrottlingException")
            return cls(
                operation=None if op in (None, "", "*") else op,
                error=None if error.lower() == "none" else error,
                rate=float(values.get("rate", "1")),
                latency_seconds=float(values.get("latency", "0")),
                status=int(values["status"]) if "status" in values else None,
                times=int(values["times"]) if "times" in values else None,
                message=values.get("message"),
            )
        except ValueError as exc:  # ConfigurationError too
            raise ConfigurationError(f"fault rule {spec!r}: {exc}") from None


class FaultInjector:
    """Applies :class:`FaultRule` objects to requests; thread-safe and seeded."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rules: tuple[FaultRule, ...] = tuple(rules)
        for rule in self.rules:
            if not isinstance(rule, FaultRule):
                raise ConfigurationError(
                    f"FaultInjector rules must be FaultRule objects, got {rule!r}"
                )
        self.seed = seed
        self._random = random.Random(seed)
        self._sleep = sleep
        self._fired = [0] * len(self.rules)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FaultInjector(rules={list(self.rules)!r}, seed={self.seed!r})"

    @property
    def fired(self) -> tuple[int, ...]:
        """How many times each rule has fired, in rule order."""
        return tuple(self._fired)

    def apply(self, operation: str) -> None:
        """Sleep for any added latency, then raise the injected error, if a rule fires."""
        latency = 0.0
        error: FaultRule | None = None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.operation is not None and rule.operation != operation:
                    continue
                if rule.times is not None and self._fired[index] >= rule.times:
                    continue
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                self._fired[index] += 1
                latency += rule.latency_seconds
                if rule.error is not None:
                    error = rule
                    break
        if latency > 0:
            self._sleep(latency)
        if error is not None and error.error is not None:
            code = error.error
            cls = ERRORS_BY_CODE.get(code, KMSServiceException)
            raise cls(
                error.message or _DEFAULT_MESSAGES.get(code, f"{code} (injected)"),
                code=code,
                http_status=error.status or default_status(code),
            )
