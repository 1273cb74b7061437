"""The one Region rule of the failover toolkit, the waiters and the ``kms-mrk`` command.

A Region named to the toolkit must pass two checks, in this order:

1. :func:`kms_mrk.endpoints.validate_region`, the client's rule (a DNS label), so that no
   name the client would refuse gets further;
2. the KMS model's ``RegionType`` pattern (lowercase words and a number joined by hyphens,
   at most 32 characters): the form of every Region that can hold a multi-Region key, and
   what UpdatePrimaryRegion and ReplicateKey accept. ``kms_mrk.arn`` and the local KMS use
   the same pattern.

The first check alone would let ``nowhere`` or ``US-EAST-1`` through to a request that KMS
can only refuse (or, worse, to a preflight that reports the key "not found"); both are
refused here, before any I/O, with a :class:`~kms_mrk.errors.ConfigurationError` that names
the argument.
"""

from __future__ import annotations

import functools
from typing import Final

from kms_mrk._service import REGION_MAX_LENGTH, REGION_RE
from kms_mrk.errors import ConfigurationError

__all__ = ["REGION_RULE", "check_region", "region_problem"]

_PATTERN: Final = REGION_RE
_MAX_LENGTH: Final = REGION_MAX_LENGTH
REGION_RULE: Final = (
    "a Region is lowercase words and a number joined by '-', at most 32 characters "
    "(such as us-east-1 or us-gov-west-1)"
)


@functools.lru_cache(maxsize=1024)
def _matches(region: str) -> bool:
    return len(region) <= _MAX_LENGTH and _PATTERN.fullmatch(region) is not None


def region_problem(region: object) -> str | None:
    """The rule ``region`` breaks, or None when it names a Region that can hold a key."""
    if not isinstance(region, str):
        return "it must be a string"
    return _problem_of(region)


@functools.lru_cache(maxsize=1024)
def _problem_of(region: str) -> str | None:
    """Remembered: every DescribeKey answer names Regions, and they are few."""
    from kms_mrk.endpoints import validate_region

    try:
        validate_region(region)
    except ConfigurationError as error:
        return str(error).split(": ", 1)[-1]
    return None if _matches(region) else REGION_RULE


def check_region(region: object, argument: str) -> str:
    """Return ``region`` when it is a valid Region name, else raise ConfigurationError.

    ``argument`` names the value in the message (``to_region``, ``--to``,
    ``plan items[3].primary_region``), so the caller knows which input to fix.
    """
    from kms_mrk.endpoints import validate_region

    name = validate_region(region, source=argument)  # the client's rule, its own message
    if not _matches(name):
        raise ConfigurationError(f"{argument}={region!r} is not a valid Region name: {REGION_RULE}")
    return name
